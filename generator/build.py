"""The orchestrator: read everything, check everything, plan, render, then
write. Nothing is written before everything is known to be right.

    lock the output, finish what a killed build left (output.recover)
    scan content/ ─► nothing changed since the last build? stop
    settings, theme, registry ─► stories and pages (reading.py) ─► library
    pictures (images.py) ─► the search index, one shard per county (search.py)
    plan every kind of page (kinds/) and every copied file (files.py); claim each address once
    fingerprints ─► what to render and copy (incremental.py)
    render into a staging folder (workers.py) ─► swap it in or move it in (output.py)
    save the cache (session.py, cache.py)
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field, fields, replace
from itertools import chain
from pathlib import Path
from typing import Callable, Iterable

from . import search
from .blind import write_key, write_packet
from .cache import Cache, cache_path
from .changes import rescan, scan, scan_content, signature
from .chinese import known_slugs, remember_slugs
from .config import Settings, load_settings
from .errors import Problem, UsageError, did_you_mean, excerpt
from .files import Copies, pictures_used, static_files
from .images import Published, prune
from .images import check as check_pictures
from .images import publish as publish_images
from .incremental import choose, file_stat, fingerprints, one_per_place, pages_to_render
from .kinds import plan_pages
from .library import build_library, only_county
from .models import Library, Story
from .output import OutputLock, Staging, claim, mark_collection, read_marker, recover
from .pictures import publish as publish_pictures
from .plan import PagePlan
from .reader import parse_preface, parse_showcase
from .reading import Scan, read_all_pages, read_all_stories, read_ratings, read_registry
from .render import Theme, find_theme, make_environment
from .session import Session
from .workers import Background, WorkerDied, jobs_for, prepare_render, render_jobs, render_pages

Progress = Callable[[str, int, int], None]  # (stage, done, total)
# Problems that stop the build even with --keep-going: nothing can be left out to mend them.
FATAL = {"E317", "E320", "E401", "E505"}


@dataclass(frozen=True)
class Options:
    """What a build is asked to do. Every field shapes the output, and so the
    quick "nothing changed" check, unless its metadata says output=False."""

    content: Path = Path("content")
    out: Path = field(default=Path("output"), metadata={"output": False})  # the cache lives beside it
    drafts: bool = False
    strict: bool = False
    keep_going: bool = False
    jobs: int | None = field(default=None, metadata={"output": False})  #: worker processes; None: one per core
    base_url: str | None = None
    pdf: bool = False  #: also write each anthology as a PDF
    county: str | None = None  #: build this county's own site (a name or a slug)
    all_counties: bool = False  #: build every county's own site, each into out/<slug>/
    blind: bool = False  #: write a blind-review packet instead of a site (blind.py)
    use_cache: bool = field(default=True, metadata={"output": False})
    #: the preview: search shards whose stories changed are made after the pages are written,
    #: by the caller (Report.search.pending, search.make_pending); until then the last ones stand in
    index_later: bool = field(default=False, metadata={"output": False})

    def shaping(self) -> tuple:
        """The fields that shape the output, for the inputs' signature."""
        return tuple((f.name, str(getattr(self, f.name))) for f in fields(self) if f.metadata.get("output", True))


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    pages: int = 0  #: pages the site has
    rendered: int = 0  #: pages rendered by this build
    images: int = 0  #: pictures processed by this build (the others were found in the image store)
    files: int = 0  #: files written or replaced by this build
    removed: int = 0  #: files removed because nothing produces them any more
    written: bool = False  #: the output now holds this build's site
    unchanged: bool = False  #: nothing changed since the last build: nothing was done
    timings: dict[str, float] = field(default_factory=dict)
    search: search.Index | None = None  #: the site's search index: what was made, what is left for later

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.is_warning]

    def blocking(self, options: Options) -> bool:
        """Nothing may be written: a fatal problem, or any error without --keep-going."""
        if any(p.code in FATAL for p in self.problems):
            return True
        return not options.keep_going and any(not p.is_warning or options.strict for p in self.problems)


@dataclass(frozen=True)
class Site:
    """Everything read and checked, ready to be planned and rendered."""

    settings: Settings
    theme: Theme
    library: Library
    county: str | None = None  #: a standalone county site's county
    read: tuple[Story, ...] = field(default=(), repr=False, compare=False)  #: every story read, drafts too (`_rate`)


class _Timer:
    def __init__(self, report: Report):
        self.report, self.last = report, time.perf_counter()

    def skip(self) -> None:
        """Start the next lap now: what came since the last one was timed by another timer."""
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.report.timings[stage] = self.report.timings.get(stage, 0.0) + now - self.last
        self.last = now


def load_site(options: Options, report: Report, session: Session, progress: Progress | None = None,
              found: Scan | None = None) -> Site | None:
    """Read and check the whole site, the judges' scores too; None when it cannot be built at
    all. `found`: the scan of content/ when the caller already made one."""
    found = scan_content(options.content) if found is None else found
    site = _load_library(options, report, session, progress, found)
    return _rate(options, site, report, session, found) if site is not None else None


def _load_library(options: Options, report: Report, session: Session, progress: Progress | None,
                  found: Scan) -> Site | None:
    """`load_site` but the ratings (`_rate` adds them; where nothing can be built, their
    problems are listed here, so that one run lists every problem)."""
    timer = _Timer(report)
    content = options.content
    files, outside = found
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
    registry, problems = session.last("registry", (str(content.resolve()), files.get("org.csv")),
                                      lambda: read_registry(content, files, session.cache)) \
        if "org.csv" not in outside else (None, [])
    report.problems += problems
    timer.lap("settings")
    names = [n for r in registry.rows for n in (r.county, r.township, r.branch)] if registry else []
    stories, problems = read_all_stories(content, found, settings, jobs_for(options.jobs), progress, session.cache,
                                         names)
    report.problems += problems
    pages, problems = read_all_pages(content, found, settings)
    report.problems += problems
    prefaces, problems = read_all_pages(content, found, settings, "anthologies/", 2, parse_preface)
    report.problems += problems
    showcases, problems = read_all_pages(content, found, settings, "showcases/", 1, parse_showcase)
    report.problems += problems
    timer.lap("read")
    library, problems = build_library(registry, stories, pages, options.drafts, str(content / "org.csv"), session,
                                      prefaces, showcases)
    report.problems += problems
    slugs = {c.slug: c.name for c in library.counties}
    report.problems += [Problem("W105", f"[counties.{excerpt(slug)}] 不是名册里任何一个县的拼音"
                                f"{did_you_mean(slug, slugs)}；它的 base_url 不会用到", str(content / "site.toml"))
                        for slug, _ in settings.county_urls if slug not in slugs]
    timer.lap("library")
    if theme is None or not usable:
        _ratings(options, settings, tuple(stories), report, session, files)
        return None
    return Site(settings, theme, library, read=tuple(stories))


def _rate(options: Options, site: Site, report: Report, session: Session, found: Scan) -> Site:
    """The site with the results of the judges' scores (ratings.py) in its library."""
    timer = _Timer(report)
    ratings = _ratings(options, site.settings, site.read, report, session, found[0])
    timer.lap("ratings")
    return replace(site, library=replace(site.library, ratings=ratings))


def _ratings(options: Options, settings: Settings, stories: tuple[Story, ...], report: Report, session: Session,
             files: dict):
    # A preview keeps the results in memory; a new process finds them in the cache (reading.read_ratings).
    key = (files.get("ratings/judges.csv"), files.get("ratings/scores.csv"), settings.rating,
           tuple([s.place for s in stories]))  # what rating reads of each (id, county, township, draft) and more
    ratings, problems = session.last("ratings", key, lambda: read_ratings(options.content, files, list(stories),
                                                                         settings.rating, session.cache))
    report.problems += problems
    return ratings


def build(options: Options, progress: Progress | None = None, session: Session | None = None,
          quick_check: bool = True, changed: Iterable[str] | None = None,
          waiting: Callable[[], None] | None = None, save: bool = True) -> Report:
    """Build the site into options.out. The report says what happened; the
    previous output is untouched unless `report.written`.

    `session`: a live preview's, kept between its builds; by default a new one
    with the cache beside the output (none with options.use_cache False).
    `quick_check`: first compare every input's stat with the last build's and
    stop when nothing changed (a watcher that saw a change skips this).
    `changed`: the files a watcher saw change since the last build of this
    session; only those are looked at again (None: look at every file).
    `waiting`: called when another build holds the output and this one waits.
    `save` False: the caller saves the session's cache later (`save_cache`): a
    preview reloads the browser first."""
    report = Report()
    started = time.perf_counter()
    with OutputLock(options.out, waiting):
        recover(options.out)  # what a killed build left half done
        if session is None:
            session, report.problems = Session.open(options.out, options.use_cache)
        try:
            if options.blind:
                _build_blind(options, progress, session, report)
            elif options.all_counties:
                _build_all_counties(options, progress, session, report)
            else:
                _build_locked(options, progress, session, quick_check, changed, report, save)
        except WorkerDied as exc:
            report.written = False
            report.problems.append(Problem("E603", f"“{exc}”的工作进程意外退出（可能是内存不足或被系统结束）；"
                                           f"{options.out}/ 保持原样。请重试，或用 --jobs 1"))
    report.timings["total"] = time.perf_counter() - started
    return report


def _build_locked(options: Options, progress: Progress | None, session: Session, quick_check: bool,
                  changed: Iterable[str] | None, report: Report, save: bool) -> None:
    cache = session.cache
    if cache is not None:
        remember_slugs(cache.slugs)
    session.scan = found = rescan(options.content, session.scan, changed)
    inputs = signature(options.content, options.shaping(), *found) if cache is not None and quick_check else None
    if inputs is not None and inputs == cache.inputs and read_marker(options.out) == cache.token:
        report.unchanged = report.written = True
        report.problems += cache.warnings
        report.pages = len(cache.pages)
        return
    site = _load_library(options, report, session, progress, found)
    if site is not None and options.county:
        site = county_site(options, site, report)
    if site is not None:
        _build_site(options, site, found, session, report, progress, rated=False)
    if report.written and cache is not None:
        clean = not report.errors
        cache.inputs = inputs if clean else None
        cache.warnings = report.warnings if clean else []
        cache.slugs = known_slugs()
        if save:
            report.problems += save_cache(cache)


def save_cache(cache: Cache) -> list[Problem]:
    """The cache written for the next build; W602 when it cannot be."""
    try:
        cache.save()
    except (sqlite3.Error, OSError) as exc:  # the site is written; only the next build is slower
        return [Problem("W602", f"构建缓存无法保存（{exc}）；网站已生成，下次将完整构建", str(cache.path))]
    return []


def _build_blind(options: Options, progress: Progress | None, session: Session, report: Report) -> None:
    """The blind-review packet into out/, its key beside it (blind.py); nothing else."""
    site = load_site(options, report, session, progress)
    if site is None or report.blocking(options):
        return
    staging = Staging(options.out)
    try:
        env = make_environment(site.theme, site.settings)
        key = write_packet(list(site.library.stories.values()), options.content, staging.root, env, site.settings)
        staging.commit("")
        write_key(options.out, key)
        report.written, report.pages = True, len(key) - 1
    finally:
        if not report.written:
            staging.abort()


def _build_all_counties(options: Options, progress: Progress | None, session: Session, report: Report) -> None:
    """Every county's own site in out/<slug>/: the sources are read and the
    stories parsed once (with the cache beside out), then each county is
    planned, rendered and written like a site of its own, with its own
    manifest (out/.gushihui-cache/<slug>.sqlite) and marker."""
    session.scan = found = rescan(options.content, session.scan, None)
    site = load_site(options, report, session, progress, found)
    if site is None:
        return
    options.out.mkdir(parents=True, exist_ok=True)
    written = []
    for county in site.library.counties:
        one = replace(options, out=options.out / county.slug, county=county.name, all_counties=False)
        one_site = county_site(one, site, report)
        if one_site is None:
            return
        recover(one.out)
        part, (own, problems) = Report(), Session.open(one.out, options.use_cache)
        report.problems += problems
        _build_site(one, one_site, found, own, part, progress)
        report.problems += [p for p in part.problems if p not in report.problems]
        if not part.written:
            return
        written.append(part)
        if own.cache is not None:
            own.cache.save()
    report.written = True
    report.pages, report.rendered = sum(p.pages for p in written), sum(p.rendered for p in written)
    report.files, report.removed = sum(p.files for p in written), sum(p.removed for p in written)
    indexes = [p.search for p in written if p.search is not None]
    report.search = search.Index(made=[slug for i in indexes for slug in i.made], seconds=sum(i.seconds for i in indexes))
    mark_collection(options.out)
    if session.cache is not None:  # the story parses, for the next run
        session.cache.slugs = known_slugs()
        session.cache.save()


def _build_site(options: Options, site: Site, scan: Scan, session: Session, report: Report,
                progress: Progress | None, rated: bool = True) -> None:
    """Make the search index and the pictures, plan, check the addresses, render what changed
    and write it. `rated` False: the judges' scores are read here, while the index is made
    (it needs the stories alone; their text is the same before the pictures are put in)."""
    found = scan[0]
    timer = _Timer(report)
    store, kept = side_store(options.out, "images", session.cache is not None)
    index_store, _ = side_store(options.out, "search", kept)
    making: Background | None = None
    try:
        index, making, finish = _search(options, site, session, index_store, report)
        report.search = index
        timer.lap("search")
        if not rated:
            site = _rate(options, site, report, session, scan)
            timer.skip()  # _rate timed itself
        site, published = _pictures(options, site, found, session, store, report, progress)
        timer.lap("images")

        def later() -> Copies:  # the search index, made meanwhile in a process of its own
            nonlocal index
            if finish is None:
                return {}
            index = report.search = finish()
            report.problems += index.problems
            return index.files

        made = published.files if finish is not None else {**published.files, **index.files}
        _write_site(options, site, found, session, report, progress, made, (store, index_store), later)
    finally:
        if making is not None:
            making.cancel()
        if not kept:
            shutil.rmtree(store, ignore_errors=True)
            shutil.rmtree(index_store, ignore_errors=True)
    if report.written and kept:
        prune(store, published.names)
        search.prune(index_store, index.keep())


def side_store(out: Path, kind: str, keep: bool = True) -> tuple[Path, bool]:
    """Where the files made for an output (`kind`: images, search) are kept
    between builds, and whether they are: without a cache (or where none can
    be made) a temporary folder beside the output, removed after the build."""
    if keep:
        store = cache_path(out).parent / f"{out.name}.{kind}"
        try:
            store.mkdir(parents=True, exist_ok=True)
            return store, True
        except OSError:
            pass  # the cache's own warning (W602) says the next build will be slower
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent)), False


def _pictures(options: Options, site: Site, found: dict, session: Session, store: Path, report: Report,
              progress: Progress | None) -> tuple[Site, Published]:
    """Every picture the site shows, made or found in the store; the library
    with its HTML pointing at them (pictures.py)."""
    lib = site.library
    uses = pictures_used(found, lib.texts(), all_media=site.county is None)
    known = session.cache.images if session.cache is not None else session.table("image-sources")
    published = publish_images(options.content, found, uses, site.settings.images, store, known,
                               jobs_for(options.jobs), progress)
    report.problems += published.problems
    report.images = published.made
    return replace(site, library=publish_pictures(lib, published.pictures, session.table("pictures"))), published


def _search(options: Options, site: Site, session: Session, store: Path,
            report: Report) -> tuple[search.Index, Background | None, Callable[[], search.Index] | None]:
    """The site's search index: each county's shard found in the store or made (search.py).
    The shards to make are made in a process of their own while the pages are planned and
    rendered: `finish()` waits for them and gives the whole index (None: nothing to make, or
    the preview, which makes them after the pages are written)."""
    memo = session.cache.search if session.cache is not None else session.table("search-records")
    shards = search.shards(site.library, memo)
    jobs = jobs_for(options.jobs)
    if options.index_later:
        index = search.publish(shards, store, now=False, jobs=jobs)  # the last shards stand in
        report.problems += index.problems
        return index, None, None
    todo = search.missing(shards, store)  # the process is started before anything else is looked at
    report.problems += todo.problems
    if not todo.pending:
        return search.publish(shards, store, jobs=jobs), None, None
    making = Background("生成搜索索引", search.make_pending, todo, jobs)

    def finish() -> search.Index:
        # The shards already in the store are listed while the process still works (the lists are
        # kept: search._copies), so that once it is done only the new ones are.
        search.publish({slug: shard for slug, shard in shards.items() if slug not in todo.pending}, store,
                       jobs=jobs, done=search.Index(store))
        return search.publish(shards, store, jobs=jobs, done=making.result())

    return todo, making, finish


def _write_site(options: Options, site: Site, found: dict, session: Session, report: Report,
                progress: Progress | None, made: Copies, stores: tuple[Path, ...],
                later: Callable[[], Copies]) -> None:
    """`made`: the files made into `stores` (the pictures) to publish besides the copied ones;
    `later()`: more of them (the search index), asked for once the pages are rendered."""
    timer = _Timer(report)
    plans, files = _plan(options, site, report, found, session, made)
    timer.lap("plan")
    if report.blocking(options):
        return
    cache = session.cache
    pages = fingerprints(site.theme, site.settings, site.library, plans, session)
    chosen = pages_to_render(options.out, cache, plans, pages)
    staging = Staging(options.out)
    try:
        templates_cache = cache_path(options.out).parent / "templates" if cache is not None else None
        sources_of = {address: source for address, (source, _, _) in files.items()}
        failed = render_pages(site, chosen[0], staging.root, render_jobs(options.jobs), progress, templates_cache,
                              sources_of, options.content.resolve().parent)
        if options.index_later:  # a preview: its edits are rendered here, the first one too
            prepare_render(site, templates_cache)
        timer.lap("render")
        if failed:
            report.problems += one_per_place(failed)
            return
        more = later()
        if more:
            made, files = {**made, **more}, {**files, **more}
            report.problems += [p for p in claim(_wanted(plans, files)) if p not in report.problems]
        if report.blocking(options):  # a shard that could not be made (E505), an address taken twice
            return
        # A made file is named by what it was made from: its name in its store is its identity.
        names: dict[str, str] = {}  # address → the made file's name in its store
        for prefix in (f"{store}{os.sep}" for store in stores):
            names.update({address: path[len(prefix):] for address, (source, _, _) in made.items()
                          if (path := str(source)).startswith(prefix)})
        sources = {address: (name,) if (name := names.get(address)) is not None else file_stat(source)
                   for address, (source, _, _) in files.items()}
        work = choose(options.out, cache, plans, files, pages, sources, chosen)
        for address in work.copies:
            source = files[address][0]
            staging.copy(address, source, link=names.get(address) is not None)
        if work.stale is None:
            staging.commit(work.token)
        else:
            report.removed = staging.merge(work.token, work.stale)
        timer.lap("write")
        report.written = True
        report.pages, report.rendered, report.files = len(plans), len(work.pages), len(work.pages) + len(work.copies)
    finally:
        if not report.written:
            staging.abort()
    if cache is not None:
        cache.pages, cache.files, cache.token = pages, sources, work.token


def _plan(options: Options, site: Site, report: Report, found: dict,
          session: Session, made: Copies | None = None) -> tuple[list[PagePlan], Copies]:
    """Plan every page and copied file (`made`: the made ones), and claim each address once."""
    content = options.content
    plans = plan_pages(site.library, site.settings, session, frozenset({"pdf"} if options.pdf else ()), site.county)
    theme_files = {address: root / address for root in site.theme.static_dirs  # later layers override
                   for address in sorted(scan(root))}
    files, problems = static_files(content, theme_files, found, site.library.texts(), all_media=site.county is None)
    files.update(made or {})
    report.problems += problems
    report.problems += claim(_wanted(plans, files))
    return plans, files


def _wanted(plans: list[PagePlan], files: Copies) -> Iterable[tuple[str, str, str | None]]:
    """Every output address with what wants it (for `output.claim`)."""
    return chain(((p.address, p.label, p.file) for p in plans),
                 ((address, label, file) for address, (_, label, file) in files.items()))


def county_site(options: Options, site: Site, report: Report) -> Site | None:
    """The site of one county alone: its library, its own address (--base-url,
    else [counties.<slug>] base_url, else the city's address + <slug>/), and
    the theme and colour its showcase names. UsageError for an unknown county."""
    lib, wanted = site.library, options.county
    county = next((c for c in lib.counties if wanted in (c.name, c.slug)), None)
    if county is None:
        names = [c.name for c in lib.counties]
        raise UsageError(f"组织名册里没有“{excerpt(wanted)}”{did_you_mean(wanted, names) or '；可选：' + '、'.join(names)}",
                         "--county")
    showcase = lib.showcases.get(county.name)
    url = options.base_url or dict(site.settings.county_urls).get(county.slug) or \
        f"{site.settings.base_url}{county.slug}/"
    settings = replace(site.settings, title=f"{county.name}党建好故事", base_url=url.rstrip("/") + "/",
                       theme=showcase.theme if showcase and showcase.theme else site.settings.theme,
                       accent=showcase.accent if showcase else "")
    theme = site.theme
    if settings.theme != site.settings.theme:
        theme, problems = find_theme(options.content.resolve().parent, settings.theme, showcase.source)
        report.problems += problems
        if theme is None:
            return None
    return Site(settings, theme, only_county(lib, county.name), county.name, site.read)


def check_site(options: Options) -> tuple[Report, Site | None]:
    """Read, check and plan without writing anything (for `gushihui check`).
    Story parses come from the cache of options.out when it has them; the
    cache is never written. UsageError for an unknown options.county."""
    report = Report()
    session, problems = Session.open(options.out, options.use_cache and cache_path(options.out).exists(), writable=False)
    if session.cache is not None:
        remember_slugs(session.cache.slugs)  # pypinyin need not load
    found = scan_content(options.content)
    site = load_site(options, report, session, found=found)
    if site is not None and options.county:
        site = county_site(options, site, report)
    if site is not None:
        uses = pictures_used(found[0], site.library.texts(), all_media=site.county is None)
        known = session.cache.images if session.cache is not None else {}
        report.problems += check_pictures(options.content, found[0], uses, site.settings.images, known)
        _plan(options, site, report, found[0], session)
    return report, site
