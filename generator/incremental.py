"""What a build must render and write again: page fingerprints, and the
choice between writing a whole new site and moving in only what changed.

A page's fingerprint is its plan's (what the page shows, plan.py), with its
templates (its own and every one it extends, includes or imports) and what
every page shows (settings, the menu, our version). The cache's manifest
keeps the fingerprints the output was rendered from; the marker in the
output proves the output is that manifest (its token is the manifest's hash).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from . import __version__
from .cache import Cache
from .changes import scan
from .config import Settings
from .errors import Problem
from .models import Library
from .output import read_marker
from .plan import PagePlan
from .render import Theme, make_environment, site_nav, template_fingerprints
from .session import Session


def digest(value) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=12).hexdigest()


def fingerprints(theme: Theme, settings: Settings, library: Library, plans: list[PagePlan],
                 session: Session) -> dict[str, str]:
    """address → fingerprint of every page."""
    key = tuple(sorted((str(d), name, stat) for d in theme.template_dirs for name, stat in scan(d).items()))
    templates = session.last("templates", (key, theme),
                             lambda: template_fingerprints(make_environment(theme, settings)))
    common = digest((__version__, settings, site_nav(library, settings)))
    prefix = {name: digest((common, fp)) for name, fp in templates.items()}
    missing = digest((common, None))  # a template the theme lacks: rendering reports it
    return {p.address: prefix.get(p.template, missing) + p.fingerprint for p in plans}


def manifest_token(pages: dict[str, str], sources: dict[str, tuple]) -> str:
    """The hash of a manifest, in any order of its entries: its lines hashed in order of
    address, one at a time (a province's 108,000 joined at once took 70 MB). NUL cannot be
    in an address, nor a newline in a fingerprint or a repr: no two manifests hash alike."""
    h = hashlib.blake2b(digest_size=12)
    for a in sorted(pages):
        h.update(f"{a}\0{pages[a]}\n".encode())
    h.update(b"\n")
    for a in sorted(sources):
        h.update(f"{a}\0{sources[a]!r}\n".encode())
    return h.hexdigest()


def file_stat(path: Path) -> tuple[str, int, int, int]:
    """What a copied file's manifest entry compares: its source and stat."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size, stat.st_ctime_ns


@dataclass
class Work:
    pages: list[PagePlan]  #: to render
    copies: list[str]  #: addresses of files to copy
    stale: set[str] | None  #: addresses to remove; None: a whole new site is staged and swapped in
    token: str  #: names the output this build writes (the hash of its manifest)


def pages_to_render(out: Path, cache: Cache | None, plans: list[PagePlan],
                    pages: dict[str, str]) -> tuple[list[PagePlan], bool]:
    """The pages to render, and whether a whole new site is staged: when there is no record
    of what the output holds, or more than half of the pages changed (moving most files one
    by one costs more than a swap)."""
    if cache is None or not cache.token or read_marker(out) != cache.token:
        return plans, True
    todo = [p for p in plans if cache.pages.get(p.address) != pages[p.address]]
    if len(todo) * 2 > len(plans):
        return plans, True
    return todo, False


def choose(out: Path, cache: Cache | None, plans: list[PagePlan], files: dict, pages: dict[str, str],
           sources: dict[str, tuple], chosen: tuple[list[PagePlan], bool] | None = None) -> Work:
    """What to render and copy: everything, unless the cache's manifest is known to describe
    the output and fewer than half of the pages changed. `chosen`: `pages_to_render`'s answer,
    when the pages were rendered before the copied files were all known."""
    todo, whole = chosen or pages_to_render(out, cache, plans, pages)
    token = manifest_token(pages, sources)
    if whole:
        return Work(todo, list(files), None, token)
    copies = [a for a in files if cache.files.get(a) != sources[a]]
    stale = (set(cache.pages) | set(cache.files)) - set(pages) - set(files)
    return Work(todo, copies, stale, token)


def one_per_place(problems: list[Problem]) -> list[Problem]:
    """One broken template line breaks many pages: report it once, with the count."""
    first: dict[tuple, Problem] = {}
    count: dict[tuple, int] = {}
    for p in problems:
        key = (p.code, p.file, p.line)
        first.setdefault(key, p)
        count[key] = count.get(key, 0) + 1
    return [p if count[k] == 1 else replace(p, message=f"{p.message}（共 {count[k]} 个页面出错）")
            for k, p in first.items()]
