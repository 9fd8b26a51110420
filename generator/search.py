"""Site search without a server: every published story as a record, one index per county in
Pagefind's format, kept in a store beside the output; the search page merges them in the
reader's browser with Pagefind's own JavaScript (docs/search.md).

    library ─► one shard per county: its published stories (drafts never), a digest per record
      ─► shard in the store? reuse it : `bundle` writes its index files from the records
         (numpy; Pagefind's binary gives pagefind.js and the WebAssembly, once per version)
      ─► the shard's files listed as made files, under search/pagefind/<county-slug>/

Chinese has no spaces, and a word segmenter at index time does not agree with
the browser's at search time, so every Chinese character (and full-width
sign) of the indexed text stands alone, a space on each side, while Latin
words and numbers stay whole. The search page cuts a query the same way and
looks each phrase up exactly, character after character: a story matches
when it holds the phrase as it was typed, as the browser's own Find would.

Pagefind's own indexer takes three times as long over such text, so it indexes
the records (written as small pages) only where numpy is missing. Pagefind
cannot add to an index: a shard is made again, whole, when the records of its
county change, and only then; the store keeps it under the hash of those
records, Pagefind's version and ours.
"""
from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .chinese import format_date
from .config import Settings
from .errors import Problem, excerpt
from .files import Copies
from .models import Library, Story

URL = "search/"  #: the search page
BUNDLE = "search/pagefind/"  #: one folder per shard below it, named by the county's slug
FORMAT = "2"  #: bump when the records or the way they are written change: every shard is made again
# The index's language: none Pagefind would segment or stem (see `cut`).
LANGUAGE = "und"
# Pagefind's own search interfaces: the search page has its own (themes/default/static/js/search.js).
UNUSED = ("pagefind-ui.", "pagefind-component-ui.", "pagefind-modular-ui.", "pagefind-highlight.")
LABEL = "站内搜索索引"

_BLOCK = re.compile(r"</?(?:p|h[1-6]|li|ul|ol|dl|dt|dd|blockquote|pre|table|thead|tbody|tr|td|th|caption|div|"
                    r"figure|figcaption|section|article|aside|details|summary|br|hr)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_ENDS = tuple("。！？；：…”’」』）》!?;:.)")
_WIDE = re.compile(r"[^\x00-\x7f\u00c0-\u024f]+")  # not ASCII nor an accented Latin letter


def token(kind: str, value: str) -> str:
    """A filter as a word the index holds in a record's meta (not in its text, so never in an
    excerpt): the search page looks it up exactly, as it does a phrase, e.g. gsh_county_yun_he_xian
    (js/search.js `token` makes the same). Pagefind's own filters are not used: it writes their
    files in a different order on every run, and a build must give the same bytes every time."""
    return f"gsh_{kind}_{value.replace('-', '_')}"


@dataclass(frozen=True)
class Record:
    """What the index holds of one story: what a reader may search for, and what a result shows."""

    url: str  #: the story's address below the site root, e.g. stories/fuyun-map/
    title: str
    place: str  #: 云和县 · 浮云街道 · 中山村党支部
    date: str  #: as shown: 2017年3月15日
    day: str  #: for sorting: 2017-03-15
    filters: tuple[str, ...]  #: the tokens of its county, standard and year
    text: tuple[str, ...]  #: the body, paragraph by paragraph, as plain text
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def page(self) -> str:
        """The record as the small HTML page Pagefind reads: meta and sort key in attributes,
        the searchable text cut into characters."""
        a = lambda value: html.escape(value, quote=True)  # noqa: E731
        t = lambda value: html.escape(cut(value), quote=False)  # noqa: E731
        lines = [f'<!doctype html><html lang="{LANGUAGE}"><head><meta charset="utf-8"><title></title></head>',
                 "<body data-pagefind-body>",
                 f'<i data-pagefind-meta="title[data-v]" data-v="{a(self.title)}"></i>',
                 f'<i data-pagefind-meta="place[data-v]" data-v="{a(self.place)}"></i>',
                 f'<i data-pagefind-meta="date[data-v]" data-v="{a(self.date)}"></i>',
                 f'<i data-pagefind-meta="filters[data-v]" data-v="{a(" ".join(self.filters))}"></i>',
                 f'<i data-pagefind-sort="date[data-v]" data-v="{a(self.day)}"></i>']
        # The title last: an excerpt starts in the text, not with the title the result shows anyway.
        blocks = [*self.text, self.place, "、".join(self.authors), "、".join(self.tags)]
        lines += [f"<p>{t(ended(b))}</p>" for b in blocks if b]
        lines.append(f"<h1>{t(ended(self.title))}</h1>")
        return "\n".join(lines + ["</body></html>\n"])


def cut(text: str) -> str:
    """Each wide character (Chinese, full-width signs) on its own, a space on either side;
    Latin words and numbers as they are. js/search.js cuts a query alike (`cut`) and takes
    those spaces out of the excerpts it shows."""
    return _WIDE.sub(lambda run: f" {' '.join(run.group())} ", text)


def ended(block: str) -> str:
    """A block as a sentence: Pagefind joins blocks with nothing between them."""
    return block if block.endswith(_ENDS) else f"{block}。"


def paragraphs(story_html: str) -> tuple[str, ...]:
    """A story's sanitized HTML as plain paragraphs: block elements end one, inline markup goes."""
    found = []
    for part in _BLOCK.split(story_html):
        text = " ".join(html.unescape(_TAG.sub("", part)).split())
        if text:
            found.append(text)
    return tuple(found)


def record(story: Story, county: str) -> Record:
    """`county`: the county's slug."""
    filters = (token("county", county), token("year", str(story.date.year)),
               *((token("standard", story.standard),) if story.standard else ()))
    return Record(story.url, story.title, f"{story.county} · {story.township} · {story.branch}",
                  format_date(story.date), story.date.isoformat(), filters, paragraphs(story.html),
                  story.authors, story.tags)


def record_digest(story: Story, county: str) -> str:
    """What search.shards keeps of a story's record between builds (`county`: its slug)."""
    return _digest(record(story, county))


def _digest(value) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class Shard:
    """One county's part of the index: its published stories and the digest of each one's record."""

    slug: str  #: the county's
    stories: tuple[Story, ...]  #: in display order
    digests: tuple[str, ...]  #: of each story's record

    def records(self) -> tuple[Record, ...]:
        return tuple(record(story, self.slug) for story in self.stories)

    def fingerprint(self, tool: str) -> str:
        """Names the shard in the store: its records, Pagefind's version, ours."""
        return _digest((FORMAT, tool, LANGUAGE, self.digests))


def shards(library: Library, memo: dict) -> dict[str, Shard]:
    """county slug → its shard, for every county with a published story. Drafts are never
    indexed, not even in the preview (which shows them). `memo`: (story digest, address,
    county slug) → record digest, kept by the cache between builds, so that a record is made
    only for a story that changed; left holding only this library's stories."""
    slug_of = {c.name: c.slug for c in library.counties}
    found: dict[str, tuple[list[Story], list[str]]] = {}
    known, used = memo.get, {}
    for story in library.stories.values():
        if story.draft:
            continue
        slug = slug_of[story.county]
        key = (story.digest, story.url, slug)
        digest = known(key)
        if digest is None:
            digest = record_digest(story, slug)
        used[key] = digest
        items = found.get(slug) or found.setdefault(slug, ([], []))
        items[0].append(story)
        items[1].append(digest)
    memo.clear()
    memo.update(used)
    return {slug: Shard(slug, tuple(items), tuple(digests)) for slug, (items, digests) in found.items()}


@dataclass(frozen=True)
class Facets:
    """What the search page offers to filter by, each as (value, label), and the shards it merges.
    A value is what `token` makes a word of: a county's slug, a standard's id, a year."""

    shards: tuple[str, ...]  #: county slugs, in registry order
    counties: tuple[tuple[str, str], ...]
    standards: tuple[tuple[str, str], ...]  #: in the settings' order
    years: tuple[tuple[str, str], ...]  #: newest first


def facets(library: Library, settings: Settings) -> Facets:
    """The counties, standards and years of the published stories (cheap: no text)."""
    published = [s for s in library.stories.values() if not s.draft]
    names = {s.county for s in published}
    counties = [c for c in library.counties if c.name in names]
    used = {s.standard for s in published}
    years = sorted({s.date.year for s in published}, reverse=True)
    return Facets(tuple(c.slug for c in counties), tuple((c.slug, c.name) for c in counties),
                  tuple((s.id, s.name) for s in settings.standards if s.id in used),
                  tuple((str(y), f"{y}年") for y in years))


# -- the binary ------------------------------------------------------------------------------------

def executable() -> Path | None:
    """Pagefind's binary: PAGEFIND_BINARY_PATH, as Pagefind's own wrappers honour it, else the
    one pip installed with pagefind[extended]."""
    if os.environ.get("PAGEFIND_BINARY_PATH"):
        found = Path(os.environ["PAGEFIND_BINARY_PATH"])
    else:
        try:
            from pagefind_bin_extended import get_executable

            found = Path(get_executable())
        except (ImportError, OSError):
            return None
    return found if found.is_file() else None


@functools.cache
def _version(binary: str, stat: tuple) -> str:
    try:
        return subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def version(binary: Path) -> str:
    """`pagefind --version` (memoised per binary file): part of every shard's fingerprint."""
    stat = binary.stat()
    return _version(str(binary), (stat.st_mtime_ns, stat.st_size))


# -- the store -------------------------------------------------------------------------------------
#
#   <store>/objects/<hash of the bytes>      every file of every shard, once
#   <store>/<slug>-<fingerprint>.json        a shard: its stories' addresses and {file: hash};
#                                            written last, so its existence means the shard is complete
#   <store>/.tmp-*                           a shard being made
#
# A file's name in the store is the hash of its bytes, and build.py takes a made file's name for
# its identity: when a county is indexed again, only the files whose bytes changed are written
# into the site (most fragments, pagefind.js and the WebAssembly stay as they are).

OBJECTS = "objects"


@dataclass
class Index:
    """The search index of one build: its files, and what was done or is left to do."""

    store: Path | None = None  #: where the shards are kept
    files: Copies = field(default_factory=dict)  #: output address → (file in the store, label, None)
    used: dict[str, str] = field(default_factory=dict)  #: county slug → the shard it publishes (store name)
    pending: dict[str, tuple[str, Shard]] = field(default_factory=dict)  #: slug → (its store name, the shard)
    made: list[str] = field(default_factory=list)  #: county slugs indexed by this build
    stories: int = 0  #: stories the records hold
    seconds: float = 0.0  #: spent making shards
    problems: list[Problem] = field(default_factory=list)

    runtime: str | None = None  #: the store name of Pagefind's runtime files (`runtime`)

    def keep(self) -> set[str]:
        """The shards a prune must leave: those in use, those being made for later, the runtime."""
        return set(self.used.values()) | {name for name, _ in self.pending.values()} | \
            ({self.runtime} if self.runtime else set())


def publish(shards: dict[str, Shard], store: Path, now: bool = True, jobs: int = 1,
            done: Index | None = None) -> Index:
    """The index of `shards` from `store`, each shard made there first unless it is there already.
    `now` False (the preview): a shard that is not there is left for later (`Index.pending`,
    see `make_pending`); meanwhile its previous version stands in as long as every story it
    holds is still published (so a story that became a draft is never found), else none does.
    `done`: what a `make_pending` of those made meanwhile (a build: while its pages were
    rendered) reports; nothing is made now, and a shard it could not make is left out."""
    index, wanted, todo = _wanted(shards, store)
    if not wanted:
        return index
    if done is not None:
        index.made, index.seconds = done.made, done.seconds
        index.problems += done.problems
    elif now:
        index.problems += make(todo, store, None, jobs, index)
    else:
        index.pending = todo
        for slug, (_, shard) in todo.items():
            wanted[slug] = _previous(store, slug, {story.url for story in shard.stories}) or wanted[slug]
    for slug, name in wanted.items():
        manifest = _manifest(store, name)
        if manifest is not None:
            index.used[slug] = name
            index.files.update(_copies(store, name, slug, manifest))
    return index


def missing(shards: dict[str, Shard], store: Path) -> Index:
    """What `publish` would make first (`Index.pending`), without listing any shard's files or
    looking for stand-ins: a build starts making them at once, then `publish(done=…)`."""
    index, _, index.pending = _wanted(shards, store)
    return index


def _wanted(shards: dict[str, Shard], store: Path) -> tuple[Index, dict[str, str], dict[str, tuple[str, Shard]]]:
    """An Index to fill (its runtime named, W506 without Pagefind), {slug: the store name of its
    shard as it must be now} and those of them the store lacks (slug → (name, shard))."""
    index = Index(store, stories=sum(len(shard.stories) for shard in shards.values()))
    if not shards:
        return index, {}, {}
    binary = executable()
    if binary is None:
        index.problems.append(Problem("W506", "没有找到 Pagefind 搜索组件，这次没有生成站内搜索索引；请运行 "
                                      "python3 -m pip install \"pagefind[extended]\""))
        return index, {}, {}
    tool = version(binary)
    index.runtime = runtime_name(binary)
    wanted = {slug: f"{slug}-{shard.fingerprint(tool)}" for slug, shard in shards.items()}
    todo = {slug: (name, shards[slug]) for slug, name in wanted.items() if _manifest(store, name) is None}
    return index, wanted, todo


def _manifest(store: Path, name: str) -> dict | None:
    """A complete shard's manifest: {"urls": [...], "files": {path: hash}}; None if there is none."""
    path = store / f"{name}.json"
    try:
        stat = path.stat()
    except OSError:
        return None
    return _read_manifest(str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)


@functools.lru_cache(maxsize=256)
def _read_manifest(path: str, *stat) -> dict | None:
    """Read once per manifest file (its stat is the key): a preview reads it on every build.
    Callers never change the dict."""
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not _stored_objects(Path(path).parent / OBJECTS).issuperset(files.values()):
        return None  # an object was removed by hand: make the shard again
    return manifest


def _stored_objects(objects: Path) -> frozenset[str]:
    """The names in the store's objects folder: one listing (kept while the folder is
    unchanged), not a stat per object (a city's shards hold 11,000)."""
    try:
        return _listing(str(objects), os.stat(objects).st_mtime_ns)
    except OSError:
        return frozenset()


@functools.lru_cache(maxsize=4)
def _listing(objects: str, mtime_ns: int) -> frozenset[str]:
    return frozenset(os.listdir(objects))


_LISTED: dict[tuple, Copies] = {}


def _copies(store: Path, name: str, slug: str, manifest: dict) -> Copies:
    """The shard's files as made files of the site, under search/pagefind/<slug>/ (listed once
    per manifest read: a preview lists them on every build)."""
    key = (str(store), name, slug, id(manifest))
    if key not in _LISTED:
        if len(_LISTED) > 64:
            _LISTED.clear()
        objects = f"{store / OBJECTS}{os.sep}"
        _LISTED[key] = {f"{BUNDLE}{slug}/{path}": (Path(objects + digest), LABEL, None)
                        for path, digest in manifest["files"].items()}
    return _LISTED[key]


SHARD_BYTES_PER_STORY = 300_000  #: what making a shard holds a story (docs/search.md: 300 MB a county of 1,100)
SHARDS_MEMORY = 1 << 30  #: what the shards made at once may hold together


def shards_at_once(todo: dict[str, tuple[str, "Shard"]], jobs: int) -> int:
    """How many shards to make at a time: up to `jobs` (and 4), as long as they fit in
    SHARDS_MEMORY; one at a time when a shard alone does not (a province's county of 11,000
    stories holds about 3 GB while it is made)."""
    largest = max((len(shard.stories) for _, shard in todo.values()), default=0)
    fit = SHARDS_MEMORY // max(1, largest * SHARD_BYTES_PER_STORY)
    return max(1, min(jobs, 4, len(todo), fit))


def make(todo: dict[str, tuple[str, Shard]], store: Path, binary: Path | None = None,
         jobs: int = 1, index: Index | None = None) -> list[Problem]:
    """Run Pagefind for each shard of `todo` (slug → (store name, shard)), a few at a time."""
    binary = binary or executable()
    if binary is None or not todo:
        return []
    started = time.perf_counter()
    with ThreadPoolExecutor(shards_at_once(todo, jobs)) as pool:
        results = list(pool.map(lambda item: _make_one(store, binary, *item[1]), todo.items()))
    if index is not None:
        index.made += [slug for slug, problem in zip(todo, results) if problem is None]
        index.seconds += time.perf_counter() - started
    return [p for p in results if p is not None]


def make_pending(index: Index, jobs: int = 1) -> Index:
    """Make what a preview left for later (`Index.pending` of `publish(now=False)`), in any
    thread; the returned Index says which shards were made, in how long, and any problems."""
    done = Index(index.store)
    if index.store is not None:
        done.problems += make(index.pending, index.store, None, jobs, done)
    return done


def _make_one(store: Path, binary: Path, name: str, shard: Shard) -> Problem | None:
    """The shard's files (`bundle`, or Pagefind's own indexer without numpy), written into the
    store's objects, then its manifest."""
    items = shard.records()
    try:
        run = runtime(store, binary) if writes_itself() else None
        # `bundle` writes the index files of the Pagefind versions it was checked against
        # (tests/test_search.py compares it with the binary's own); any other: the binary's indexer.
        if run is not None and run.version.startswith(BUNDLE_VERSIONS):
            from .pagefind_format import bundle  # numpy, only when a shard is made

            made = bundle(items, run)
        else:
            made = _pagefind(items, store, binary, name)
    except RuntimeFailed as exc:
        return exc.problem
    try:
        files = _keep(store, made.items())
        _write_json(store / f"{name}.json", {"urls": [r.url for r in items], "files": dict(sorted(files.items()))})
        return None
    except OSError as exc:
        return Problem("E505", f"无法保存搜索索引（{exc}）", str(store))


BUNDLE_VERSIONS = ("1.5.",)  #: Pagefind versions whose index format `bundle` writes


def writes_itself() -> bool:
    """Whether `bundle` writes the index (it needs numpy); else Pagefind's binary indexes the records."""
    if os.environ.get("GUSHIHUI_PAGEFIND_INDEXER"):  # to compare the two, and measure
        return False
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def _run(binary: Path, site: Path, out: Path) -> None:
    """Pagefind's binary over the pages in `site`, its files into `out` (RuntimeFailed: E505)."""
    try:
        run = subprocess.run([str(binary), "--site", str(site), "--output-path", str(out),
                              "--force-language", LANGUAGE, "--silent"],
                             capture_output=True, text=True, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise RuntimeFailed(Problem("E505", f"无法运行 Pagefind（{binary}）：{exc}")) from exc
    if run.returncode != 0 or not (out / "pagefind-entry.json").is_file():
        said = " ".join((run.stderr or run.stdout or "").split())
        raise RuntimeFailed(Problem("E505", f"Pagefind 生成搜索索引失败（退出状态 {run.returncode}）：{excerpt(said, 300)}"))


def _pagefind(items: tuple[Record, ...], store: Path, binary: Path, name: str) -> dict[str, bytes]:
    """The files Pagefind's own indexer makes of the records, each written as a small page."""
    store.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=store))
    try:
        site, out = work / "site", work / "bundle"
        for item in items:
            page = site / item.url / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(item.page(), encoding="utf-8")
        _run(binary, site, out)
        try:
            return {path.relative_to(out).as_posix(): path.read_bytes()
                    for path in sorted(out.rglob("*")) if path.is_file() and not path.name.startswith(UNUSED)}
        except OSError as exc:
            raise RuntimeFailed(Problem("E505", f"无法保存搜索索引（{exc}）", str(store))) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _keep(store: Path, files: Iterable[tuple[str, bytes]]) -> dict[str, str]:
    """{path: the name of its bytes in the store's objects}, each written there under the hash
    of its bytes unless it is there already (one listing of the folder, not a look a file; a
    listing of its own, never `_stored_objects`' kept one: an object missed here is missing
    from the shard, not only written twice)."""
    objects = store / OBJECTS
    objects.mkdir(parents=True, exist_ok=True)
    there = set(os.listdir(objects))
    names = {}
    for path, data in files:
        digest = names[path] = hashlib.blake2b(data, digest_size=16).hexdigest()
        if digest not in there:
            temporary = objects / f".tmp-{digest}-{os.getpid()}-{threading.get_ident()}"
            temporary.write_bytes(data)
            os.replace(temporary, objects / digest)
    return names


def _write_json(path: Path, value) -> None:
    temporary = path.with_name(f".tmp-{path.name}-{os.getpid()}-{threading.get_ident()}")
    temporary.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


# -- Pagefind's runtime ----------------------------------------------------------------------------
#
# The index files are written here (`bundle`); what reads them in the browser (pagefind.js, its
# worker and WebAssembly) and the entry file's settings come from Pagefind's binary, run once per
# version over a one-record site and kept in the store (runtime-<fingerprint>.json).

class RuntimeFailed(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


@dataclass(frozen=True)
class Runtime:
    files: tuple[tuple[str, bytes], ...]  #: pagefind.js, pagefind-worker.js, wasm.unknown.pagefind
    entry: dict  #: pagefind-entry.json of the one-record site: its version and include_characters
    version: str  #: Pagefind's, as its index files name it


_RUNTIMES: dict[tuple, Runtime] = {}
_RUNTIME_LOCK = threading.Lock()


def runtime_name(binary: Path) -> str:
    return f"runtime-{_digest((FORMAT, version(binary)))}"


def runtime(store: Path, binary: Path) -> Runtime:
    """Pagefind's runtime files: in memory, else in the store, else made by the binary."""
    name = runtime_name(binary)
    key = (str(store), name)
    with _RUNTIME_LOCK:
        if key not in _RUNTIMES:
            _RUNTIMES[key] = _stored_runtime(store, name) or _make_runtime(store, binary, name)
        return _RUNTIMES[key]


def _stored_runtime(store: Path, name: str) -> Runtime | None:
    manifest = _manifest(store, name)
    if manifest is None or not isinstance(manifest.get("entry"), dict):
        return None
    try:
        files = tuple((path, (store / OBJECTS / digest).read_bytes()) for path, digest in manifest["files"].items())
    except OSError:
        return None
    return Runtime(files, manifest["entry"], manifest["entry"].get("version", "?"))


def _make_runtime(store: Path, binary: Path, name: str) -> Runtime:
    store.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=store))
    try:
        site, out = work / "site", work / "bundle"
        (site / "x").mkdir(parents=True)
        (site / "x" / "index.html").write_text(
            f'<!doctype html><html lang="{LANGUAGE}"><body data-pagefind-body><p>x</p></body></html>\n',
            encoding="utf-8")
        _run(binary, site, out)
        try:
            entry = json.loads((out / "pagefind-entry.json").read_text(encoding="utf-8"))
            files = tuple((p.name, p.read_bytes()) for p in sorted(out.iterdir())
                          if p.is_file() and p.name.startswith(RUNTIME))
            digests = _keep(store, files)
            _write_json(store / f"{name}.json", {"urls": [], "files": digests, "entry": entry})
        except (OSError, ValueError) as exc:
            raise RuntimeFailed(Problem("E505", f"无法保存搜索索引（{exc}）", str(store))) from exc
        return Runtime(files, entry, str(entry.get("version", "?")))
    finally:
        shutil.rmtree(work, ignore_errors=True)


RUNTIME = ("pagefind.js", "pagefind-worker.js", "wasm.")  #: Pagefind's runtime files, made once per version


def _previous(store: Path, slug: str, published: set[str]) -> str | None:
    """The newest complete shard of a county whose stories are all still published."""
    best = None
    for entry in _entries(store):
        name = entry.name.removesuffix(".json")
        if not entry.name.endswith(".json") or name.rpartition("-")[0] != slug:
            continue
        manifest = _manifest(store, name)
        try:
            when = entry.stat().st_mtime_ns
        except OSError:
            continue
        if manifest is not None and set(manifest.get("urls", ())) <= published and (best is None or when > best[0]):
            best = (when, name)
    return best[1] if best else None


def _entries(store: Path) -> list[os.DirEntry]:
    try:
        return list(os.scandir(store))
    except OSError:
        return []


def prune(store: Path, keep: set[str], older_than: float = 3600.0) -> None:
    """Remove the shards nothing uses and the objects no kept shard needs (after a build that
    wrote), and what a killed run left (temporary folders untouched for `older_than` seconds:
    a preview may be making one meanwhile)."""
    now = time.time()
    needed: set[str] = set()
    for name in keep:
        manifest = _manifest(store, name)
        if manifest is not None:
            needed |= set(manifest["files"].values())
    for entry in _entries(store):
        try:
            if entry.name.startswith(".tmp-"):
                if now - entry.stat().st_mtime >= older_than:
                    shutil.rmtree(entry.path, ignore_errors=True)
            elif entry.name.endswith(".json") and entry.name.removesuffix(".json") not in keep:
                os.unlink(entry.path)
        except OSError:
            continue
    if any(entry.name.startswith(".tmp-") for entry in _entries(store)):
        return  # a shard being made may already have put objects there that no manifest names yet
    for entry in _entries(store / OBJECTS):
        if entry.name not in needed:
            try:
                os.unlink(entry.path)
            except OSError:
                pass
