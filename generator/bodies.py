"""Story bodies kept out of memory while a site builds.

A story's HTML is most of what a story weighs: at 100,000 stories, holding
them all in the main process (and so in every worker it forks) would take
gigabytes. With a build cache, each body is written once, by the main
process as the read workers hand the stories back (one writer: two would
wait for each other's locks), into a SQLite file beside the cache
(`<out>.bodies.sqlite`), and the story in memory holds only its key
(`models.Body`); whatever needs the HTML (the story's page, the feed, an
anthology, a search record) reads it from there, in whichever process it
runs. A build without a cache keeps the HTML in the stories themselves.

The file is a cache like the other: a body is keyed by the parse fingerprint
and the story's digest (equal keys, equal HTML), a key the build cache does
not name any more is removed when the cache is saved, and a story whose body
is not there is parsed again.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

_store: Path | None = None  #: the store this process's stories refer to
# (pid, connection, file identity, generation) of each thread: a forked worker opens its own, and so
# does the preview's search thread (one SQLite connection must not serve two threads at once).
_local = threading.local()
_generation = 0  #: counts the changes of store (`use`)


def path_for(cache: Path) -> Path:
    """The bodies of the build cache at `cache` (<out>.sqlite → <out>.bodies.sqlite)."""
    return cache.with_name(f"{cache.stem}.bodies.sqlite")


def use(store: Path | None) -> None:
    """Make `store` the one this process (and the workers it forks) keeps bodies in,
    opened again if its file was removed or replaced since."""
    global _store, _generation
    db = getattr(_local, "db", None)
    if store != _store or (db is not None and db[2] != _identity(store)):
        if db is not None and db[0] == os.getpid():
            db[1].close()
        _local.db, _store = None, store
        _generation += 1  # every thread opens the store again


def _identity(store: Path | None) -> tuple[int, int] | None:
    try:
        found = os.stat(store) if store is not None else None
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if found else None


def usable(store: Path) -> bool:
    """Whether bodies can be kept at `store` (its folder may be a file, its disk full).
    A store that is not a database (damaged) is removed and made anew: it is only a cache."""
    for attempt in (1, 2):
        try:
            _open(store).close()
            return True
        except sqlite3.DatabaseError:
            if attempt == 2:
                return False
            for leftover in (store, store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm")):
                try:
                    leftover.unlink(missing_ok=True)
                except OSError:
                    return False
        except (sqlite3.Error, OSError):
            return False
    return False


def _connection() -> sqlite3.Connection:
    if _store is None:
        raise KeyError("no body store")
    db = getattr(_local, "db", None)
    if db is None or db[0] != os.getpid() or db[3] != _generation:
        db = _local.db = (os.getpid(), _open(_store), _identity(_store), _generation)
    return db[1]


def _open(store: Path) -> sqlite3.Connection:
    store.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(store, timeout=60)
    db.execute("PRAGMA journal_mode=WAL")  # workers read and write while the others do
    db.execute("PRAGMA synchronous=OFF")  # a cache: a store a power cut damaged is not read (the stories are parsed again)
    db.execute("CREATE TABLE IF NOT EXISTS bodies (key TEXT PRIMARY KEY, html TEXT NOT NULL)")
    db.commit()
    return db


def read(key: str) -> str:
    """The HTML kept under `key`. KeyError when the store does not have it."""
    with closing(_connection().execute("SELECT html FROM bodies WHERE key = ?", (key,))) as found:
        row = found.fetchone()  # and the statement ended: no read left open on the store
    if row is None:
        raise KeyError(key)
    return row[0]


def put(rows: list[tuple[str, str]]) -> None:
    """(key, html) pairs, committed at once: every process sees them from now on."""
    if rows:
        db = _connection()
        db.executemany("INSERT OR IGNORE INTO bodies VALUES (?, ?)", rows)
        db.commit()


def keys(store: Path) -> set[str]:
    """The keys the store at `store` holds; none when it cannot be read."""
    try:
        with closing(_open(store)) as db:
            return {key for (key,) in db.execute("SELECT key FROM bodies")}
    except (sqlite3.Error, OSError):
        return set()


def keep_only(store: Path, wanted: set[str]) -> None:
    """Remove every body whose key is not in `wanted` from the store at `store`."""
    try:
        with closing(_open(store)) as db:
            stale = [(k,) for (k,) in db.execute("SELECT key FROM bodies") if k not in wanted]
            db.executemany("DELETE FROM bodies WHERE key = ?", stale)
            db.commit()
    except (sqlite3.Error, OSError):
        pass  # a store that cannot be cleaned only takes room
