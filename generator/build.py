"""The orchestrator: read everything, check everything, plan, render, then
write. Nothing is written before everything is known to be right.

A first build renders everything into a staging folder and swaps it in. With
a cache from the previous build, only pages whose fingerprint changed are
rendered (into staging, then moved into place) and files no longer produced
are removed; when no input changed at all, nothing is done.
"""
from __future__ import annotations

import hashlib
import pickle
import sqlite3
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from . import __version__
from .cache import Cache, CacheError, Entry, cache_path
from .changes import rescan, scan, scan_content, signature
from .chinese import known_slugs, remember_slugs
from .config import Settings, load_settings
from .encoding import read_text
from .errors import Problem, excerpt
from .files import KINDS, publishable, unsafe_content
from .library import build_library
from .models import FreePage, Library, Story
from .output import Claims, OutputLock, Staging, read_marker, recover
from .pages import PagePlan, plan_pages
from .reader import digest, read_page, unavailable_assets
from .registry import load_registry
from .render import Theme, find_theme, make_environment, template_fingerprints
from .workers import WorkerDied, jobs_for, read_stories, render_pages

Progress = Callable[[str, int, int], None]  # (stage, done, total)
STORY_FILES = (".md", ".markdown")  # in any case: Windows users save story.MD
# Problems that stop the build even with --keep-going: nothing can be left out to mend them.
FATAL = {"E317", "E320", "E401"}
Scan = tuple[dict, dict]  # changes.scan_content: (files, links leading out of content/)


@dataclass(frozen=True)
class Options:
    content: Path = Path("content")
    out: Path = Path("output")
    drafts: bool = False
    strict: bool = False
    keep_going: bool = False
    jobs: int | None = None  #: worker processes; None means one per core
    base_url: str | None = None
    use_cache: bool = True


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    pages: int = 0  #: pages the site has
    rendered: int = 0  #: pages rendered by this build
    files: int = 0  #: files written or replaced by this build
    removed: int = 0  #: files removed because nothing produces them any more
    written: bool = False  #: the output now holds this build's site
    unchanged: bool = False  #: nothing changed since the last build: nothing was done
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
        self.report.timings[stage] = self.report.timings.get(stage, 0.0) + now - self.last
        self.last = now


def _blocking(report: Report, options: Options) -> bool:
    if any(p.code in FATAL for p in report.problems):
        return True
    return not options.keep_going and any(not p.is_warning or options.strict for p in report.problems)


def _hash(value) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=12).hexdigest()


def load_site(options: Options, report: Report, progress: Progress | None = None,
              cache: Cache | None = None, found: Scan | None = None) -> Site | None:
    """Read and check the whole site; None when it cannot be built at all.
    `found`: the scan of content/ when the caller already made one."""
    timer = _Timer(report)
    content = options.content
    files, outside = scan_content(content) if found is None else found
    report.problems += [Problem("E317", f"符号链接指向 content 目录之外的 {excerpt(target, 200)}；"
                                "请把文件本身复制进来，不要用链接", str(content / link))
                        for link, target in sorted(outside.items())]
    settings, problems = load_settings(content) if "site.toml" not in outside else (None, [])
    report.problems += problems
    # With broken settings nothing is written, but every story is still read
    # and checked (with the default standards) so that one run lists everything.
    usable = settings is not None and not any(not p.is_warning for p in problems)
    settings = settings or Settings(title="", city="", base_url="/")
    if options.base_url:
        settings = replace(settings, base_url=options.base_url.rstrip("/") + "/")
    theme, problems = find_theme(content.resolve().parent, settings.theme, str(content / "site.toml"))
    report.problems += problems
    rows, problems = load_registry(content) if "org.csv" not in outside else (None, [])
    report.problems += problems
    timer.lap("settings")
    stories = _read_stories(content, (files, outside), settings, options, report, progress, cache)
    pages: list[FreePage] = []
    for location in sorted(k for k in files if k.count("/") == 1 and _is_text(k, "pages/")):
        page, problems = read_page(content / location, content, settings, files, outside)
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


def _is_text(location: str, folder: str) -> bool:
    return location.startswith(folder) and location.lower().endswith(STORY_FILES)


def _read_stories(content: Path, found: Scan, settings: Settings, options: Options, report: Report,
                  progress: Progress | None, cache: Cache | None) -> list[Story]:
    """Every story file → Story, parsing only what the cache cannot vouch for:
    a file is unchanged when its mtime and size match, or else its text's hash."""
    try:
        return _read_stories_with(content, found, settings, options, report, progress, cache)
    except CacheError as exc:  # a cached parse that cannot be read: trust nothing in that cache
        report.problems.append(Problem("W601", f"构建缓存无效（{exc}），已丢弃，这次完整构建", str(cache.path)))
        cache.clear()
        return _read_stories_with(content, found, settings, options, report, progress, cache)


def _read_stories_with(content: Path, found: Scan, settings: Settings, options: Options, report: Report,
                       progress: Progress | None, cache: Cache | None) -> list[Story]:
    files, outside = found
    locations = sorted(k for k in files if _is_text(k, "stories/"))
    # What parsing depends on besides the text: links carry the base path, standards are resolved.
    parse_fp = _hash((__version__, str(content), settings.base_path, settings.standards))
    results: list = [None] * len(locations)
    todo: list[int] = []
    for i, location in enumerate(locations):
        entry = cache.story(location) if cache else None
        if entry and entry.parse_fp == parse_fp:
            if entry.stat == files[location]:
                results[i] = cache.result(entry)
                continue
            if _same_text(content / location, location, entry, files[location]):
                results[i] = cache.result(entry)
                cache.put_story(location, entry)  # remember the new mtime
                continue
        todo.append(i)
    fresh = read_stories([content / locations[i] for i in todo], content, settings, jobs_for(options.jobs), progress)
    for i, (blob, text_digest, stat, slugs) in zip(todo, fresh):
        results[i] = value = pickle.loads(blob)  # made by our own worker a moment ago
        remember_slugs(slugs)
        if cache is not None and text_digest:
            cache.put_story(locations[i], Entry(stat, text_digest, parse_fp, blob=blob, value=value))
    if cache is not None:
        cache.keep_only(set(locations))
    stories = []
    for story, problems in results:
        report.problems += problems
        if story is not None:
            missing = unavailable_assets(story, files, outside)
            if missing:
                report.problems += missing
            else:
                stories.append(story)
    return stories


def _same_text(path: Path, location: str, entry: Entry, stat: tuple[int, int, int]) -> bool:
    """A touched but unchanged file: same text, so the cached parse still holds."""
    text, _ = read_text(path)
    if text is None or digest(text, location) != entry.digest:
        return False
    entry.stat = stat
    return True


def build(options: Options, progress: Progress | None = None, cache: Cache | None = None,
          quick_check: bool = True, changed: Iterable[str] | None = None,
          waiting: Callable[[], None] | None = None) -> Report:
    """Build the site into options.out. The report says what happened; the
    previous output is untouched unless `report.written`.

    `cache`: the live cache of a `serve` session; by default the one beside
    the output is opened (unless options.use_cache is False) and saved.
    `quick_check`: first compare every input's stat with the last build's and
    stop when nothing changed (a watcher that saw a change skips this).
    `changed`: the files a watcher saw change since the last build with this
    cache; only those are looked at again (None: look at every file).
    `waiting`: called when another build holds the output and this one waits."""
    report = Report()
    started = time.perf_counter()
    with OutputLock(options.out, waiting):
        recover(options.out)  # what a killed build left half done
        try:
            _build_locked(options, progress, cache, quick_check, changed, report)
        except WorkerDied as exc:
            report.written = False
            report.problems.append(Problem("E603", f"“{exc}”的工作进程意外退出（可能是内存不足或被系统结束）；"
                                           f"{options.out}/ 保持原样。请重试，或用 --jobs 1"))
    report.timings["total"] = time.perf_counter() - started
    return report


def _build_locked(options: Options, progress: Progress | None, cache: Cache | None, quick_check: bool,
                  changed: Iterable[str] | None, report: Report) -> None:
    if cache is None and options.use_cache:
        cache, problems = Cache.open(cache_path(options.out))
        report.problems += problems
        remember_slugs(cache.slugs)
    found = rescan(options.content, cache, changed)
    inputs = signature(options.content, options.drafts, options.base_url, *found) \
        if cache is not None and quick_check else None
    if inputs is not None and inputs == cache.inputs and read_marker(options.out) == cache.token:
        report.unchanged = report.written = True
        report.problems += cache.warnings
        report.pages = len(cache.pages)
        return
    site = load_site(options, report, progress, cache, found)
    if site is not None:
        _build_site(options, site, found[0], cache, report, progress)
    if report.written and cache is not None:
        clean = not report.errors
        cache.inputs = inputs if clean else None
        cache.warnings = report.warnings if clean else []
        cache.slugs = known_slugs()
        try:
            cache.save()
        except (sqlite3.Error, OSError) as exc:  # the site is written; only the next build is slower
            report.problems.append(Problem("W602", f"构建缓存无法保存（{exc}）；网站已生成，下次将完整构建",
                                           str(cache.path)))


def _build_site(options: Options, site: Site, files_in: dict, cache: Cache | None, report: Report,
                progress: Progress | None) -> None:
    """Plan, check the addresses, render what changed and write it."""
    timer = _Timer(report)
    plans, files = _plan(options.content, site, report, files_in)
    timer.lap("plan")
    if _blocking(report, options):
        return
    fingerprints = _fingerprints(site, plans, cache.memo if cache is not None else {})
    sources = {address: _stat_key(source) for address, (source, _, _) in files.items()}
    todo, copies, stale = _work(options.out, cache, plans, files, fingerprints, sources)
    token = _hash((sorted(fingerprints.items()), sorted(sources.items())))
    staging = Staging(options.out)
    try:
        templates_cache = cache_path(options.out).parent / "templates" if cache is not None else None
        failed = render_pages(site, todo, staging.root, jobs_for(options.jobs), progress, templates_cache)
        timer.lap("render")
        if failed:
            report.problems += _one_per_place(failed)
            return
        for address in copies:
            staging.copy(address, files[address][0])
        if stale is None:
            staging.commit(token)
        else:
            report.removed = staging.merge(token, stale)
        timer.lap("write")
        report.written = True
        report.pages, report.rendered, report.files = len(plans), len(todo), len(todo) + len(copies)
    finally:
        if not report.written:
            staging.abort()
    if cache is not None:
        cache.pages, cache.files, cache.token = fingerprints, sources, token


def _work(out: Path, cache: Cache | None, plans: list[PagePlan], files: dict, fingerprints: dict,
          sources: dict) -> tuple[list[PagePlan], list[str], set[str] | None]:
    """(pages to render, files to copy, addresses to remove); None for the last
    means a whole new site is staged and swapped in."""
    if cache is None or not cache.token or read_marker(out) != cache.token:
        return plans, list(files), None  # no record of what the output holds: build it all
    # The marker proves the output is what the manifest says (it is its hash).
    todo = [p for p in plans if cache.pages.get(p.address) != fingerprints[p.address]]
    if len(todo) * 2 > len(plans):
        return plans, list(files), None  # moving most files one by one costs more than a swap
    copies = [a for a in files if cache.files.get(a) != sources[a]]
    stale = (set(cache.pages) | set(cache.files)) - set(fingerprints) - set(files)
    return todo, copies, stale


def _one_per_place(problems: list[Problem]) -> list[Problem]:
    """One broken template line breaks many pages: report it once, with the count."""
    first: dict[tuple, Problem] = {}
    count: dict[tuple, int] = {}
    for p in problems:
        key = (p.code, p.file, p.line)
        first.setdefault(key, p)
        count[key] = count.get(key, 0) + 1
    return [p if count[k] == 1 else replace(p, message=f"{p.message}（共 {count[k]} 个页面出错）")
            for k, p in first.items()]


def _plan(content: Path, site: Site, report: Report, files_in: dict) -> tuple[list[PagePlan], dict]:
    """Plan every page and copied file, and claim each address once."""
    plans = plan_pages(site.library, site.settings)
    files = _static_files(content, site, files_in, report)
    claims = Claims()
    for plan in plans:
        report.problems += filter(None, [claims.claim(plan.address, plan.label, plan.file)])
    for address, (_, label, file) in files.items():
        report.problems += filter(None, [claims.claim(address, label, file)])
    return plans, files


def _fingerprints(site: Site, plans: list[PagePlan], memo: dict) -> dict[str, str]:
    """address → hash of everything the page is made from: its own deps, its
    templates (with those they extend or include), and what every page shows
    (settings, the menu, our version). `memo` carries what a live preview
    already computed: an equal plan under equal templates has the same hash."""
    key = tuple(sorted((str(d), name, stat) for d in site.theme.template_dirs for name, stat in scan(d).items()))
    if memo.get("templates", (None,))[0] != key:
        memo["templates"] = (key, template_fingerprints(make_environment(site.theme, site.settings)))
    templates = memo["templates"][1]
    menu = [(p.slug, p.title, p.menu) for p in site.library.pages if p.menu is not None]
    common = _hash((__version__, site.settings, menu))
    # Keyed by the plan object itself: story plans are reused between a preview's
    # builds (pages._story_plan), so most lookups need no hashing at all.
    known, fresh, result = memo.get("pages", {}), {}, {}
    for p in plans:
        template = templates.get(p.template)
        entry = known.get(id(p))
        if entry is not None and entry[0] is p and entry[1] == common and entry[2] == template:
            fp = entry[3]
        else:
            fp = _hash((common, template, p.kind, p.key, p.number, p.items, p.deps))
        fresh[id(p)] = (p, common, template, fp)
        result[p.address] = fp
    memo["pages"] = fresh
    return result


def _stat_key(path: Path) -> tuple[str, int, int, int]:
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size, stat.st_ctime_ns


def _static_files(content: Path, site: Site, files_in: dict,
                  report: Report) -> dict[str, tuple[Path, str, str | None]]:
    """address → (source file, label, referring file) for everything copied as
    is: the theme's static files (trusted), then media/ and the files stories
    refer to, limited to publishable types and safe SVGs."""
    files: dict[str, tuple[Path, str, str | None]] = {}
    for root in site.theme.static_dirs:  # later layers override earlier ones
        for address in sorted(scan(root)):
            files[address] = (root / address, f"主题文件 {address}", None)
    for address in sorted(k for k in files_in if k.startswith("media/")):
        if publishable(address):
            files[address] = (content / address, f"文件 {address}", None)
        else:
            report.problems.append(Problem("W319", f"这种文件不能发布，没有复制；只能发布{KINDS}", str(content / address)))
    for item in [*site.library.stories.values(), *site.library.pages]:
        for asset in item.assets:
            if not asset.address.startswith("media/"):
                files[asset.address] = (content / asset.source, f"{item.source} 引用的 {asset.source}", item.source)
    for address, (source, _, _) in files.items():
        why = unsafe_content(source) if source.is_relative_to(content) else None
        if why:
            report.problems.append(Problem("E320", f"这个 SVG 图片{why}，不能发布；请用图像软件另存为 PNG，"
                                           "或删去其中的脚本和外部引用", str(source)))
    return files


def check_site(options: Options) -> tuple[Report, Site | None]:
    """Read, check and plan without writing anything (for `gushihui check`)."""
    report = Report()
    found = scan_content(options.content)
    site = load_site(options, report, found=found)
    if site is not None:
        _plan(options.content, site, report, found[0])
    return report, site
