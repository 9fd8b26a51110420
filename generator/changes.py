"""What is on disk and what changed: one scan of file stats, updated from a
watcher's list in a live preview, and the signature of every input."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

from . import __version__
from .cache import Cache
from .render import BUILTIN_THEMES


def rescan(content: Path, cache: Cache | None, changed: Iterable[str] | None) -> dict[str, tuple[int, int]]:
    """The scan of content/, updated from the watcher's list of changed files
    when there is one; a folder that appeared or vanished means a full scan."""
    last = cache.memo.get("scan") if cache is not None else None
    if changed is None or last is None:
        files = scan(content)
    else:
        files, root = dict(last), content.resolve()
        for name in changed:
            try:
                rel = Path(name).resolve().relative_to(root).as_posix()
            except ValueError:
                continue  # a theme file: the theme is looked at on every build anyway
            path = root / rel
            if any(part.startswith(".") for part in rel.split("/")):
                continue
            if path.is_dir() or (not path.exists() and any(k.startswith(rel + "/") for k in files)):
                files = scan(content)
                break
            if path.is_file():
                stat = path.stat()
                files[rel] = (stat.st_mtime_ns, stat.st_size)
            else:
                files.pop(rel, None)
    if cache is not None:
        cache.memo["scan"] = files
    return files


def scan(root: Path) -> dict[str, tuple[int, int]]:
    """Every file below root (hidden ones left out): POSIX path → (mtime_ns, size)."""
    found: dict[str, tuple[int, int]] = {}

    def walk(folder: str, prefix: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                walk(entry.path, f"{prefix}{entry.name}/")
            elif entry.is_file():
                stat = entry.stat()
                found[prefix + entry.name] = (stat.st_mtime_ns, stat.st_size)

    walk(str(root), "")
    return found


def signature(content: Path, drafts: bool, base_url: str | None, files_in: dict) -> str:
    """Every input, cheaply: each file's path, mtime and size below content/,
    the site's themes and the built-in themes, plus the options that shape
    the output. Equal signatures mean an equal site."""
    themes = [sorted(scan(root).items()) for root in (content.resolve().parent / "themes", BUILTIN_THEMES)]
    value = (__version__, str(content.resolve()), drafts, base_url, sorted(files_in.items()), themes)
    return hashlib.blake2b(repr(value).encode(), digest_size=12).hexdigest()
