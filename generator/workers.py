"""Worker processes: stories are parsed and pages rendered in parallel.

Each worker is set up once (one Markdown instance, one Jinja environment)
and then handed batches. On Linux the workers are forked, so the site they
need is inherited, not pickled. Results come back in input order, so the
output never depends on how the work was split.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .errors import Problem

Progress = Callable[[str, int, int], None]
MIN_PARALLEL = 64  # below this many items, starting workers costs more than it saves
# A rendering worker compiles the theme's templates first (about 0.1 s); a page costs
# about 0.5 ms: below this many pages one process is as fast and uses less memory.
MIN_PARALLEL_PAGES = 400
_state: dict = {}


MAX_JOBS = 61  # more processes than this only cost memory (and Windows allows no more)


def jobs_for(jobs: int | None) -> int:
    return max(1, min(MAX_JOBS, jobs or os.cpu_count() or 1))


# What a whole build may take, workers included, when --jobs is not given. A forked
# worker that renders pages reads most of the library, and so comes to hold a copy of
# most of its parent's memory (Python writes to every object it touches): a site whose
# main process is large renders with fewer workers, or in the main process alone.
MEMORY_BUDGET = 1 << 30


def render_jobs(jobs: int | None) -> int:
    """Rendering processes: --jobs when given, else one per core as long as the
    main process and its copies fit in MEMORY_BUDGET."""
    if jobs:
        return jobs_for(jobs)
    held = _resident()
    fit = (MEMORY_BUDGET - held) // held if held else MAX_JOBS
    return max(1, min(jobs_for(None), fit))


def _resident() -> int:
    """This process's resident memory in bytes (0 where /proc does not say)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


class WorkerDied(Exception):
    """A worker process ended without finishing its work (killed, out of memory)."""


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _worker_setup(setup: Callable, args: tuple) -> None:
    # Ctrl-C reaches the whole process group: the main process alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _state["worker"] = True
    setup(*args)


def run_batches(work: Callable, items: Sequence, jobs: int, setup: Callable, setup_args: tuple,
                progress: Progress | None, stage: str, min_parallel: int = MIN_PARALLEL) -> list:
    """work(batch) → list of results, for batches of items; results flattened in item order.
    WorkerDied when a worker process dies: the pool notices, so a build never hangs."""
    return list(each_result(work, items, jobs, setup, setup_args, progress, stage, min_parallel))


def each_result(work: Callable, items: Sequence, jobs: int, setup: Callable, setup_args: tuple,
                progress: Progress | None, stage: str, min_parallel: int = MIN_PARALLEL) -> Iterator:
    """`run_batches`, one result at a time as the batches come back: a caller that
    keeps only part of each result never holds all of them."""
    batch = max(1, min(200, len(items) // (jobs * 8) or 1))
    batches = [items[i:i + batch] for i in range(0, len(items), batch)]
    done = 0
    if jobs == 1 or len(items) < min_parallel:
        setup(*setup_args)
        for out in map(work, batches):
            done += len(out)
            if progress:
                progress(stage, done, len(items))
            yield from out
        return
    # What the workers inherit stays out of their collections: a collection
    # would write to every inherited object and so copy the parent's memory.
    gc.freeze()
    pool = ProcessPoolExecutor(jobs, mp_context=_context(), initializer=_worker_setup, initargs=(setup, setup_args))
    try:
        for out in pool.map(work, batches):
            done += len(out)
            if progress:
                progress(stage, done, len(items))
            yield from out
    except BrokenProcessPool as exc:
        raise WorkerDied(stage) from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


class Background:
    """`fn(*args)` in a forked process of its own while the caller goes on (the search
    index of an edited county is made while the pages are rendered); `result()` waits
    for its value. Where processes cannot be forked, or a copy of this process would not
    fit in MEMORY_BUDGET beside it (the child writes to what it reads, and so copies it:
    a province), `result()` calls it then, in this process."""

    def __init__(self, stage: str, fn: Callable, *args):
        self.stage, self._call, self._process = stage, (fn, args), None
        if _context().get_start_method() != "fork" or 2 * _resident() > MEMORY_BUDGET:
            return
        self._reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
        gc.freeze()  # as for a pool: the child's collections leave what it inherits alone
        try:
            self._process = multiprocessing.get_context("fork").Process(
                target=_background, args=(writer, fn, args), name=f"gushihui-{stage}", daemon=True)
            self._process.start()
        finally:
            gc.unfreeze()
            writer.close()

    def result(self):
        """fn's value; WorkerDied when the process died; fn's exception (from a process of
        its own: as RuntimeError, with its traceback)."""
        if self._process is None:
            fn, args = self._call
            return fn(*args)
        try:
            ok, value = self._reader.recv()
        except (EOFError, OSError):
            raise WorkerDied(self.stage) from None
        finally:
            self._reader.close()
            self._process.join()
        if not ok:
            raise RuntimeError(f"{self.stage}: {value}")
        return value

    def cancel(self) -> None:
        """Stop the process if it still runs (the build failed or was interrupted)."""
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _background(writer, fn: Callable, args: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the main process decides (see _worker_setup)
    try:
        value = (True, fn(*args))
    except Exception:  # noqa: BLE001  a bug: the main process raises it with this text
        import traceback

        value = (False, traceback.format_exc())
    writer.send(value)
    writer.close()


# Reading ------------------------------------------------------------------

def _setup_read(content: Path, settings, keep: str | None) -> None:
    _state["read"] = (content, settings, keep)


def _read_batch(paths: list[Path]) -> list:
    from .chinese import slugify, take_fresh_slugs
    from .models import StoredStory
    from .reader import read_story_file
    from .search import record_digest

    content, settings, keep = _state["read"]
    out = []
    for path in paths:
        if type(path) is tuple:  # names of the registry: their slugs (see read_stories)
            for name in path:
                slugify(name)
            out.append(take_fresh_slugs())
            continue
        story, problems, text_digest, stat = read_story_file(path, content, settings)
        key = html = indexed = None
        if story is not None:
            story.face  # noqa: B018  computed here, in parallel, and kept in the pickle (models.Story.face)
            if not story.draft:  # its search record's digest, while its text is at hand (search.shards)
                county = slugify(story.county)
                indexed = ((story.digest, story.url, county), record_digest(story, county))
        if story is not None and keep is not None:  # the body to the store, its key in the story
            key, html = f"{keep}-{story.digest}", story.html
            story = StoredStory.of(story, key)
        # The pickle the cache will keep is made here, in parallel, not again in the main process.
        blob = pickle.dumps((story, problems), protocol=pickle.HIGHEST_PROTOCOL)
        # Slugs of the names a story carries and of its headings, so the main process
        # (and the next build, through the cache) need not load pypinyin.
        for name in (story.county, story.township, *story.tags) if story else ():
            slugify(name)
        out.append((blob, text_digest, stat, take_fresh_slugs(), (key, html) if key else None, indexed))
    return out


def read_stories(paths: list[Path], content: Path, settings, jobs: int, progress: Progress | None,
                 keep: str | None = None, names: Sequence[str] = ()) -> Iterator:
    """[(pickle of (story or None, problems), digest, stat, slugs, (body key, HTML) or None, (search
    memo key, record digest) or None)] for each path, in order. The main process alone writes
    the bodies (bodies.put): two workers writing to one SQLite file wait for each other.
    `keep`: the parse fingerprint, when stories keep their bodies in the body store (bodies.py).
    `names`: names (of the registry) whose slugs the workers make too, where pypinyin is loaded
    anyway, and the main process remembers: then neither it nor a rendering worker loads it
    (about 0.3 s and 50 MB each)."""
    from .chinese import remember_slugs

    items: list = [*paths, *(tuple(names[i:i + 2000]) for i in range(0, len(names), 2000))] if paths else []
    if progress is not None:  # the stories read, not the names
        counted, progress = progress, lambda stage, done, total: counted(stage, min(done, len(paths)), len(paths))
    for result in each_result(_read_batch, items, jobs, _setup_read, (content, settings, keep), progress, "读取故事"):
        if type(result) is dict:
            remember_slugs(result)
        else:
            yield result


# Pictures -----------------------------------------------------------------

def _setup_pictures(store: Path, spec) -> None:
    _state["pictures"] = (store, spec)


def _picture_batch(items: list) -> list:
    from .images import PictureError, make

    store, spec = _state["pictures"]
    out = []
    for path, own in items:
        try:
            out.append((make(path, store, spec, own), None))
        except PictureError as exc:
            out.append((None, (exc.code, exc.message)))
    return out


def make_pictures(items: list, store: Path, spec, jobs: int, progress: Progress | None) -> list:
    """[((Source, made?) or None, (code, message) or None)] for each (path, own format?), in order.
    A picture takes a tenth of a second or more: two are worth a second process."""
    if not items:
        return []
    batch_jobs = min(jobs, len(items))
    return run_batches(_picture_batch, items, batch_jobs, _setup_pictures, (store, spec), progress, "处理图片",
                       min_parallel=2)


# Rendering ----------------------------------------------------------------

def _setup_render(site, root: Path, templates_cache: Path | None, files: dict, site_root: Path | None) -> None:
    from .render import View

    prepare_render(site, templates_cache)
    _state["render"] = (_state["env"][1], View(site.library, site.settings, files, site_root), root)


def prepare_render(site, templates_cache: Path | None) -> None:
    """This process's Jinja environment for the site's theme and settings, kept for the life
    of the process (a preview renders again and again; Jinja itself reloads a template whose
    file changed). The main process renders a preview's edits: it loads every template at
    once, which a preview asks for after its first build (rendered by workers), not during
    the first edit. A worker dies with its build: it compiles only what it uses."""
    from .render import make_environment

    key = (site.theme, site.settings, templates_cache)
    if _state.get("env", (None,))[0] != key:
        env = make_environment(site.theme, site.settings, templates_cache)
        for name in () if _state.get("worker") else env.list_templates(extensions=("html", "xml", "txt")):
            try:
                env.get_template(name)
            except Exception:  # noqa: BLE001  a broken template is reported when a page uses it
                pass
        _state["env"] = (key, env)


def _render_batch(plans: list) -> list[tuple[Problem | None, dict]]:
    """(problem or None, slugs made for it: branch anchors) for each plan."""
    from .chinese import take_fresh_slugs
    from .errors import ContentError
    from .formats import write
    from .render import template_problem

    env, view, root = _state["render"]
    out: list = []
    for plan in plans:
        try:
            data = write(env, view, plan)
        except ContentError as exc:  # the content or the machine cannot make this file (a PDF's font)
            out.append((exc.problems[0], take_fresh_slugs()))
            continue
        except Exception as exc:  # a broken template of the user's theme: report it, write nothing
            out.append((template_problem(exc, plan), take_fresh_slugs()))
            continue
        path = root / plan.address
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out.append((None, take_fresh_slugs()))
    return out


def render_pages(site, plans: list, root: Path, jobs: int, progress: Progress | None,
                 templates_cache: Path | None = None, files: dict | None = None,
                 site_root: Path | None = None) -> list[Problem]:
    """Render the plans into files below root; the problems of those that failed.
    `templates_cache`: where Jinja keeps compiled templates between builds;
    `files`: address → source of the copied files (a PDF embeds them)."""
    results = run_batches(_render_batch, plans, jobs, _setup_render,
                          (site, root, templates_cache, files or {}, site_root), progress, "生成页面",
                          min_parallel=MIN_PARALLEL_PAGES)
    from .chinese import remember_slugs

    for _, slugs in results:
        if slugs:
            remember_slugs(slugs)
    return [p for p, _ in results if p is not None]
