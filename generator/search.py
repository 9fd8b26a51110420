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
import gzip
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


def publish(shards: dict[str, Shard], store: Path, now: bool = True, jobs: int = 1) -> Index:
    """The index of `shards` from `store`, each shard made there first unless it is there already.
    `now` False (the preview): a shard that is not there is left for later (`Index.pending`,
    see `make_pending`); meanwhile its previous version stands in as long as every story it
    holds is still published (so a story that became a draft is never found), else none does."""
    index = Index(store, stories=sum(len(shard.stories) for shard in shards.values()))
    if not shards:
        return index
    binary = executable()
    if binary is None:
        index.problems.append(Problem("W506", "没有找到 Pagefind 搜索组件，这次没有生成站内搜索索引；请运行 "
                                      "python3 -m pip install \"pagefind[extended]\""))
        return index
    tool = version(binary)
    index.runtime = runtime_name(binary)
    wanted = {slug: f"{slug}-{shard.fingerprint(tool)}" for slug, shard in shards.items()}
    todo = {slug: (name, shards[slug]) for slug, name in wanted.items() if _manifest(store, name) is None}
    if now:
        index.problems += make(todo, store, binary, jobs, index)
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
    objects = Path(path).parent / OBJECTS
    if not isinstance(files, dict) or not all((objects / d).is_file() for d in files.values()):
        return None  # an object was removed by hand: make the shard again
    return manifest


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


def make(todo: dict[str, tuple[str, Shard]], store: Path, binary: Path | None = None,
         jobs: int = 1, index: Index | None = None) -> list[Problem]:
    """Run Pagefind for each shard of `todo` (slug → (store name, shard)), a few at a time."""
    binary = binary or executable()
    if binary is None or not todo:
        return []
    started = time.perf_counter()
    with ThreadPoolExecutor(max(1, min(jobs, 4, len(todo)))) as pool:
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
            made = bundle(items, run)
        else:
            made = _pagefind(items, store, binary, name)
    except RuntimeFailed as exc:
        return exc.problem
    try:
        files = {path: _keep(store, data) for path, data in made.items()}
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


def _keep(store: Path, data: bytes) -> str:
    """`data` in the store's objects, named by its hash (already there: left as it is)."""
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    target = store / OBJECTS / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".tmp-{digest}-{os.getpid()}-{threading.get_ident()}")
        temporary.write_bytes(data)
        os.replace(temporary, target)
    return digest


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
            digests = {path: _keep(store, data) for path, data in files}
            _write_json(store / f"{name}.json", {"urls": [], "files": digests, "entry": entry})
        except (OSError, ValueError) as exc:
            raise RuntimeFailed(Problem("E505", f"无法保存搜索索引（{exc}）", str(store))) from exc
        return Runtime(files, entry, str(entry.get("version", "?")))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- the index files -------------------------------------------------------------------------------
#
# Pagefind's own indexer costs about 3 s of CPU a county of 1,100 stories when every character is
# a word (docs/search.md "Writing the index"); these functions write the same files from the
# records in a fraction of that, with numpy. The format is Pagefind 1.5's (gzip of
# "pagefind_dcd" + CBOR or JSON):
#
#   pagefind.<hash>.pf_meta   [version, [[fragment, words]…], [[from, to, chunk]…], [], [["date", [page…]]], [meta field…]]
#   index/<hash>.pf_index     [[[word, [[page Δ, [-weight-1, position Δ…], [-field-1, position Δ…]]…], []]…]]
#   fragment/<hash>.pf_fragment  {"url", "content", "word_count", "filters", "meta", "anchors"}
#
# A negative number in a list of positions sets the weight (or meta field) of those after it,
# and the first after it is counted from 0. tests/test_search.py compares these files, decoded,
# with what Pagefind's binary writes from the same records.

RUNTIME = ("pagefind.js", "pagefind-worker.js", "wasm.")
BODY, TITLE = 24, 168  #: weights: the text, the title (an h1: 7 × 24); a part of a compound word: a share
CHUNK = 20000  #: positions in an index chunk, as Pagefind cuts them
LEVEL = 4  #: gzip: 3 % larger than Pagefind's 9, in a fifth of the time
_NOT_WORD = re.compile(r"[^\w]")
_PARTS = re.compile(r"[^\w]+|_+")


def words(item: Record) -> tuple[list[str], int]:
    """The record's words, as its page (`Record.page`) gives them to Pagefind: the text, place,
    authors and tags, then the title; and how many come before the title. (`_words_at` finds
    the same for many records at once.)"""
    body = [*item.text, item.place, "、".join(item.authors), "、".join(item.tags)]
    found = cut(" ".join(ended(b) for b in body if b)).split()
    return found + cut(ended(item.title)).split(), len(found)


def keys(word: str) -> tuple[tuple[str, int], ...]:
    """What the index holds for a word, as Pagefind's indexer does: the word lowercased without
    signs, and the parts of two characters or more of a compound one (COVID-19, foo_bar, e-mail),
    each with what its weight is divided by (1: the word itself; n: one of n parts). A word with
    accents is held under the word without them (`_fold`), as a variant."""
    whole = _NOT_WORD.sub("", word).lower()
    if not whole:
        return ()
    parts = [p.lower() for p in _PARTS.split(word) if len(p) >= 2]
    if parts == [whole]:
        parts = []
    return ((whole, 1), *((p, len(parts)) for p in dict.fromkeys(parts) if p != whole))


def _fold(word: str) -> str:
    """Latin letters without their accents (café → cafe), as Pagefind looks them up."""
    if word.isascii():
        return word
    import unicodedata

    if not any("\u00c0" <= c <= "\u024f" for c in word):
        return word
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", word)
                                                 if not unicodedata.combining(c)))


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes((major << 5 | n,))
    if n < 256:
        return bytes((major << 5 | 24, n))
    if n < 65536:
        return bytes((major << 5 | 25,)) + n.to_bytes(2, "big")
    return bytes((major << 5 | 26,)) + n.to_bytes(4, "big")


def _text(value: str) -> bytes:
    data = value.encode("utf-8")
    return _head(3, len(data)) + data


def _int(n: int) -> bytes:
    return _head(0, n) if n >= 0 else _head(1, -1 - n)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(b"pagefind_dcd" + data, compresslevel=LEVEL, mtime=0)


def _name(taken: set[str], digest: str, length: int = 7) -> str:
    """und_ and the shortest start of `digest` (at least `length` characters) not yet taken."""
    while f"{LANGUAGE}_{digest[:length]}" in taken and length < len(digest):
        length += 1
    found = f"{LANGUAGE}_{digest[:length]}"
    taken.add(found)
    return found


@functools.cache
def _table():
    """The CBOR head of every (major type, value < 65536) in three bytes, and its length."""
    import numpy as np

    value = np.arange(65536, dtype=np.int64)
    steps = (value >= 24).astype(np.int64) + (value >= 256)
    heads = np.zeros((8, 65536, 3), dtype=np.uint8)
    for major in range(8):
        heads[major, :, 0] = (major << 5) | np.where(steps == 0, value, steps + 23)
    heads[:, :, 1] = np.where(steps == 1, value, value >> 8)[None, :]
    heads[:, :, 2] = (value & 255)[None, :]
    return heads.reshape(-1, 3), np.array([1, 2, 3], dtype=np.int64)[steps]


def _encode(major, value):
    """CBOR heads of many integers at once (numpy): their bytes, and where each starts."""
    import numpy as np

    if len(value) and int(value.max()) >= 65536:  # a story of more than 65,535 words: the slow way
        return _encode_wide(major, value)
    heads, lengths = _table()
    size = lengths[value]
    start = np.cumsum(size) - size
    rows = heads[major.astype(np.int64) * 65536 + value]
    keep = np.arange(3)[None, :] < size[:, None]
    return rows[keep], start


def _encode_wide(major, value):
    import numpy as np

    value = value.astype(np.int64)
    steps = (value >= 24).astype(np.int8) + (value >= 256) + (value >= 65536)  # 0, 1, 2, 3
    size = np.array([1, 2, 3, 5], dtype=np.int64)[steps]
    start = np.cumsum(size) - size
    out = np.zeros(int(start[-1] + size[-1]) if len(size) else 0, dtype=np.uint8)
    out[start] = (major.astype(np.uint8) << 5) | np.where(steps == 0, value, steps + 23).astype(np.uint8)
    for length, shifts in ((1, (0,)), (2, (8, 0)), (3, (24, 16, 8, 0))):
        at = np.flatnonzero(steps == length)
        if len(at):
            v, s = value[at], start[at]
            for i, shift in enumerate(shifts):
                out[s + 1 + i] = (v >> shift) & 255
    return out, start


_PAGE, _TITLE = "\x00", "\x01"  #: the ends of a record and the start of its title, in `_words_at`
_NARROW_WORD, _WIDE_WORD = 2, 3


@functools.cache
def _classes():
    """Each character below U+3001 as 0 (one of our marks), 1 (a space to str.split), 2 (of a
    word `cut` keeps whole), 3 (a word alone); every character above is 3 or, U+3000, 1."""
    import numpy as np

    table = np.full(0x3002, _WIDE_WORD, dtype=np.int8)
    table[0x00:0x80] = _NARROW_WORD
    table[0xC0:0x250] = _NARROW_WORD
    table[[c for c in range(0x3002) if chr(c).isspace()]] = 1
    table[[ord(_PAGE), ord(_TITLE)]] = 0
    return table


def _words_at(items: tuple[Record, ...]):
    """`words` of every record at once (numpy over the characters): each record's content (its
    words joined by spaces), the distinct words, and for each word of each record its word's
    number, record, position and whether it is in the title."""
    import numpy as np

    pieces = []
    for item in items:
        body = [*item.text, item.place, "、".join(item.authors), "、".join(item.tags)]
        pieces += [" ".join(ended(b) for b in body if b), _TITLE, ended(item.title), _PAGE]
    text = "".join(pieces)
    if text.count(_PAGE) != len(items) or text.count(_TITLE) != len(items):  # a record holding our marks
        clean = str.maketrans({_PAGE: " ", _TITLE: " "})
        text = "".join(p if p in (_PAGE, _TITLE) else p.translate(clean) for p in pieces)
    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    kind = _classes()[np.minimum(chars, 0x3001)]
    narrow = kind == _NARROW_WORD
    before = np.empty_like(narrow)
    before[0], before[1:] = False, narrow[:-1]
    starts = np.flatnonzero((kind == _WIDE_WORD) | (narrow & ~before))
    after = np.empty_like(narrow)
    after[-1:], after[:-1] = False, narrow[1:]
    ends = np.flatnonzero(narrow & ~after) + 1
    # Words kept whole (Latin, numbers): numbered after every character.
    narrow_starts = np.flatnonzero(narrow[starts])
    spans = starts[narrow_starts].tolist()
    latin = [text[a:b] for a, b in zip(spans, ends.tolist())]
    numbers: dict[str, int] = {}
    code = chars[starts].astype(np.int64)
    code[narrow_starts] = 0x110000 + np.fromiter((numbers.setdefault(w, len(numbers)) for w in latin),
                                                 dtype=np.int64, count=len(latin))
    seen = np.flatnonzero(np.bincount(code, minlength=0x110000 + len(numbers)))
    latin_words = list(numbers)
    vocabulary = [chr(c) if c < 0x110000 else latin_words[c - 0x110000] for c in seen.tolist()]
    lookup = np.full(0x110000 + len(numbers), -1, dtype=np.int32)
    lookup[seen] = np.arange(len(seen), dtype=np.int32)
    word_id = lookup[code]
    page = np.searchsorted(np.flatnonzero(chars == ord(_PAGE)), starts).astype(np.int32)
    title = starts > np.flatnonzero(chars == ord(_TITLE))[page]
    lengths = np.bincount(page, minlength=len(items))
    position = (np.arange(len(starts)) - np.repeat(np.cumsum(lengths) - lengths, lengths)).astype(np.int32)
    # The content: the words, a space between two of a record, the records apart.
    keep = (kind >= _NARROW_WORD) | (chars == ord(_PAGE))
    spaced = np.zeros(len(chars), dtype=bool)
    spaced[starts[position > 0]] = True
    kept = chars[keep]
    shift = np.cumsum(spaced[keep])
    out = np.full(len(kept) + (int(shift[-1]) if len(shift) else 0), 32, dtype=np.uint32)
    out[np.arange(len(kept)) + shift] = kept
    contents = out.tobytes().decode("utf-32-le").split(_PAGE)[:-1]
    return contents, vocabulary, word_id, page, position, title


def bundle(items: tuple[Record, ...], run: Runtime) -> dict[str, bytes]:
    """The files of one shard's index (paths below its folder) from its records."""
    import numpy as np

    files: dict[str, bytes] = dict(run.files)
    taken: set[str] = set()
    # Every word of every record, where it is, and each record's text as Pagefind shows it.
    contents, vocabulary, word_id, page, position, title = _words_at(items)
    lengths = np.bincount(page, minlength=len(items))
    # Fragments: what a result shows.
    meta_fields = ["date", "filters", "place", "title"]
    fragments = []
    for item, content, count in zip(items, contents, lengths.tolist()):
        data = json.dumps({"url": f"/{item.url}", "content": content, "word_count": count,
                           "filters": {}, "meta": {"date": item.date, "filters": " ".join(item.filters),
                                                    "place": item.place, "title": item.title},
                           "anchors": []}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        name = _name(taken, hashlib.sha256(data).hexdigest())
        files[f"fragment/{name}.pf_fragment"] = _gzip(data)
        fragments.append((name, count))
    # The keys of each word, in sorted order.
    of_word = [keys(w) for w in vocabulary]
    filters = sorted({f for item in items for f in item.filters})
    names = sorted({k for ks in of_word for k, _ in ks} | set(filters))
    number = {k: i for i, k in enumerate(names)}
    sizes = np.fromiter((len(ks) for ks in of_word), dtype=np.int64, count=len(of_word))
    flat_key = np.fromiter((number[k] for ks in of_word for k, _ in ks), dtype=np.int32, count=int(sizes.sum()))
    flat_share = np.fromiter((n for ks in of_word for _, n in ks), dtype=np.int32, count=int(sizes.sum()))
    first = np.cumsum(sizes) - sizes
    weight = np.where(title, TITLE, BODY).astype(np.int32)
    # One entry per key of each position (most words have one key, signs none, compound words more).
    count = sizes[word_id]
    if int(sizes.max(initial=0)) <= 1:
        kept = count == 1
        slot = first[word_id[kept]]
        page, position, weight = page[kept], position[kept], weight[kept]
    else:
        entry_of = np.repeat(np.arange(len(word_id), dtype=np.int32), count)
        k = np.arange(int(count.sum()), dtype=np.int32) - np.repeat(np.cumsum(count) - count, count)
        slot = first[word_id][entry_of] + k
        page, position, weight = page[entry_of], position[entry_of], weight[entry_of]
    key, share = flat_key[slot], flat_share[slot]
    part = share > 1
    weight = (weight // share).astype(np.int32)
    # In the order of the index: by key, then page, the word's own positions before its parts'.
    # The entries are in page and position order already, so a stable sort by key alone does.
    by = key * 2 + part
    order = np.argsort(by.astype(np.uint16) if len(names) < 32768 else by, kind="stable")
    key, page, position, weight = key[order], page[order], position[order], weight[order]
    # Groups (a key on a page) and runs (positions of one weight in a group).
    n = len(key)
    group_starts = np.ones(n, dtype=bool)
    group_starts[1:] = (key[1:] != key[:-1]) | (page[1:] != page[:-1])
    run_starts = group_starts.copy()
    run_starts[1:] |= weight[1:] != weight[:-1]
    value = position.copy()
    value[1:] -= position[:-1]
    value[run_starts] = position[run_starts]
    group = np.cumsum(group_starts) - 1
    groups = int(group_starts.sum())
    group_key, group_page = key[group_starts], page[group_starts]
    word_starts = np.ones(groups, dtype=bool)
    word_starts[1:] = group_key[1:] != group_key[:-1]
    page_delta = group_page.copy()
    page_delta[1:] -= group_page[:-1]
    page_delta[word_starts] = group_page[word_starts]
    locations = np.bincount(group, minlength=groups) + np.bincount(group, weights=run_starts, minlength=groups).astype(np.int64)
    # The tokens of every group: [page Δ, [markers and positions], []] in CBOR.
    per_group = 4 + locations
    group_at = np.cumsum(per_group) - per_group
    per_entry = 1 + run_starts
    entry_at = np.cumsum(per_entry) - per_entry
    entry_at = entry_at - entry_at[group_starts][group] + group_at[group] + 3
    total = int(per_group.sum())
    major = np.zeros(total, dtype=np.int8)
    token = np.zeros(total, dtype=np.int32)
    major[group_at], token[group_at] = 4, 3
    token[group_at + 1] = page_delta
    major[group_at + 2], token[group_at + 2] = 4, locations
    major[group_at + per_group - 1] = 4
    marked = entry_at[run_starts]
    major[marked], token[marked] = 1, weight[run_starts]  # -weight-1: CBOR's major type 1 holds the weight
    major[entry_at + run_starts] = 0
    token[entry_at + run_starts] = value
    encoded, starts = _encode(major, token)
    raw = encoded.tobytes()
    group_byte = np.append(starts[group_at], len(raw)).tolist()
    group_sizes = (locations + 1).tolist()
    first_group = np.flatnonzero(word_starts).tolist() + [groups]
    keyed = {int(k): i for i, k in enumerate(group_key[word_starts].tolist())}
    # The filters: words of each record's meta (field "filters"), never in its text.
    meta_of: dict[str, list[tuple[int, int]]] = {}
    for p, item in enumerate(items):
        for at, f in enumerate(item.filters):
            meta_of.setdefault(f, []).append((p, at))
    field = -meta_fields.index("filters") - 1
    held: dict[str, tuple[bytes, int, int]] = {}  # key → its pages in CBOR, how many, their size
    for i, name in enumerate(names):
        w = keyed.get(i)
        if name not in meta_of:
            if w is not None:
                g0, g1 = first_group[w], first_group[w + 1]
                held[name] = (raw[group_byte[g0]:group_byte[g1]], g1 - g0, sum(group_sizes[g0:g1]))
            continue
        # A filter word (perhaps in some text too): by hand, few.
        by_page: dict[int, tuple[bytes, list[int]]] = {}
        if w is not None:
            for g in range(first_group[w], first_group[w + 1]):
                by_page[int(group_page[g])] = (raw[group_byte[g]:group_byte[g + 1]], [])
        for p, at in meta_of[name]:
            by_page.setdefault(p, (b"", []))[1].append(at)
        body, last, size = b"", 0, 0
        for p in sorted(by_page):
            text_part, metas = by_page[p]
            locs = _locations_of(text_part)
            meta = [field, metas[0], *(b - a for a, b in zip(metas, metas[1:]))] if metas else []
            body += _head(4, 3) + _int(p - last) + _head(4, len(locs)) + b"".join(map(_int, locs)) + \
                _head(4, len(meta)) + b"".join(map(_int, meta))
            size += len(locs) + len(meta) + 1
            last = p
        held[name] = (body, len(by_page), size)
    # Each word under its form without accents; a form with them is a variant of that word.
    forms: dict[str, list[str]] = {}
    for name in held:
        forms.setdefault(_fold(name), []).append(name)
    entries = []  # (word, its CBOR, its size in positions)
    for word in sorted(forms):
        body, count, size = held.get(word, (b"", 0, 0))
        variants = [name for name in forms[word] if name != word]
        data = _head(4, 3) + _text(word) + _head(4, count) + body + _head(4, len(variants))
        for name in variants:
            v_body, v_count, v_size = held[name]
            data += _head(4, 2) + _text(name) + _head(4, v_count) + v_body
            size += v_size
        entries.append((word, data, size))
    # Chunks of about CHUNK positions, named by the shortest prefixes that tell them apart.
    chunks, current, filled = [], [], 0
    for entry in entries:
        current.append(entry)
        filled += entry[2]
        if filled >= CHUNK:
            chunks.append(current)
            current, filled = [], 0
    if current:
        chunks.append(current)
    bounds = [[c[0][0], c[-1][0]] for c in chunks]
    for a, b in zip(bounds, bounds[1:]):
        a[1], b[0] = _prefixes(a[1], b[0])
    index_names = []
    for chunk in chunks:
        data = _head(4, 1) + _head(4, len(chunk)) + b"".join(e[1] for e in chunk)
        name = _name(taken, hashlib.sha256(data).hexdigest())
        files[f"index/{name}.pf_index"] = _gzip(data)
        index_names.append(name)
    # The meta: pages, chunks, the date order, the meta fields.
    by_date = sorted(range(len(items)), key=lambda p: items[p].day)
    meta = (_head(4, 6) + _text(run.version)
            + _head(4, len(fragments)) + b"".join(_head(4, 2) + _text(h) + _int(c) for h, c in fragments)
            + _head(4, len(chunks)) + b"".join(_head(4, 3) + _text(a) + _text(b) + _text(h)
                                                for (a, b), h in zip(bounds, index_names))
            + _head(4, 0)
            + _head(4, 1) + _head(4, 2) + _text("date") + _head(4, len(by_date)) + b"".join(map(_int, by_date))
            + _head(4, len(meta_fields)) + b"".join(map(_text, meta_fields)))
    meta_name = _name(taken, hashlib.sha256(meta).hexdigest(), 11)
    files[f"pagefind.{meta_name}.pf_meta"] = _gzip(meta)
    entry = {**run.entry, "languages": {LANGUAGE: {"hash": meta_name, "wasm": None, "page_count": len(items)}}}
    files["pagefind-entry.json"] = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return dict(sorted(files.items()))


def _locations_of(group: bytes) -> list[int]:
    """The list of positions (markers included) of one encoded group [page Δ, [...], []]."""
    if not group:
        return []
    values, at = [], 1
    _, at = _read_int(group, at)  # page Δ
    n, at = _read_int(group, at)
    for _ in range(n):
        v, at = _read_int(group, at)
        values.append(v)
    return values


def _read_int(data: bytes, at: int) -> tuple[int, int]:
    head = data[at]
    major, extra = head >> 5, head & 31
    at += 1
    if extra < 24:
        value = extra
    else:
        size = {24: 1, 25: 2, 26: 4, 27: 8}[extra]
        value = int.from_bytes(data[at:at + size], "big")
        at += size
    return (-1 - value if major == 1 else value), at


def _prefixes(a: str, b: str) -> tuple[str, str]:
    """The starts of two neighbouring chunks' edge words that tell them apart (Pagefind's rule)."""
    common = 0
    for x, y in zip(b, a):
        if x != y:
            break
        common += 1
    return a[:common + 1], b[:common + 1]


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
