"""The `gushihui` command: arguments → calls → exit codes. The only place that prints.

Exit status: 0 success; 1 the content has errors; 2 the command line is wrong.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import unicodedata
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .build import Options, Report, build, check_site
from .chinese import slugify
from .coverage import coverage
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
    c.add_argument("--county", help="只检查这个县（市、区）（名称或拼音）")
    c.add_argument("--format", choices=("text", "json"), default="text", help="输出格式（json 供其他程序读取）")
    v = sub.add_parser("serve", help="本机预览，保存后浏览器自动刷新")
    v.add_argument("--content", type=Path, default=Path("content"), help="内容目录（默认 ./content）")
    v.add_argument("--port", type=_port, default=8000, help="端口（默认 8000）")
    v.add_argument("--host", default="127.0.0.1", help="地址（默认 127.0.0.1，只有本机能访问）")
    v.add_argument("--jobs", type=_positive, default=None, help="并行进程数（默认：CPU 核数）")
    i = sub.add_parser("init", help="新建一个网站（可以直接生成的示例）")
    i.add_argument("dir", type=Path, metavar="DIR", help="新网站的文件夹")
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
    try:
        report, site = check_site(Options(content=args.content, strict=args.strict, county=args.county))
    except UsageError as exc:
        print(f"gushihui: 命令行有误：{exc}", file=sys.stderr)
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


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _print_coverage(report, target: float) -> None:
    """A table per county and the chase list, in plain characters (a Windows console shows them too)."""
    print(f"已讲故事的支部：{report.share.told}/{report.share.total}（{report.share.percent}），目标 {target:.0%}。")
    width = max([_width(c.county.name) for c in report.counties] + [8]) + 2
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
    commands = {"build": _cmd_build, "check": _cmd_check, "serve": _cmd_serve, "new": _cmd_new_story,
                "init": _cmd_init}
    try:
        return commands[args.command](args)
    except InterruptedAfterWrite:  # Ctrl-C waited while files were put in place: the new site is complete
        print(f"\n已中断；新网站已完整写入 {args.out}/，下次构建会重新检查。", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # Ctrl-C: whatever was staged is already removed; say so, no traceback
        print("\n已中断。" + (f"{args.out}/ 保持原样。" if args.command == "build" else ""), file=sys.stderr)
        return 130
