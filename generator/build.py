"""The orchestrator: read everything, check everything, plan, render, then
write into a staging folder and swap it in. Nothing is written before
everything is known to be right."""
from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable

from .config import Settings, load_settings
from .errors import Problem
from .library import build_library
from .models import FreePage, Library, Story
from .output import Claims, Staging, check_output
from .pages import PagePlan, plan_pages
from .reader import read_page, read_story
from .registry import load_registry
from .render import Context, Theme, find_theme, make_environment, render_page, template_problem

Progress = Callable[[str, int, int], None]  # (stage, done, total)
PARALLEL_FROM = 64  # below this many stories, starting workers costs more than it saves


@dataclass(frozen=True)
class Options:
    content: Path = Path("content")
    out: Path = Path("output")
    drafts: bool = False
    strict: bool = False
    keep_going: bool = False
    jobs: int | None = None  #: worker processes; None means one per core
    base_url: str | None = None


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    pages: int = 0
    files: int = 0
    written: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.is_warning]


@dataclass(frozen=True)
class Site:
    """Everything read and checked, ready to be planned and rendered."""

    settings: Settings
    theme: Theme
    library: Library


class _Timer:
    def __init__(self, report: Report):
        self.report, self.last = report, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.report.timings[stage] = now - self.last
        self.last = now


def _blocking(report: Report, options: Options) -> bool:
    return any(not p.is_warning or options.strict for p in report.problems)


def load_site(options: Options, report: Report, progress: Progress | None = None) -> Site | None:
    """Read and check the whole site; None when it cannot be built at all."""
    timer = _Timer(report)
    content = options.content
    settings, problems = load_settings(content)
    report.problems += problems
    # With broken settings nothing is written, but every story is still read
    # and checked (with the default standards) so that one run lists everything.
    usable = settings is not None and not any(not p.is_warning for p in problems)
    settings = settings or Settings(title="", city="", base_url="/")
    if options.base_url:
        settings = replace(settings, base_url=options.base_url.rstrip("/") + "/")
    theme, problems = find_theme(content.resolve().parent, settings.theme, str(content / "site.toml"))
    report.problems += problems
    rows, problems = load_registry(content)
    report.problems += problems
    timer.lap("settings")
    stories = _read_all(sorted((content / "stories").rglob("*.md")), content, settings, options, report, progress)
    pages: list[FreePage] = []
    for path in sorted((content / "pages").glob("*.md")):
        page, problems = read_page(path, content, settings)
        report.problems += problems
        if page is not None:
            pages.append(page)
    timer.lap("read")
    library, problems = build_library(rows, stories, pages, options.drafts, str(content / "org.csv"))
    report.problems += problems
    timer.lap("library")
    if theme is None or not usable:
        return None
    return Site(settings, theme, library)


def _read_all(paths: list[Path], content: Path, settings: Settings, options: Options, report: Report,
              progress: Progress | None) -> list[Story]:
    read = partial(read_story, content=content, settings=settings)
    jobs = options.jobs or os.cpu_count() or 1
    stories = []
    if jobs > 1 and len(paths) >= PARALLEL_FROM:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = pool.map(read, paths, chunksize=max(1, len(paths) // (jobs * 8)))
            stories = _collect(results, len(paths), report, progress)
    else:
        stories = _collect(map(read, paths), len(paths), report, progress)
    return stories


def _collect(results, total: int, report: Report, progress: Progress | None) -> list[Story]:
    stories = []
    for done, (story, problems) in enumerate(results, 1):
        report.problems += problems
        if story is not None:
            stories.append(story)
        if progress:
            progress("读取故事", done, total)
    return stories


def build(options: Options, progress: Progress | None = None) -> Report:
    """Build the site into options.out. The report says what happened; the
    previous output is untouched unless `report.written`."""
    report = Report()
    started = time.perf_counter()
    site = load_site(options, report, progress)
    if site is None:
        return report
    timer = _Timer(report)
    plans, files = _plan(options.content, site, report)
    timer.lap("plan")
    # Address collisions cannot be skipped like a broken story: nothing is written.
    if any(p.code == "E401" for p in report.problems) or (_blocking(report, options) and not options.keep_going):
        return report
    staging = Staging(options.out)
    try:
        if _render_all(staging, site, plans, report, progress):
            timer.lap("render")
            for address, (source, _, _) in files.items():
                staging.copy(address, source)
            timer.lap("copy")
            staging.commit()
            report.written = True
            report.pages, report.files = len(plans), staging.files
    finally:
        if not report.written:
            staging.abort()
    report.timings["total"] = time.perf_counter() - started
    return report


def _plan(content: Path, site: Site, report: Report) -> tuple[list[PagePlan], dict]:
    """Plan every page and copied file, and claim each address once."""
    plans = plan_pages(site.library, site.settings)
    files = _static_files(content, site)
    claims = Claims()
    for plan in plans:
        report.problems += filter(None, [claims.claim(plan.address, plan.label, plan.file)])
    for address, (_, label, file) in files.items():
        report.problems += filter(None, [claims.claim(address, label, file)])
    return plans, files


def _render_all(staging: Staging, site: Site, plans: list[PagePlan], report: Report,
                progress: Progress | None) -> bool:
    env = make_environment(site.theme, site.settings)
    context = Context(site.library, site.settings, plans)
    for done, plan in enumerate(plans, 1):
        try:
            staging.write(plan.address, render_page(env, context, plan).encode("utf-8"))
        except Exception as exc:  # a broken template of the user's theme: report it, keep no output
            report.problems.append(template_problem(exc, plan))
            return False
        if progress:
            progress("生成页面", done, len(plans))
    return True


def _static_files(content: Path, site: Site) -> dict[str, tuple[Path, str, str | None]]:
    """address → (source file, label, referring file) for everything copied as is."""
    files: dict[str, tuple[Path, str, str | None]] = {}
    for root in site.theme.static_dirs:  # later layers override earlier ones
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            files[path.relative_to(root).as_posix()] = (path, f"主题文件 {path.relative_to(root).as_posix()}", None)
    media = content / "media"
    if media.is_dir():
        for path in sorted(p for p in media.rglob("*") if p.is_file() and not p.name.startswith(".")):
            address = path.relative_to(content).as_posix()
            files[address] = (path, f"文件 {address}", None)
    for item in [*site.library.stories.values(), *site.library.pages]:
        for asset in item.assets:
            if not asset.address.startswith("media/"):
                files[asset.address] = (content / asset.source, f"{item.source} 引用的 {asset.source}", item.source)
    return files


def check_site(options: Options) -> tuple[Report, Site | None]:
    """Read, check and plan without writing anything (for `gushihui check`)."""
    report = Report()
    site = load_site(options, report)
    if site is not None:
        _plan(options.content, site, report)
    return report, site


__all__ = ["Options", "Report", "build", "check_site", "check_output"]
