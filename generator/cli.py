"""The `gushihui` command: arguments → calls → exit codes. The only place that prints.

Exit status: 0 success; 1 the content has errors; 2 the command line is wrong.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .build import Options, Report, build, check_site
from .chinese import slugify
from .errors import Problem, UsageError
from .output import InterruptedAfterWrite, UnsafeOutput, check_output
from .registry import load_registry


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own words, but our exit code and language
        self.print_usage(sys.stderr)
        print(f"gushihui: 命令行有误：{message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gushihui", description="故事汇：党建好故事网站生成器")
    p.add_argument("--version", action="version", version=f"gushihui {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="命令")
    b = sub.add_parser("build", help="生成网站")
    b.add_argument("--content", type=Path, default=Path("content"), help="内容目录（默认 ./content）")
    b.add_argument("--out", type=Path, default=Path("output"), help="输出目录（默认 ./output）")
    b.add_argument("--base-url", help="覆盖 site.toml 里的 base_url")
    b.add_argument("--drafts", action="store_true", help="同时生成草稿")
    b.add_argument("--strict", action="store_true", help="把警告当作错误")
    b.add_argument("--keep-going", action="store_true", help="跳过有错误的故事继续生成（仍以状态 1 退出）")
    b.add_argument("--jobs", type=_positive, default=None, help="并行进程数（默认：CPU 核数）")
    b.add_argument("--no-cache", action="store_true", help="不使用也不更新构建缓存，完整生成")
    b.add_argument("--pdf", action="store_true", help="同时为每个乡镇汇编生成 PDF（需要 WeasyPrint 和中文字体）")
    which = b.add_mutually_exclusive_group()
    which.add_argument("--county", help="只生成这个县（市、区）自己的网站（名称或拼音）")
    which.add_argument("--all-counties", action="store_true", help="为每个县（市、区）各生成一个网站，放在 --out 下各自的文件夹里")
    which.add_argument("--blind", action="store_true", help="生成匿名评审材料（不生成网站）；对照表写在 --out 旁边")
    c = sub.add_parser("check", help="只检查内容，不生成网站")
    c.add_argument("--content", type=Path, default=Path("content"), help="内容目录（默认 ./content）")
    c.add_argument("--min-coverage", type=_share, default=None,
                   help="已讲故事的支部占比低于此值（0 到 1）时以状态 1 退出")
    c.add_argument("--strict", action="store_true", help="把警告当作错误")
    v = sub.add_parser("serve", help="本机预览，保存后浏览器自动刷新")
    v.add_argument("--content", type=Path, default=Path("content"), help="内容目录（默认 ./content）")
    v.add_argument("--port", type=_port, default=8000, help="端口（默认 8000）")
    v.add_argument("--host", default="127.0.0.1", help="地址（默认 127.0.0.1，只有本机能访问）")
    v.add_argument("--jobs", type=_positive, default=None, help="并行进程数（默认：CPU 核数）")
    n = sub.add_parser("new", help="新建内容")
    what = n.add_subparsers(dest="kind", required=True, parser_class=_Parser, metavar="类型")
    s = what.add_parser("story", help="新建一个故事文件")
    s.add_argument("title", metavar="TITLE", help="故事标题")
    s.add_argument("--county", required=True)
    s.add_argument("--township", required=True)
    s.add_argument("--branch", required=True)
    s.add_argument("--content", type=Path, default=Path("content"))
    return p


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"应为正整数，现在是 {text!r}")
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"端口应在 1 到 65535 之间，现在是 {text!r}")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"应为 0 到 1 之间的数，如 0.9，现在是 {text!r}")
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
    return f"已生成 {out}/：{'，'.join(parts)}，写入 {report.files} 个文件，用时 {seconds:.2f} 秒。"


def _cmd_build(args) -> int:
    if not args.content.is_dir():
        print(f"gushihui: 找不到内容目录 {args.content}", file=sys.stderr)
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
        print(f"gushihui: 命令行有误：{exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the output folder or the disk, not the content
        print(f"gushihui: 无法写入 {exc.filename or args.out}：{exc.strerror or exc}；{args.out}/ 保持原样。",
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
    if not args.content.is_dir():
        print(f"gushihui: 找不到内容目录 {args.content}", file=sys.stderr)
        return 2
    report, site = check_site(Options(content=args.content, strict=args.strict))
    _print_problems(report.problems)
    failed = bool(report.errors) or (args.strict and bool(report.warnings))
    if site is not None:
        lib = site.library
        print(f"共 {len(lib.stories)} 个故事。")
        if lib.from_registry:
            told, total = lib.coverage()
            share = told / total if total else 1.0
            print(f"已讲故事的支部：{told}/{total}（{share:.1%}）。")
            if args.min_coverage is not None and share < args.min_coverage:
                print(f"覆盖率低于要求的 {args.min_coverage:.1%}。", file=sys.stderr)
                failed = True
        elif args.min_coverage is not None:
            print("没有 org.csv，无法计算覆盖率。", file=sys.stderr)
            failed = True
    if site is not None and site.library.ratings is not None and not site.settings.rating.publish:
        _print_ranking(site.library)
    print(("检查未通过：" if failed else "检查通过：") + _counts(report) + "。", file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0


def _print_ranking(library) -> None:
    """For the committee while the results are not published ([rating] publish = false)."""
    print("展评排名（未公开）：名次、得分、奖项、故事、县（市、区）、乡镇（街道）、党支部")
    for result in library.ratings.results.values():
        story = library.stories.get(result.story)
        if story is not None:
            rank = result.rank or "未评定"
            print(f"{rank}\t{result.shown or '-'}\t{result.award or '-'}\t{story.title}\t{story.county}\t"
                  f"{story.township}\t{story.branch}")


def _cmd_new_story(args) -> int:
    from .config import DEFAULT_STANDARDS, load_settings

    settings, _ = load_settings(args.content)
    standard = (settings.standards if settings else DEFAULT_STANDARDS)[0].name
    registry, problems = load_registry(args.content)
    if registry is not None:
        wrong = registry.names.check(args.county, args.township, args.branch)
        if wrong:
            problems.append(Problem(wrong.code, wrong.message, str(args.content / "org.csv")))
    if any(not p.is_warning for p in problems):
        _print_problems(problems)
        return 1
    for name in (args.county, args.township):
        if not name.strip() or name.strip(".") == "" or any(c in name for c in '/\\:*?"<>|\0'):
            print(f"gushihui: 名称“{name}”不能用作文件夹名（不能含 / \\ : * ? \" < > | 等符号）", file=sys.stderr)
            return 2
    slug = slugify(args.title) or "story"
    path = args.content / "stories" / args.county / args.township / f"{slug}.md"
    if path.exists():
        print(f"gushihui: {path} 已存在，没有覆盖它", file=sys.stderr)
        return 1
    q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731  a JSON string is a YAML string
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\ntitle: {q(args.title)}\ncounty: {q(args.county)}\ntownship: {q(args.township)}\n"
        f"branch: {q(args.branch)}\ndate: {dt.date.today().isoformat()}\nauthors: []\nstandard: {q(standard)}\n"
        f"tags: []\ndraft: true\n---\n\n在这里写正文。写完后把 draft 改为 false。\n", encoding="utf-8")
    print(f"已新建 {path}")
    return 0


def _cmd_serve(args) -> int:
    from .serve import serve

    if not args.content.is_dir():
        print(f"gushihui: 找不到内容目录 {args.content}", file=sys.stderr)
        return 2
    try:
        return serve(args.content, args.host, args.port, lambda line: print(line, flush=True), args.jobs)
    except OSError as exc:  # the port is taken or the address is not this machine's
        print(f"gushihui: 无法在 {args.host}:{args.port} 上启动预览：{exc.strerror or exc}；请换一个 --port",
              file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"build": _cmd_build, "check": _cmd_check, "serve": _cmd_serve, "new": _cmd_new_story}
    try:
        return commands[args.command](args)
    except InterruptedAfterWrite:  # Ctrl-C waited while files were put in place: the new site is complete
        print(f"\n已中断；新网站已完整写入 {args.out}/，下次构建会重新检查。", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # Ctrl-C: whatever was staged is already removed; say so, no traceback
        print("\n已中断。" + (f"{args.out}/ 保持原样。" if args.command == "build" else ""), file=sys.stderr)
        return 130
