"""The command line speaks Chinese: help, usage and argparse's complaints; a name not in
org.csv given to `new story` and a busy preview port are command-line errors (exit 2)."""
from __future__ import annotations

import argparse
import errno
import re
import socket
import subprocess
import sys
import unicodedata

import pytest

from conftest import ROOT
from generator import serve
from generator.cli import _parser, _port_problem, main
from generator.terminal import _wrap

# argparse's English, none of which may reach a user
ENGLISH = ("usage", "positional arguments", "options:", "optional arguments", "show this help", "show program",
           "error:", "unrecognized arguments", "the following arguments are required", "invalid choice",
           "expected one argument", "invalid", "value:", "not allowed with argument", "one of the arguments",
           "is required", "ambiguous option", "ignored explicit argument", "choose from", "maybe you meant")
# the only Latin words the help may show, besides options (--county) and what was typed
LATIN = {"gushihui", "build", "check", "serve", "init", "new", "story", "content", "output", "site.toml",
         "base_url", "org.csv", "PDF", "WeasyPrint", "CPU", "text", "json", "Ctrl", "C",
         "import", "fix", "Word", "WPS", "Markdown", "docx", "txt", "md", "html", "stories"}


def latin_words(text: str) -> set[str]:
    """Words in Latin letters that are not part of an option such as --all-counties."""
    return set(re.findall(r"(?<![\w-])[A-Za-z][\w.]*(?<!\.)", text))


def width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def commands(parser=None, path=()) -> list[tuple[str, ...]]:
    """Every command line that has a help of its own: (), ("build",), …, ("new", "story")."""
    parser = parser or _parser()
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, (*path, name))
    return found


def parsers(parser=None):
    parser = parser or _parser()
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from parsers(sub)


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_there_are_all_the_commands():
    assert commands() == [(), ("build",), ("check",), ("serve",), ("init",), ("new",), ("new", "story"), ("import",),
                          ("fix",)]


@pytest.mark.parametrize("path", commands(), ids=lambda p: " ".join(p) or "gushihui")
def test_every_help_is_in_chinese(path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run([*path, "--help"], capsys)
    assert code == 0 and err == ""
    assert out.startswith("用法：gushihui " + " ".join(path))
    assert "-h, --help" in out and "显示帮助并退出" in out
    assert not [word for word in ENGLISH if word in out.lower()]
    assert latin_words(out) <= LATIN, latin_words(out) - LATIN
    assert not re.search(r"^\S.*:$", out, re.M)  # section titles end in a Chinese colon
    assert all(width(line) <= 78 for line in out.splitlines()), out  # fits an 80-column console


def test_the_main_help_lists_the_commands_and_how_to_learn_more(capsys):
    code, out, _ = run(["--help"], capsys)
    assert "命令：\n  build" in out and "选项：" in out
    assert "gushihui build --help" in out and "--version" in out and "显示版本号并退出" in out
    assert "\n  命令\n" not in out  # the commands, not a line for their placeholder


def test_help_columns_line_up_on_screen(capsys, monkeypatch):
    """Chinese placeholders are two columns wide: the help texts still start in one column."""
    monkeypatch.setenv("COLUMNS", "100")
    _, out, _ = run(["new", "story", "--help"], capsys)
    entries = [line for line in out.splitlines() if line.startswith("  -")]
    starts = {width(re.match(r"(\s+\S+(?:, \S+)?(?: \S+)?\s+)", line)[1]) for line in entries}
    assert len(entries) == 5 and len(starts) == 1, out


def test_every_option_and_argument_is_explained_with_chinese_placeholders():
    for parser in parsers():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):  # each command is explained
                assert all(command.help for command in action._get_subactions()), parser.prog
                continue
            assert action.help, (parser.prog, action.dest)
            if action.nargs != 0 and not action.choices:  # takes a value
                assert action.metavar and not action.metavar.isascii(), (parser.prog, action.dest)


def test_gushihui_alone_shows_the_commands(capsys):
    code, out, err = run([], capsys)
    assert code == 2 and out == ""
    assert "用法：gushihui" in err and "  build" in err and "请写出要做什么" in err
    assert not [word for word in ENGLISH if word in err.lower()]


@pytest.mark.parametrize("argv, usage, message", [
    (["build", "--conty", "云和县"], "gushihui build", "gushihui build 没有 --conty 这个选项，是不是“--county”？"),
    (["new", "story", "--county", "云和县", "标题"], "gushihui new story", "缺少 --township、--branch（必须写）"),
    (["new", "story"], "gushihui new story", "缺少 标题、--county、--township、--branch（必须写）"),
    (["init"], "gushihui init", "缺少 目录（必须写）"),
    (["check", "--format", "xml"], "gushihui check", "命令行参数 --format：不能是“xml”，只能是 text、json 之一"),
    (["check", "--format", "jsn"], "gushihui check", "只能是 text、json 之一，是不是“json”？"),
    (["bulid"], "gushihui", "命令不能是“bulid”，只能是 build、check、serve、init、new、import、fix 之一，是不是“build”？"),
    (["new", "stroy"], "gushihui new", "类型不能是“stroy”，只能是 story 之一"),
    (["build", "--jobs"], "gushihui build", "命令行参数 --jobs：后面缺少进程数"),
    (["build", "--jobs", "0"], "gushihui build", "命令行参数 --jobs：应为正整数，现在是“0”"),
    (["serve", "--port", "70000"], "gushihui serve", "命令行参数 --port：端口应在 1 到 65535 之间"),
    (["check", "--min-coverage", "90%"], "gushihui check", "命令行参数 --min-coverage：应为 0 到 1 之间的数"),
    (["build", "--county", "云和县", "--blind"], "gushihui build", "命令行参数 --blind：不能和 --county 同时使用"),
    (["build", "--drafts=yes"], "gushihui build", "命令行参数 --drafts：后面不用写值，请去掉“=yes”"),
    (["build", "--c", "x"], "gushihui build", "--c 可以指 --content、--county，请写完整"),
    (["build", "output"], "gushihui build", "多写了“output”"),
    (["new", "story", "--county", "a", "--township", "b", "--branch", "c", "民情", "地图"], "gushihui new story",
     "多写了“地图”；标题里有空格时，要用英文双引号把它括起来"),
])
def test_command_line_mistakes_are_told_in_chinese(argv, usage, message, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"用法：{usage} [-h]")  # the usage of the command that was mistyped
    said = [line for line in err.splitlines() if line.startswith("gushihui: ")]
    assert len(said) == 1 and said[0].startswith(("gushihui: 命令行有误：", "gushihui: 命令行参数 ")), err
    assert message in said[0], err
    assert f"查看用法：{usage} --help" in err
    assert not [word for word in ENGLISH if word in err.lower()], err
    typed = {w for a in argv for w in latin_words(a)}
    assert latin_words(err) <= LATIN | typed, latin_words(err) - LATIN - typed


@pytest.mark.parametrize("message, chinese", [  # argparse's wording in other Python versions
    ("argument --format: invalid choice: 'jsn' (choose from text, json)",  # 3.12.8+: choices unquoted
     "命令行参数 --format：不能是“jsn”，只能是 text、json 之一，是不是“json”？"),
    ("argument --format: invalid choice: 'jsn', maybe you meant 'json'? (choose from text, json)",  # 3.14
     "命令行参数 --format：不能是“jsn”，只能是 text、json 之一，是不是“json”？"),
    ("one of the arguments --county --all-counties is required", "命令行有误：--county、--all-counties 之中必须写一个"),
    ("argument --port: expected at most one argument", "命令行参数 --port：后面的值的个数不对"),
    ("argument --jobs: invalid int value: 'x'", "命令行参数 --jobs：“x”不是有效的值"),
    ("something argparse will say one day", "命令行有误：something argparse will say one day"),
])
def test_argparse_messages_in_chinese(message, chinese):
    assert _parser()._in_chinese(message) == chinese


def test_wrap_by_columns_and_never_before_a_comma():
    text = "每个县（市、区）各生成一个网站，放在 --out 里各自的文件夹中，见 https://example.org/a/b 的说明。"
    for columns in range(12, 60):
        lines = _wrap(text, columns)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(width(line) <= columns or " " not in line and line.isascii() for line in lines), lines
        assert not any(line[0] in "，。、；：）" for line in lines), lines
        assert "--out" in " ".join(lines).split()  # an option is never broken


# new story: a name that is not in org.csv is a mistake on the command line --------------------

@pytest.mark.parametrize("names, option, message", [
    (("云和", "浮云街道", "中山村党支部"), "--county", "里没有“云和”，是不是“云和县”？"),
    (("云和县", "浮云", "中山村党支部"), "--township", "里云和县没有“浮云”，是不是“浮云街道”？"),
    (("云和县", "碧湖镇", "堰头村党支部"), "--township", "里云和县没有“碧湖镇”，它属于莲都区"),
    (("云和县", "浮云街道", "中山村"), "--branch", "里云和县浮云街道没有“中山村”，是不是“中山村党支部”？"),
])
def test_new_story_with_a_name_not_in_the_roster(tiny, capsys, names, option, message):
    county, township, branch = names
    before = sorted(tiny.rglob("*"))
    status = main(["new", "story", "--content", str(tiny), "--county", county, "--township", township,
                   "--branch", branch, "标题"])
    err = capsys.readouterr().err
    assert status == 2
    assert err == f"gushihui: 命令行参数 {option}：组织名册（{tiny / 'org.csv'}）{message}\n"
    assert sorted(tiny.rglob("*")) == before  # nothing written


def test_new_story_with_a_broken_roster_reports_the_roster(tiny, capsys):
    (tiny / "org.csv").write_text("county,township\n云和县,浮云街道\n", encoding="utf-8")
    status = main(["new", "story", "--content", str(tiny), "--county", "云和县", "--township", "浮云街道",
                   "--branch", "中山村党支部", "标题"])
    assert status == 1 and "E201" in capsys.readouterr().err  # a mistake in the content, not the command


# serve: a busy port ---------------------------------------------------------------------------

@pytest.fixture
def busy_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_busy_port_is_found_before_anything_is_built(busy_port):
    with pytest.raises(serve.PortUnavailable) as exc:
        serve._check_port("127.0.0.1", busy_port)
    assert exc.value.errno == errno.EADDRINUSE and exc.value.port == busy_port
    other = serve.free_port_near("127.0.0.1", busy_port)
    assert other is not None and other > busy_port
    serve._check_port("127.0.0.1", other)  # free indeed


def _serve(tiny, port: int, *, check: bool = True) -> subprocess.CompletedProcess:
    """`gushihui serve` in its own process, which cannot outlive the test."""
    code = ("import sys, generator.serve as s\n"
            + ("" if check else "s._check_port = lambda host, port: None  # as if taken after the check\n")
            + "from generator.cli import main\n"
            f"sys.exit(main(['serve', '--content', {str(tiny)!r}, '--port', '{port}', '--jobs', '1']))\n")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_serve_on_a_busy_port_says_which_and_what_to_type(tiny, busy_port):
    done = _serve(tiny, busy_port)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    suggestion = re.search(rf"^gushihui: 端口 {busy_port} 已被占用（可能已有一个预览在运行）；请换一个端口，"
                           rf"如 gushihui serve --content {re.escape(str(tiny))} --port (\d+)$", done.stderr, re.M)
    assert suggestion, done.stderr
    assert int(suggestion[1]) != busy_port and done.stdout == ""  # refused before the first build


def test_a_port_taken_after_the_check_is_told_the_same_way(tiny, busy_port):
    done = _serve(tiny, busy_port, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"端口 {busy_port} 已被占用" in done.stderr
    assert "已更新" in done.stdout and "正在预览" not in done.stdout  # built, but never said it was serving


@pytest.mark.parametrize("error, host, port, message", [
    (PermissionError(errno.EACCES, "Permission denied"), "127.0.0.1", 80, "不允许使用端口 80（1024 以下"),
    (OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"), "10.9.9.9", 8000, "“10.9.9.9”不是这台电脑的地址"),
    (socket.gaierror(-2, "Name or service not known"), "nohost.invalid", 8000, "“nohost.invalid”不是这台电脑的地址"),
])
def test_other_reasons_a_port_cannot_be_used(error, host, port, message):
    try:
        raise serve.PortUnavailable(host, port, error) from error
    except serve.PortUnavailable as exc:
        args = argparse.Namespace(content=ROOT / "content", host=host, port=port)
        text = _port_problem(exc, args)
    assert text.startswith(message) and "Permission" not in text and "address" not in text


def test_the_command_exits_at_once_with_its_status_and_all_it_printed(tiny, tmp_path):
    """`python -m generator` (and the `gushihui` script, cli.run) ends with os._exit after
    flushing: the summary still reaches a pipe, and a usage error is still status 2."""
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "generator", "build", "--content", str(tiny), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"已生成 {out}/") and done.stdout.endswith("\n")
    wrong = subprocess.run([sys.executable, "-m", "generator", "build", "--content", str(tmp_path / "none"),
                            "--out", str(out)], cwd=ROOT, capture_output=True, text=True, encoding="utf-8",
                           timeout=60)
    assert wrong.returncode == 2 and "找不到内容目录" in wrong.stderr
