"""The state a build session owns: the persistent cache, and memos that let
the next build of the same session reuse work. A one-shot build starts with
an empty session; the live preview keeps one between rebuilds.

Every memo is keyed by the values its entry was made from (file stats,
digests, names), never by object identity, so an entry can only be reused
for equal inputs. Memos of pure functions (slugs, the Markdown instance, a
worker's set-up) stay with their functions.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

from .cache import Cache, cache_path
from .errors import Problem

T = TypeVar("T")
MAX_ENTRIES = 4 * 65536  # a table past this is emptied: a session that edits for hours must not grow


class Session:
    def __init__(self, cache: Cache | None = None):
        self.cache = cache  #: None: no cache is read or saved (--no-cache)
        self.scan: tuple | None = None  #: the last scan of content/ (changes.scan_content)
        self._last: dict[str, tuple] = {}
        self._tables: dict[str, dict] = {}

    @classmethod
    def open(cls, out: Path, use_cache: bool = True, writable: bool = True) -> tuple["Session", list[Problem]]:
        """A new session with the cache kept beside `out` (or none); `writable`
        False: the session only reads it (`check`)."""
        if not use_cache:
            return cls(), []
        cache, problems = Cache.open(cache_path(out), writable)
        return cls(cache), problems

    def last(self, name: str, key, make: Callable[[], T]) -> T:
        """`make()`, or what it gave last time under this name if `key` is equal."""
        found = self._last.get(name)
        if found is not None and found[0] == key:
            return found[1]
        value = make()
        self._last[name] = (key, value)
        return value

    def forget(self, name: str) -> None:
        self._last.pop(name, None)

    def table(self, name: str) -> dict:
        """A dict kept for the session, for memos with many entries."""
        table = self._tables.setdefault(name, {})
        if len(table) > MAX_ENTRIES:
            table.clear()
        return table
