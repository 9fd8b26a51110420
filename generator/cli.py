"""The `gushihui` command: arguments → calls → exit codes. The only place that prints.

Exit status: 0 success; 1 the content has errors; 2 the command line is wrong.
"""
from __future__ import annotations

import argparse
import datetime as dt
import errno
import gc
import json
import os
import re
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .build import Options, Report, build, check_site
from .chinese import display_width, slugify
from .coverage import coverage
from .errors import Problem, UsageError, did_you_mean
from .output import InterruptedAfterWrite, UnsafeOutput, check_output
from .registry import load_registry
from .terminal import Parser

def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="gushihui", description="故事汇：党建好故事网站生成器。",
                epilog="想知道一个命令怎么用，就在它后面加 --help，如 gushihui build --help。")
    p.add_argument("--version", action="version", version=f"gushihui {__version__}", help="显示版本号并退出")
    sub = p.add_subparsers(dest="command", metavar="命令")

    b = sub.add_parser("build", help="生成网站",
                       description="把内容目录里的故事、组织名册和页面生成为网站，写在输出目录里。")
    b.add_argument("--content", type=Path, default=Path("content"), metavar="目录", help="内容目录（默认 ./content）")
    b.add_argument("--out", type=Path, default=Path("output"), metavar="目录", help="输出目录（默认 ./output）")
    b.add_argument("--base-url", metavar="网址", help="换一个网址生成，不用 site.toml 里的 base_url")
    b.add_argument("--drafts", action="store_true", help="草稿也生成")
    b.add_argument("--strict", action="store_true", help="警告也算错误")
    b.add_argument("--keep-going", action="store_true", help="跳过有错误的故事，其余照常生成（仍以状态 1 结束）")
    b.add_argument("--jobs", type=_positive, default=None, metavar="进程数", help="同时用几个进程（默认为 CPU 核数；很大的网站生成页面时少用进程，以节省内存）")
    b.add_argument("--no-cache", action="store_true", help="不用也不更新构建缓存，从头完整生成")
    b.add_argument("--pdf", action="store_true", help="同时把每本乡镇汇编生成 PDF（需要 WeasyPrint 和中文字体）")
    which = b.add_mutually_exclusive_group()
    which.add_argument("--county", metavar="县名", help="只生成这个县（市、区）自己的网站（名称或拼音）")
    which.add_argument("--all-counties", action="store_true",
                       help="每个县（市、区）各生成一个网站，放在 --out 里各自的文件夹中")
    which.add_argument("--blind", action="store_true", help="生成匿名评审材料（不生成网站）；编号对照表写在 --out 旁边")

    c = sub.add_parser("check", help="只检查内容，不生成网站",
                       description="检查内容（不生成网站），列出各县（市、区）讲故事的支部占比和催办名单。")
    c.add_argument("--content", type=Path, default=Path("content"), metavar="目录", help="内容目录（默认 ./content）")
    c.add_argument("--min-coverage", type=_share, default=None, metavar="占比",
                   help="讲了故事的支部占比低于它（0 到 1 之间，如 0.9）时以状态 1 结束")
    c.add_argument("--strict", action="store_true", help="警告也算错误")
    c.add_argument("--county", metavar="县名", help="只检查这个县（市、区）（名称或拼音）")
    c.add_argument("--format", choices=("text", "json"), default="text",
                   help="输出格式（默认 text；json 供其他程序读取）")

    v = sub.add_parser("serve", help="本机预览，保存后浏览器自动刷新",
                       description="在本机预览网站：保存故事、图片或设置后，浏览器自动刷新。按 Ctrl+C 退出。")
    v.add_argument("--content", type=Path, default=Path("content"), metavar="目录", help="内容目录（默认 ./content）")
    v.add_argument("--port", type=_port, default=8000, metavar="端口", help="端口（默认 8000）")
    v.add_argument("--host", default="127.0.0.1", metavar="地址", help="地址（默认 127.0.0.1，只有本机能访问）")
    v.add_argument("--jobs", type=_positive, default=None, metavar="进程数", help="同时用几个进程（默认为 CPU 核数）")

    i = sub.add_parser("init", help="新建一个网站（可以直接生成的示例）",
                       description="新建一个可以直接生成的示例网站，照着改即可。")
    i.add_argument("dir", type=Path, metavar="目录", help="新网站的文件夹（新的或空的文件夹）")

    n = sub.add_parser("new", help="新建内容", description="新建内容。",
                       epilog="想知道怎么用，就加 --help，如 gushihui new story --help。")
    what = n.add_subparsers(dest="kind", metavar="类型")
    s = what.add_parser("story", help="新建一个故事文件",
                        description="新建一个故事草稿。县、乡镇、支部的名称要和组织名册（org.csv）里一字不差。")
    s.add_argument("title", metavar="标题", help="故事标题（有空格时用英文双引号括起来）")
    s.add_argument("--county", required=True, metavar="县名", help="县（市、区）名称（必须写）")
    s.add_argument("--township", required=True, metavar="乡镇名", help="乡镇（街道）名称（必须写）")
    s.add_argument("--branch", required=True, metavar="支部名", help="党支部名称（必须写）")
    s.add_argument("--content", type=Path, default=Path("content"), metavar="目录", help="内容目录（默认 ./content）")

    m = sub.add_parser("import", help="把 Word 文件、网上复制的文字导入为故事",
                       description="把 Word 或 WPS 文件（.docx）、文字文件（.txt）、Markdown 文件（.md）或保存的网页（.html）"
                                   "各导入为一个故事：繁体字改为简体、删去拼音、标点改为全角，标题、作者、日期和所属支部尽量自动填好。"
                                   "导入时无法确定的内容写成“【待填写】”，gushihui check 会一一指出，填好后才能生成。"
                                   "已有的文件不会被覆盖。")
    m.add_argument("files", nargs="+", type=Path, metavar="文件", help="要导入的文件，可以写多个")
    m.add_argument("--county", metavar="县名", help="县（市、区）名称")
    m.add_argument("--township", metavar="乡镇名", help="乡镇（街道）名称（写了乡镇可以不写县）")
    m.add_argument("--branch", metavar="支部名", help="党支部名称；没写时，如果正文只提到组织名册里的一个支部，就用这个支部")
    m.add_argument("--to", type=Path, metavar="目录",
                   help="故事写在这个文件夹里，没有就新建（默认 content/stories/县名/乡镇名/）")
    m.add_argument("--content", type=Path, default=Path("content"), metavar="目录", help="内容目录（默认 ./content）")

    f = sub.add_parser("fix", help="整理文字：繁体改简体、删去拼音、标点改全角",
                       description="整理故事文件（.md）或文字文件（.txt）里的文字，直接改写文件：繁体字改为简体，"
                                   "删去字后面括号里的拼音，中文里的英文标点改为全角，删去汉字之间多余的空格，"
                                   "合并句子中间断开的换行。拿不准的地方保持原样并提示。")
    f.add_argument("files", nargs="+", type=Path, metavar="文件", help="要整理的文件，可以写多个")
    f.add_argument("--dry-run", action="store_true", help="只列出要改的地方（逐行对照），不改文件")
    return p


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"应为正整数，现在是“{text}”")
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"端口应在 1 到 65535 之间，现在是“{text}”")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"应为 0 到 1 之间的数，如 0.9，现在是“{text}”")
    return value


def _print_problems(problems: list[Problem]) -> None:
    for p in sorted(problems, key=Problem.sort_key):
        print(p, file=sys.stderr)


def _counts(report: Report) -> str:
    e, w = len(report.errors), len(report.warnings)
    return f"{e} 个错误" + (f"、{w} 个警告" if w else "")


@contextmanager
def _progress_bar():
    """A progress bar on a terminal; nothing at all otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        yield update


def summary(report: Report, out: Path) -> str:
    """The one line a build ends with."""
    seconds = report.timings.get("total", 0.0)
    if report.unchanged:
        return f"没有变化：{out}/ 已是最新（{report.pages} 个页面），用时 {seconds:.2f} 秒。"
    parts = [f"{report.pages} 个页面"]
    if report.rendered != report.pages:
        parts.append(f"其中 {report.rendered} 个有变化")
    if report.removed:
        parts.append(f"删除 {report.removed} 个过时文件")
    index = report.search
    made = f"，其中搜索索引 {len(index.made)} 个县（市、区）用时 {index.seconds:.2f} 秒" if index and index.made else ""
    return f"已生成 {out}/：{'，'.join(parts)}，写入 {report.files} 个文件，用时 {seconds:.2f} 秒{made}。"


def _no_content(args) -> bool:
    """True, having said so, when --content is not a folder (the command then exits with 2)."""
    if args.content.is_dir():
        return False
    print(f"gushihui: 找不到内容目录 {args.content}；请在网站的文件夹里运行，或用 --content 指明内容目录", file=sys.stderr)
    return True


def _cmd_build(args) -> int:
    if _no_content(args):
        return 2
    try:
        check_output(args.out, args.content)
    except UnsafeOutput as exc:
        print(f"gushihui: {exc}", file=sys.stderr)
        return 2
    options = Options(content=args.content, out=args.out, drafts=args.drafts, strict=args.strict,
                      keep_going=args.keep_going, jobs=args.jobs, base_url=args.base_url, pdf=args.pdf,
                      county=args.county, all_counties=args.all_counties, blind=args.blind,
                      use_cache=not args.no_cache)
    waiting = lambda: print(f"另一个 gushihui 正在生成 {args.out}/，等它完成后再继续……", file=sys.stderr)  # noqa: E731
    try:
        with _progress_bar() as progress:
            report = build(options, progress, waiting=waiting)
    except UsageError as exc:
        print(f"gushihui: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the output folder or the disk, not the content
        print(f"gushihui: 无法写入 {exc.filename or args.out}：{_why(exc)}；{args.out}/ 保持原样。",
              file=sys.stderr)
        return 2
    _print_problems(report.problems)
    if not report.written:
        print(f"构建失败：{_counts(report)}；{args.out}/ 保持原样。", file=sys.stderr)
        return 1
    if args.blind:
        from .blind import key_path

        print(f"已生成匿名评审材料 {args.out}/：{report.pages} 篇稿件和评分表 scores-template.csv；"
              f"编号对照表在 {key_path(args.out)}，请勿发给评委。")
        return 1 if report.errors else 0
    print(summary(report, args.out))
    if report.errors:
        print(f"有 {_counts(report)}，出错的故事没有生成。", file=sys.stderr)
        return 1
    if report.warnings and args.strict:
        return 1
    return 0


def _cmd_check(args) -> int:
    if _no_content(args):
        return 2
    try:
        report, site = check_site(Options(content=args.content, strict=args.strict, county=args.county))
    except UsageError as exc:
        print(f"gushihui: {exc}", file=sys.stderr)
        return 2
    failed = bool(report.errors) or (args.strict and bool(report.warnings))
    lib = site.library if site is not None else None
    report_ = coverage(lib) if lib is not None and lib.from_registry else None
    low = args.min_coverage is not None and (report_ is None or report_.share.ratio < args.min_coverage)
    if args.format == "json":
        print(json.dumps(check_json(report, site, report_, not (failed or low)), ensure_ascii=False, indent=2))
        return 1 if failed or low else 0
    _print_problems(report.problems)
    if lib is not None:
        print(f"共 {len(lib.stories)} 个故事。")
        if report_ is not None:
            _print_coverage(report_, site.settings.coverage_target)
        if lib.ratings is not None and not site.settings.rating.publish:
            _print_ranking(lib)
    if low:
        print("没有 org.csv，无法计算覆盖率。" if report_ is None else
              f"覆盖率 {report_.share.percent} 低于要求的 {args.min_coverage:.1%}。", file=sys.stderr)
    failed = failed or low
    print(("检查未通过：" if failed else "检查通过：") + _counts(report) + "。", file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def _print_coverage(report, target: float) -> None:
    """A table per county and the chase list, in plain characters (a Windows console shows them too)."""
    print(f"已讲故事的支部：{report.share.told}/{report.share.total}（{report.share.percent}），目标 {target:.0%}。")
    width = max([display_width(c.county.name) for c in report.counties] + [8]) + 2
    print(_pad("县（市、区）", width) + "已讲/支部    占比")
    for c in report.counties:
        mark = "" if c.share.ratio >= target else "  未达目标"
        print(_pad(c.county.name, width) + _pad(f"{c.share.told}/{c.share.total}", 13) + c.share.percent + mark)
    missing = [(c, t) for c in report.counties for t in c.townships if t.missing]
    if missing:
        print("还没有讲故事的支部：")
        for c, t in missing:
            names = "、".join(b.name + (f"（{b.code}）" if b.code else "") for b in t.missing)
            print(f"  {c.county.name} {t.township.name}：{names}")


def check_json(report, site, cov, ok: bool) -> dict:
    """The stable JSON of `check --format json` (docs/check-json.md)."""
    def problem(p):
        return {"code": p.code, "message": p.message, "file": p.file, "line": p.line}

    def share(s):
        return {"told": s.told, "total": s.total, "share": round(s.ratio, 4)}

    out = {"format": "gushihui-check-1", "ok": ok, "stories": len(site.library.stories) if site else None,
           "errors": [problem(p) for p in report.errors], "warnings": [problem(p) for p in report.warnings],
           "coverage": None}
    if cov is not None:
        out["coverage"] = {**share(cov.share), "target": site.settings.coverage_target, "counties": [
            {"name": c.county.name, "code": c.county.code, **share(c.share), "townships": [
                {"name": t.township.name, "code": t.township.code, **share(t.share),
                 "missing": [{"name": b.name, "code": b.code} for b in t.missing]} for t in c.townships]}
            for c in cov.counties]}
    return out


def _print_ranking(library) -> None:
    """For the committee while the results are not published ([rating] publish = false)."""
    print("展评排名（未公开）：名次、得分、奖项、故事、县（市、区）、乡镇（街道）、党支部")
    for result in library.ratings.results.values():
        story = library.stories.get(result.story)
        if story is not None:
            rank = result.rank or "未评定"
            print(f"{rank}\t{result.shown or '-'}\t{result.award or '-'}\t{story.title}\t{story.county}\t"
                  f"{story.township}\t{story.branch}")


_FIELD = re.compile(r"^(title|county|township|branch):\s*(.*?)\s*$", re.M)


def _same_title(content: Path, county: str, township: str, branch: str, title: str) -> Path | None:
    """A story file of the same branch with the same title, if there is one (frontmatter lines only)."""
    for path in sorted((content / "stories").rglob("*")):
        if path.suffix.lower() not in (".md", ".markdown") or not path.is_file():
            continue
        head = path.read_text(encoding="utf-8", errors="replace").split("\n---", 1)[0]
        fields = {k: v.strip("\"'") for k, v in _FIELD.findall(head)}
        if (fields.get("county"), fields.get("township"), fields.get("branch"), fields.get("title")) == \
                (county, township, branch, title):
            return path
    return None


def _cmd_new_story(args) -> int:
    from .config import DEFAULT_STANDARDS, load_settings
    from .reader import PLACEHOLDER

    settings, _ = load_settings(args.content)
    standards = settings.standards if settings else DEFAULT_STANDARDS
    registry, problems = load_registry(args.content)
    if any(not p.is_warning for p in problems):  # the roster itself first: names are checked against it
        _print_problems(problems)
        return 1
    wrong = registry.names.check(args.county, args.township, args.branch) if registry is not None else None
    if wrong:  # a name typed on the command line, not a mistake in org.csv
        roster = f"组织名册（{args.content / 'org.csv'}）里"
        print(f"gushihui: 命令行参数 --{wrong.field}：{roster}{wrong.message.removeprefix('组织名册里')}",
              file=sys.stderr)
        return 2
    for option, name in (("--county", args.county), ("--township", args.township)):
        if not name.strip() or name.strip(".") == "" or any(c in name for c in '/\\:*?"<>|\0'):
            print(f"gushihui: 命令行参数 {option}：名称“{name}”不能用作文件夹名（不能含 / \\ : * ? \" < > | 等符号）",
                  file=sys.stderr)
            return 2
    twin = _same_title(args.content, args.county, args.township, args.branch, args.title)
    if twin is not None:
        print(f"gushihui: {args.branch}已经有一个故事叫“{args.title}”：{twin}；没有新建", file=sys.stderr)
        return 1
    slug = slugify(args.title) or "story"
    path = args.content / "stories" / args.county / args.township / f"{slug}.md"
    if path.exists():
        print(f"gushihui: {path} 已存在，没有覆盖它", file=sys.stderr)
        return 1
    q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731  a JSON string is a YAML string
    choices = "、".join(s.name for s in standards)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\ntitle: {q(args.title)}\ncounty: {q(args.county)}\ntownship: {q(args.township)}\n"
        f"branch: {q(args.branch)}\ndate: {dt.date.today().isoformat()}\nauthors: []\n"
        f"# 类别：从下面选一个，去掉下一行开头的 # 号再填上：{choices}\n# standard: \n"
        f"tags: []\ndraft: true\n---\n\n{PLACEHOLDER}\n", encoding="utf-8")
    print(f"已新建 {path}")
    return 0


_NOT_IN_NAMES = '/\\:*?"<>|\0'


def _names_given(registry, county: str | None, township: str | None,
                 branch: str | None) -> tuple[dict[str, str], tuple[str, str] | None]:
    """The names given to `import`, completed where org.csv has only one match (a township names
    its county), or (option, what is wrong) for a name that org.csv does not have."""
    given = {"county": county or "", "township": township or "", "branch": branch or ""}
    for option, name in given.items():
        if name and (not name.strip() or name.strip(".") == "" or any(c in name for c in _NOT_IN_NAMES)):
            return given, (option, f"名称“{name}”不能用作文件夹名（不能含 / \\ : * ? \" < > | 等符号）")
    if registry is None:
        return given, None
    towns = registry.names.counties
    c, t, b = given["county"], given["township"], given["branch"]
    if c and c not in towns:
        return given, ("county", f"组织名册里没有“{c}”{did_you_mean(c, towns)}")
    if t:
        where = [c] if c else [k for k, v in towns.items() if t in v]
        if c and t not in towns[c]:
            return given, ("township", "组织名册里" + registry.names.check(c, t, "").message)
        if not where:
            everywhere = {n for v in towns.values() for n in v}
            return given, ("township", f"组织名册里没有“{t}”{did_you_mean(t, everywhere)}")
        if len(where) > 1:
            return given, ("township", f"组织名册里{'、'.join(where)}都有“{t}”；请同时写 --county")
        given["county"] = c = where[0]
    if b:
        scope = [r for r in registry.rows if (not c or r.county == c) and (not t or r.township == t)]
        found = {(r.county, r.township) for r in scope if r.branch == b}
        if not found:
            return given, ("branch", f"组织名册里{c}{t}没有“{b}”{did_you_mean(b, {r.branch for r in scope})}")
        if len(found) > 1:
            return given, ("branch", f"组织名册里{'、'.join(x + y for x, y in sorted(found))}都有“{b}”；"
                                     "请同时写 --county 和 --township")
        given["county"], given["township"] = next(iter(found))
    return given, None


def _cmd_import(args) -> int:
    from .config import DEFAULT_STANDARDS, load_settings
    from .documents import OLD_FORMATS, SUFFIXES, ImportError_
    from .importing import import_file
    from .reader import TODO

    for path in args.files:
        suffix = path.suffix.lower()
        if suffix in OLD_FORMATS:
            print(f"gushihui: 不能直接导入 {path}：请在 Word 或 WPS 里打开它，另存为“Word 文档（.docx）”后再导入",
                  file=sys.stderr)
            return 2
        if suffix not in SUFFIXES:
            print(f"gushihui: 不能导入 {path}：只能导入 Word 文件（.docx）、文字文件（.txt）、"
                  "Markdown 文件（.md）和保存的网页（.html）", file=sys.stderr)
            return 2
        if not path.is_file():
            print(f"gushihui: 找不到文件 {path}", file=sys.stderr)
            return 2
    if _no_content(args):  # its org.csv names the branches, its media/ takes the pictures
        return 2
    settings, _ = load_settings(args.content)
    registry, problems = load_registry(args.content)
    if any(not p.is_warning for p in problems):
        _print_problems(problems)
        return 1
    given, wrong = _names_given(registry, args.county, args.township, args.branch)
    if wrong:
        option, message = wrong
        roster = f"组织名册（{args.content / 'org.csv'}）里"
        print(f"gushihui: 命令行参数 --{option}：{message.replace('组织名册里', roster, 1)}", file=sys.stderr)
        return 2
    rows = list(registry.rows) if registry is not None else None
    places = [settings.city] if settings is not None else []
    if registry is not None:
        places += list(dict.fromkeys(n for r in registry.rows for n in (r.county, r.township)))
    standards = tuple(s.name for s in (settings.standards if settings is not None else DEFAULT_STANDARDS))
    status, done, unfinished = 0, 0, 0
    for path in args.files:
        try:
            story, target = import_file(path, args.to, args.content, rows=rows, places=tuple(places),
                                        standards=standards, **given)
        except ImportError_ as exc:
            print(f"gushihui: {path}：{exc}；没有导入", file=sys.stderr)
            status = 1
            continue
        except FileExistsError as exc:
            print(f"gushihui: {exc} 已存在，没有覆盖它；{path} 没有导入（要再导入一次，请先改名或删除那个文件）",
                  file=sys.stderr)
            status = 1
            continue
        except OSError as exc:
            print(f"gushihui: 无法导入 {path}：{exc.filename or ''} {_why(exc)}", file=sys.stderr)
            status = 1
            continue
        _print_problems([p for p in story.problems if p.is_warning])
        done += 1
        print(f"已导入 {path} → {target}")
        print(f"  标题：{story.title or '（无法确定）'}")
        print(f"  作者：{'、'.join(story.authors) if story.authors else '（原文没有署名）'}")
        print(f"  日期：{story.date.isoformat()}" + (f"（取自原文“{story.date_from}”，请核对）" if story.date_from and
                                                  story.date_from != story.date.isoformat() else
                                                  "" if story.date_from else "（原文没有写日期，用的是今天，请改成故事的日期）"))
        known = " ".join(v for v in story.org.values() if v)
        origin = {"text": "（正文里提到了这个支部，请核对）", "arguments": "", "file": ""}.get(story.org_from, "")
        print(f"  组织：{known or '（无法确定）'}{origin}")
        print(f"  整理：{story.changes.describe()}")
        pictures = [p for p in story.pictures if p.name]
        if pictures:
            print(f"  图片：{len(pictures)} 张，存在 {args.content / 'media'}/（{'、'.join(p.name for p in pictures)}）")
        for note in story.notes:
            print(f"  请核对：{note}")
        for line, note in story.changes.notes[:5]:
            print(f"  提示：{note}")
        if story.todo:
            unfinished += 1
            print(f"  待填写：文件里还有 {story.text.count(TODO)} 处“{TODO}”，gushihui check 会一一指出，填好后才能生成")
    if done:
        print(f"共导入 {done} 个故事。" + (f"其中 {unfinished} 个还有待填写的内容；" if unfinished else "") +
              "请打开文件核对，再运行 gushihui check 检查。")
    return status


def _write_back(path: Path, data: bytes, text: str) -> None:
    """`text` into `path` as UTF-8, keeping a byte-order mark and Windows line ends if it had them."""
    if b"\r\n" in data:
        text = text.replace("\n", "\r\n")
    encoded = ("\ufeff" if data.startswith(b"\xef\xbb\xbf") else "") + text
    temporary = path.with_name(f".{path.name}.gushihui-fix")
    temporary.write_bytes(encoded.encode("utf-8"))
    temporary.replace(path)


def _cmd_fix(args) -> int:
    from .encoding import decode
    from .fixing import diff, fix_text

    for path in args.files:
        if path.suffix.lower() not in (".md", ".markdown", ".txt"):
            print(f"gushihui: 不能整理 {path}：只能整理故事文件（.md）和文字文件（.txt）；"
                  "Word 文件请用 gushihui import 导入", file=sys.stderr)
            return 2
        if not path.is_file():
            print(f"gushihui: 找不到文件 {path}", file=sys.stderr)
            return 2
    status = 0
    for path in args.files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            print(f"gushihui: 无法读取 {path}：{_why(exc)}", file=sys.stderr)
            status = 1
            continue
        text, problems = decode(data, str(path))
        _print_problems(problems)
        if text is None:
            status = 1
            continue
        new, changes = fix_text(text, markdown=path.suffix.lower() != ".txt")
        if args.dry_run:
            print(diff(text, new, str(path)), end="")
        elif new != text or problems:
            try:
                _write_back(path, data, new)
            except OSError as exc:
                print(f"gushihui: 无法写入 {path}：{_why(exc)}；文件保持原样", file=sys.stderr)
                status = 1
                continue
        utf8 = "；已改存为 UTF-8 编码" if any(p.code == "W002" for p in problems) and not args.dry_run else ""
        print(f"{path}：{changes.describe()}{utf8}" + ("（预览，文件没有改动）" if args.dry_run and changes.total else ""))
        for line, note in changes.notes[:10]:
            print(f"  第 {line} 行：{note}" if line else f"  {note}")
        if len(changes.notes) > 10:
            print(f"  还有 {len(changes.notes) - 10} 条类似的提示")
    return status


def _cmd_init(args) -> int:
    from .skeleton import write_skeleton

    if args.dir.exists() and (not args.dir.is_dir() or any(args.dir.iterdir())):
        print(f"gushihui: {args.dir} 已存在且不是空的文件夹；请换一个新文件夹", file=sys.stderr)
        return 2
    write_skeleton(args.dir)
    print(f"已新建网站 {args.dir}/：进入这个文件夹运行 gushihui build，网站就生成在 {args.dir}/output/ 里。"
          f"先改 content/site.toml 和 content/org.csv，再照着 content/stories/ 里的示例写故事。")
    return 0


def _cmd_serve(args) -> int:
    from .serve import PortUnavailable, serve

    if _no_content(args):
        return 2
    try:
        return serve(args.content, args.host, args.port, lambda line: print(line, flush=True), args.jobs)
    except PortUnavailable as exc:
        print(f"gushihui: {_port_problem(exc, args)}", file=sys.stderr)
        return 2
    except OSError as exc:  # the preview folder or the disk, not the content
        print(f"gushihui: 无法写入 {exc.filename or '预览文件夹'}：{_why(exc)}", file=sys.stderr)
        return 2


def _port_problem(exc, args) -> str:
    """Why the preview cannot listen where asked, and what to type instead."""
    from .serve import free_port_near

    again = "gushihui serve" + (f" --content {args.content}" if args.content != Path("content") else "") + \
        (f" --host {args.host}" if args.host != "127.0.0.1" else "")
    if exc.errno == errno.EADDRINUSE or exc.errno == getattr(errno, "WSAEADDRINUSE", None):
        other = free_port_near(args.host, args.port) or 8000 + (args.port == 8000)
        return (f"端口 {args.port} 已被占用（可能已有一个预览在运行）；请换一个端口，如 {again} --port {other}")
    if exc.errno in (errno.EACCES, getattr(errno, "WSAEACCES", None)):
        other = free_port_near(args.host, max(args.port, 8000) - 1) or 8000
        return (f"不允许使用端口 {args.port}（1024 以下的端口要管理员权限，有些端口被系统保留）；"
                f"请换一个端口，如 {again} --port {other}")
    if isinstance(exc.__cause__, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"“{args.host}”不是这台电脑的地址；一般不用写 --host（默认 127.0.0.1，只有本机能访问）"
    return f"无法在 {args.host}:{args.port} 上启动预览（{_why(exc)}）；请换一个端口，如 {again} --port 8001"


_REASONS = {errno.EACCES: "没有权限", errno.EPERM: "没有权限", errno.ENOSPC: "磁盘已满", errno.EROFS: "磁盘是只读的",
            errno.ENOENT: "文件夹不存在", errno.ENAMETOOLONG: "名称太长", errno.EADDRINUSE: "端口已被占用"}


def _why(exc: OSError) -> str:
    """The system's reason in Chinese where it is a common one, else in its own words."""
    return _REASONS.get(exc.errno, exc.strerror or str(exc))


# The cyclic garbage collector runs after every GC_THRESHOLDS[0] allocations not yet freed (700 by
# default), and looks at older objects every GC_THRESHOLDS[1] of those runs. A build allocates
# millions of objects that live to its end (stories, plans, their tuples), few of them in cycles,
# and by default the collector looks at them again and again. Collecting less often took about
# 0.1 s off an edit's build at 10,000 stories (2.3 s on the machine of docs/performance.md), 7 %
# off a cold build of 2,000 and 3 % of 10,000 (the workers, forked, inherit it); same peak memory.
# The command line only: a caller of `build` keeps its own settings.
GC_THRESHOLDS = (100_000, 50, 10)


def run() -> None:
    """The command line's entry point: `main`, then exit at once. Tearing down the
    interpreter frees a large site's objects one by one (a few tenths of a second at
    10,000 stories, after everything is written); the output is flushed first."""
    gc.set_threshold(*GC_THRESHOLDS)
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        raise SystemExit(code)  # under cProfile or coverage: let them write what they found
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`gushihui build | head`)
            pass
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"build": _cmd_build, "check": _cmd_check, "serve": _cmd_serve, "new": _cmd_new_story,
                "init": _cmd_init, "import": _cmd_import, "fix": _cmd_fix}
    try:
        return commands[args.command](args)
    except InterruptedAfterWrite:  # Ctrl-C waited while files were put in place: the new site is complete
        print(f"\n已中断；新网站已完整写入 {args.out}/，下次构建会重新检查。", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # Ctrl-C: whatever was staged is already removed; say so, no traceback
        print("\n已中断。" + (f"{args.out}/ 保持原样。" if args.command == "build" else ""), file=sys.stderr)
        return 130
