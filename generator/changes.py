"""What is on disk and what changed: one scan of file stats, updated from a
watcher's list in a live preview, and the signature of every input."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

from . import __version__
from .files import Files
from .render import BUILTIN_THEMES

Stat = tuple[int, int, int]  #: (mtime_ns, size, ctime_ns): ctime catches an edit whose mtime was put back


def rescan(content: Path, last: tuple | None,
           changed: Iterable[str] | None) -> tuple[dict[str, Stat], dict[str, str]]:
    """The scan of content/ (see `scan_content`): `last` (the previous one)
    updated from the watcher's list of changed files when there is one; a
    folder or a link that appeared, vanished or changed means a full scan."""
    if changed is None or last is None:
        found = scan_content(content)
    else:
        files, root = Files(last[0], listings=getattr(last[0], "listings", None)), content.resolve()
        found = (files, last[1])
        for name in changed:
            try:
                rel = Path(os.path.abspath(name)).relative_to(root).as_posix()
            except ValueError:
                continue  # a theme file: the theme is looked at on every build anyway
            path = root / rel
            if any(part.startswith(".") for part in rel.split("/")):
                continue
            if path.is_symlink() or path.is_dir() or \
                    (not path.exists() and any(k.startswith(rel + "/") for k in (*files, *last[1]))):
                found = scan_content(content)
                break
            if path.is_file():
                if rel not in files:
                    files.listings = {}
                files[rel] = _stat(path.stat())
            elif files.pop(rel, None) is not None:
                files.listings = {}
    return found


def _stat(stat: os.stat_result) -> Stat:
    return stat.st_mtime_ns, stat.st_size, stat.st_ctime_ns


def scan(root: Path) -> Files:
    """Every file below root (hidden ones left out): POSIX path → stat.
    Links are followed: for a theme, which is trusted code."""
    return _walk(root, None)


def scan_content(content: Path) -> tuple[Files, dict[str, str]]:
    """Every file below content/ (hidden ones left out), and apart from them
    the links (to a file or a folder) that lead out of content/: path → where
    they lead. Content may come from anyone who can commit; a link must not
    publish the build machine's files."""
    outside: dict[str, str] = {}
    return _walk(content, outside), outside


def _walk(root: Path, outside: dict[str, str] | None) -> Files:
    found = Files()
    base = os.path.realpath(root)
    seen: set[tuple[int, int]] = set()  # folders already walked (device, inode): a link back up must not loop

    def walk(folder: str, prefix: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink() and outside is not None:
                target = os.path.realpath(entry.path)
                if target != base and not target.startswith(base + os.sep):
                    outside[prefix + entry.name] = target
                    continue
            if entry.is_dir():
                stat = entry.stat()
                if (stat.st_dev, stat.st_ino) not in seen:
                    seen.add((stat.st_dev, stat.st_ino))
                    walk(entry.path, f"{prefix}{entry.name}/")
            elif entry.is_file():
                found[prefix + entry.name] = _stat(entry.stat())

    try:
        stat = os.stat(root)
    except OSError:
        return found
    seen.add((stat.st_dev, stat.st_ino))
    walk(str(root), "")
    return found


def signature(content: Path, options: tuple, files_in: dict, outside: dict) -> str:
    """Every input, cheaply: each file's path, mtime and size below content/,
    the site's themes and the built-in themes, plus the options that shape
    the output. Equal signatures mean an equal site."""
    themes = [sorted(scan(root).items()) for root in (content.resolve().parent / "themes", BUILTIN_THEMES)]
    value = (__version__, str(content.resolve()), options, sorted(files_in.items()), sorted(outside.items()), themes)
    return hashlib.blake2b(repr(value).encode(), digest_size=12).hexdigest()
