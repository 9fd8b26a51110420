"""What survives between builds: one SQLite file beside the output.

It holds each story's parse (keyed by the file's mtime and size first, then
by the hash of its text, and by the parse fingerprint: settings and
Gushihui's version), and the output manifest: the fingerprint every page
was rendered from and the source of every copied file. A cache that cannot
be read, was written by another version, or holds anything but our own
values is discarded with a warning, never trusted.
"""
from __future__ import annotations

import dataclasses
import io
import pickle
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, bodies, models, ratings
from .errors import Problem

SCHEMA = "gushihui-cache-7"
CACHE_DIR = ".gushihui-cache"


def cache_path(out: Path) -> Path:
    """The cache of an output folder: <parent>/.gushihui-cache/<name>.sqlite."""
    return out.parent / CACHE_DIR / f"{out.name}.sqlite"


class _SafeUnpickler(pickle.Unpickler):
    """Only our own value types come out of the cache: the frozen dataclasses
    of models.py and ratings.py, problems, dates and fractions; anything else is refused."""

    ALLOWED = {(module.__name__, name) for module in (models, ratings) for name, value in vars(module).items()
               if dataclasses.is_dataclass(value) and value.__module__ == module.__name__} | {
        (Problem.__module__, Problem.__name__), ("datetime", "date"), ("fractions", "Fraction")}

    FOUND: dict[tuple[str, str], type] = {}  #: the allowed classes found so far: a build unpickles 10,000 stories

    def find_class(self, module: str, name: str):
        try:
            return self.FOUND[module, name]
        except KeyError:
            pass
        if (module, name) in self.ALLOWED:
            found = self.FOUND[module, name] = super().find_class(module, name)
            return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the cache")


def _loads(blob: bytes):
    return _SafeUnpickler(io.BytesIO(blob)).load()


def _recall(kept: tuple | None, key: str):
    """The value kept as (key, its pickle or the value itself) when the key is `key`; None when
    it is another's or cannot be read."""
    if kept is None or kept[0] != key:
        return None
    try:
        return _loads(kept[1]) if isinstance(kept[1], bytes) else kept[1]
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, KeyError, IndexError):
        return None


@dataclass(slots=True)
class Entry:
    """A story file as last read: its stat, its digest and what parsing gave."""

    stat: tuple[int, int, int]  #: (mtime_ns, size, ctime_ns), as changes.scan gives it
    digest: str
    parse_fp: str
    blob: bytes | None = None  #: pickle of (story, problems), decoded on first use
    value: tuple | None = field(default=None, repr=False)
    body: str | None = None  #: the key of the story's HTML in the body store (bodies.py), if it is kept there


class CacheError(Exception):
    pass


class Cache:
    """In memory while a build (or a whole `serve` session) runs; saved at the end."""

    def __init__(self, path: Path | None = None, writable: bool = True):
        self.path = path
        self.writable = writable  #: False for `check`: nothing is written, bodies stay in the stories
        self._bodies: bool | None = None
        self.stories: dict[str, Entry] = {}
        self.token: str | None = None  #: identifies the output folder these records describe
        self.pages: dict[str, str] = {}  #: address → fingerprint it was rendered from
        self.files: dict[str, tuple] = {}  #: address → (source, mtime_ns, size, ctime_ns)
        self.inputs: str | None = None  #: signature of every input at the last successful build
        self.warnings: list[Problem] = []  #: warnings of that build, repeated when nothing changed
        self.slugs: dict[str, str] = {}  #: pinyin slugs already made, so pypinyin need not load
        self.ratings: tuple[str, bytes] | None = None  #: (inputs' hash, pickle of (packed results, problems))
        #: (org.csv's stat hashed, (its rows, problems)): pickled as read from the cache's file, as
        #: objects when set (`reading.read_registry`), pickled when the cache is saved
        self.registry: tuple[str, bytes | tuple] | None = None
        self.images: dict[str, tuple] = {}  #: picture source → (stat, images.Source fields as a tuple)
        self.search: dict[tuple, str] = {}  #: (story digest, address, county slug) → its search record's digest
        self._blobs_loaded = True
        self._dirty: set[str] = set()
        self._removed: set[str] = set()

    @classmethod
    def open(cls, path: Path, writable: bool = True) -> tuple["Cache", list[Problem]]:
        """The cache at `path`; the stories it reads keep their bodies in the store beside it."""
        cache = cls(path, writable)
        if not path.exists():
            return cache, []
        try:
            cache._load()
            return cache, []
        except (sqlite3.DatabaseError, pickle.UnpicklingError, CacheError, EOFError, ValueError, TypeError,
                AttributeError, KeyError) as exc:
            if writable:
                path.unlink(missing_ok=True)
            return cls(path, writable), [Problem("W601", f"构建缓存无效（{exc}），已丢弃，这次完整构建", str(path))]

    @property
    def keeps_bodies(self) -> bool:
        """Whether a story parsed now keeps its HTML in the body store."""
        if self._bodies is None:
            self._bodies = self.writable and self.path is not None and bodies.usable(bodies.path_for(self.path))
        return self._bodies

    def _load(self) -> None:
        with sqlite3.connect(self.path) as db:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if meta.get("schema") != SCHEMA or meta.get("version") != __version__:
                raise CacheError(f"由其他版本写入：{meta.get('schema')} {meta.get('version')}")
            self.token, self.inputs = meta.get("token"), meta.get("inputs")
            self.pages = _loads(meta["pages"]) if "pages" in meta else {}
            self.files = _loads(meta["files"]) if "files" in meta else {}
            self.warnings = _loads(meta["warnings"]) if "warnings" in meta else []
            self.slugs = _loads(meta["slugs"]) if "slugs" in meta else {}
            self.ratings = _loads(meta["ratings"]) if "ratings" in meta else None
            self.registry = _loads(meta["registry"]) if "registry" in meta else None
            self.images = _loads(meta["images"]) if "images" in meta else {}
            self.search = _loads(meta["search"]) if "search" in meta else {}
            if not all(isinstance(v, dict) for v in (self.pages, self.files, self.images, self.search)):
                raise CacheError("清单格式不对")
            stored, fps = None, {}
            for loc, mtime, size, ctime, digest, parse_fp, body in db.execute(
                    "SELECT location, mtime_ns, size, ctime_ns, digest, parse_fp, body FROM stories"):
                if body is not None:
                    stored = bodies.keys(bodies.path_for(self.path)) if stored is None else stored
                    if body not in stored:  # its body is gone: parse the story again
                        continue
                self.stories[loc] = Entry((mtime, size, ctime), digest, fps.setdefault(parse_fp, parse_fp), body=body)
        self._blobs_loaded = not self.stories

    def result(self, entry: Entry) -> tuple:
        """(story, problems) as parsed when the entry was made. CacheError when
        the stored value cannot be read or is not ours."""
        if entry.value is None:
            try:
                if entry.blob is None and not self._blobs_loaded:
                    self._load_blobs()  # all at once: a build that needs one needs nearly all
                value = _loads(entry.blob)
            except (sqlite3.DatabaseError, pickle.UnpicklingError, EOFError, ValueError, TypeError,
                    AttributeError, KeyError, IndexError) as exc:
                raise CacheError(str(exc)) from exc
            if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], list)):
                raise CacheError("故事记录格式不对")
            entry.value, entry.blob = value, None
        return entry.value

    def cached_registry(self, key: str):
        """(the registry's rows, problems) read from an org.csv hashed to `key`, or None."""
        return _recall(self.registry, key)

    def cached_ratings(self, key: str):
        """(ratings.pack of the results, problems) computed from inputs hashed to `key`, or None."""
        return _recall(self.ratings, key)

    def clear(self) -> None:
        """Forget everything: the next save writes an empty cache."""
        self._removed |= set(self.stories)
        self.stories.clear()
        self.pages, self.files, self.token, self.inputs, self.images, self.search = {}, {}, None, None, {}, {}

    def _load_blobs(self) -> None:
        try:
            with sqlite3.connect(self.path) as db:
                for loc, blob in db.execute("SELECT location, blob FROM stories"):
                    if loc in self.stories and self.stories[loc].value is None:
                        self.stories[loc].blob = blob
        finally:
            self._blobs_loaded = True

    def story(self, location: str) -> Entry | None:
        return self.stories.get(location)

    def put_story(self, location: str, entry: Entry) -> None:
        self.stories[location] = entry
        self._dirty.add(location)

    def keep_only(self, locations: set[str]) -> None:
        """Forget stories whose files are gone."""
        for loc in [loc for loc in self.stories if loc not in locations]:
            del self.stories[loc]
            self._removed.add(loc)

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        dump = lambda v: pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)  # noqa: E731
        registry = self.registry
        if registry is not None and not isinstance(registry[1], bytes):
            registry = (registry[0], dump(registry[1]))
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)")
            db.execute("CREATE TABLE IF NOT EXISTS stories (location TEXT PRIMARY KEY, mtime_ns INTEGER, "
                       "size INTEGER, ctime_ns INTEGER, digest TEXT, parse_fp TEXT, blob BLOB, body TEXT)")
            meta = {"schema": SCHEMA, "version": __version__, "token": self.token, "inputs": self.inputs,
                    "pages": dump(self.pages), "files": dump(self.files), "warnings": dump(self.warnings),
                    "slugs": dump(self.slugs), "ratings": dump(self.ratings), "registry": dump(registry),
                    "images": dump(self.images), "search": dump(self.search)}
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta.items())
            # One row at a time: a province's pickles, all made at once, would take 150 MB.
            rows = ((loc, *e.stat, e.digest, e.parse_fp, e.blob if e.blob is not None else dump(e.value), e.body)
                    for loc in self._dirty
                    if (e := self.stories.get(loc)) is not None and (e.blob is not None or e.value is not None))
            db.executemany("INSERT OR REPLACE INTO stories VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany("DELETE FROM stories WHERE location = ?", [(loc,) for loc in self._removed])
        if self._dirty or self._removed:
            bodies.keep_only(bodies.path_for(self.path), {e.body for e in self.stories.values() if e.body is not None})
        for loc in self._dirty:  # written: the decoded value is enough from now on
            e = self.stories.get(loc)
            if e is not None and e.value is not None:
                e.blob = None
        self._dirty.clear()
        self._removed.clear()


__all__ = ["Cache", "Entry", "cache_path"]
