"""Every story and free page read, parsing only what the cache cannot vouch
for: a story file is unchanged when its stat matches the cached one, or else
the hash of its text; and the parse fingerprint (settings, version) is equal.
Parsing itself runs in worker processes (workers.py)."""
from __future__ import annotations

import hashlib
import pickle
from contextlib import closing
from pathlib import Path
from typing import Callable, Iterable

from . import __version__, bodies
from .cache import Cache, CacheError, Entry
from .chinese import remember_slugs, unknown_slugs
from .config import Rating, Settings
from .encoding import read_text
from .errors import Problem
from .files import listing
from .models import BranchRow, Story
from .ratings import Ratings, pack, parse_judges, parse_scores, rate, unpack
from .reader import digest, parse_page, read_page, unavailable_assets
from .registry import Registry, load_registry
from .workers import read_stories

Progress = Callable[[str, int, int], None]
STORY_FILES = (".md", ".markdown")  # in any case: Windows users save story.MD
Scan = tuple[dict, dict]  # changes.scan_content: (files, links leading out of content/)
KEEP_PICKLES = 20_000  # stories parsed in one build whose pickles are kept for the cache (see _parse_all)


def is_text(location: str, folder: str) -> bool:
    """A Markdown file below `folder` (e.g. "stories/")."""
    return location.startswith(folder) and location.lower().endswith(STORY_FILES)


def read_all_stories(content: Path, found: Scan, settings: Settings, jobs: int, progress: Progress | None,
                     cache: Cache | None, names: Iterable[str] = ()) -> tuple[list[Story], list[Problem]]:
    """Every story file → Story (those with errors left out) and the problems. `names` (of the
    registry): the workers that parse stories make the slugs of those no build made yet."""
    problems: list[Problem] = []
    names = unknown_slugs(names)
    try:
        results = _parse_all(content, found[0], settings, jobs, progress, cache, names)
    except CacheError as exc:  # a cached parse that cannot be read: trust nothing in that cache
        problems.append(Problem("W601", f"构建缓存无效（{exc}），已丢弃，这次完整构建", str(cache.path)))
        cache.clear()
        results = _parse_all(content, found[0], settings, jobs, progress, cache, names)
    stories = []
    for story, more in results:
        problems += more
        if story is not None:
            missing = unavailable_assets(story, *found) if story.assets else None
            if missing:
                problems += missing
            else:
                stories.append(story)
    return stories, problems


def _parse_all(content: Path, files: dict, settings: Settings, jobs: int, progress: Progress | None,
               cache: Cache | None, names: list[str] = ()) -> list[tuple]:
    locations = [k for k in listing(files, "stories/") if k.lower().endswith(STORY_FILES)]
    # What parsing depends on besides the text: the standards are resolved (links carry no base path).
    value = (__version__, str(content), settings.standards)
    parse_fp = hashlib.blake2b(repr(value).encode(), digest_size=12).hexdigest()
    results: list = [None] * len(locations)
    todo: list[int] = []
    for i, location in enumerate(locations):
        entry = cache.story(location) if cache else None
        if entry and entry.parse_fp == parse_fp:
            if entry.stat == files[location]:
                results[i] = cache.result(entry)
                continue
            if _same_text(content / location, location, entry, files[location]):
                results[i] = cache.result(entry)
                cache.put_story(location, entry)  # remember the new stat
                continue
        todo.append(i)
    # With a cache, a parsed story's HTML goes to the body store (bodies.py), not into memory;
    # the stories of this build, parsed now or cached, read their bodies from there.
    if cache is not None and cache.path is not None:
        bodies.use(bodies.path_for(cache.path))
    keep = parse_fp if cache is not None and cache.keeps_bodies else None
    # The workers' pickles save the cache pickling the stories again, but cost memory:
    # past this many, the cache pickles them itself when it is saved.
    keep_pickles = len(todo) <= KEEP_PICKLES
    # Each result is taken as it comes back, so that the pickles are not all held at once.
    kept: list[tuple[str, str]] = []
    with closing(read_stories([content / locations[i] for i in todo], content, settings, jobs, progress,
                              keep, names)) as fresh:
        for (blob, text_digest, stat, slugs, stored, indexed), i in zip(fresh, todo):
            body = None
            if stored is not None:  # its body to the store: a few hundred at a time, in one transaction
                body = stored[0]
                kept.append(stored)
                if len(kept) >= 500:
                    bodies.put(kept)
                    kept = []
            results[i] = value = pickle.loads(blob)  # made by our own worker a moment ago
            remember_slugs(slugs)
            if cache is not None and indexed is not None:
                cache.search[indexed[0]] = indexed[1]  # search.shards finds it there
            if cache is not None and text_digest:
                cache.put_story(locations[i], Entry(stat, text_digest, parse_fp, blob=blob if keep_pickles else None,
                                                    value=value, body=body))
    bodies.put(kept)  # every body is in the store before any page that shows it is rendered
    if cache is not None:
        cache.keep_only(set(locations))
    return results


def _same_text(path: Path, location: str, entry: Entry, stat: tuple[int, int, int]) -> bool:
    """A touched but unchanged file: same text, so the cached parse still holds."""
    text, _ = read_text(path)
    if text is None or digest(text, location) != entry.digest:
        return False
    entry.stat = stat
    return True


def read_all_pages(content: Path, found: Scan, settings: Settings, folder: str = "pages/", depth: int = 1,
                   parse=parse_page) -> tuple[list, list[Problem]]:
    """Every free page, content/pages/*.md; with folder="anthologies/",
    depth=2 and parse_preface, every anthology's preface."""
    pages, problems = [], []
    shape = {"pages/": "pages/页面名.md", "anthologies/": "anthologies/县名/乡镇名.md",
             "showcases/": "showcases/县名.md"}.get(folder, folder)
    problems += [Problem("W325", f"这个文件没有读取：应放在 {shape}", str(content / k))
                 for k in listing(found[0], folder) if is_text(k, folder) and k.count("/") != depth]
    for location in [k for k in listing(found[0], folder) if k.count("/") == depth and is_text(k, folder)]:
        page, more = read_page(content / location, content, settings, *found, parse=parse)
        problems += more
        if page is not None:
            pages.append(page)
    return pages, problems


# A province's registry (100,000 rows and more) is parsed again each build (0.7 s): pickling it for
# the cache, at the end of the build that parsed it, took 25 MB more at the build's peak of memory.
REGISTRY_ROWS_KEPT = 30_000


def read_registry(content: Path, files: dict, cache: Cache | None = None) -> tuple[Registry | None, list[Problem]]:
    """content/org.csv → the registry (registry.load_registry). The cache keeps its rows by the
    file's stat, up to REGISTRY_ROWS_KEPT: a city's 11,000 are unpickled in half the time they are parsed."""
    value = (__version__, str(content), files.get("org.csv"))
    key = hashlib.blake2b(repr(value).encode(), digest_size=16).hexdigest()
    found = cache.cached_registry(key) if cache is not None else None
    if found is not None:
        try:
            rows, problems = found
            if (rows is None or all(type(r) is BranchRow for r in rows)) and \
                    all(type(p) is Problem for p in problems):
                return (Registry(tuple(rows)) if rows is not None else None), list(problems)
        except (TypeError, ValueError):
            pass
        # not what this version writes: read the file again
    registry, problems = load_registry(content)
    if cache is not None:
        kept = registry is None or len(registry.rows) <= REGISTRY_ROWS_KEPT
        cache.registry = (key, (registry.rows if registry is not None else None, tuple(problems))) if kept else None
    return registry, problems


def read_ratings(content: Path, files: dict, stories: list[Story], rating: Rating,
                 cache: Cache | None = None) -> tuple[Ratings | None, list[Problem]]:
    """ratings/judges.csv and ratings/scores.csv → the results; None without
    either. The cache keeps the last results with the hash of their inputs."""
    names = ("ratings/judges.csv", "ratings/scores.csv")
    if not any(n in files for n in names):
        return None, []
    info = {s.id: (s.county, s.township, s.draft) for s in stories}
    value = (__version__, str(content), [files.get(n) for n in names], rating, sorted(info.items()))
    key = hashlib.blake2b(repr(value).encode(), digest_size=16).hexdigest()
    found = cache.cached_ratings(key) if cache is not None else None
    if found is not None:
        try:
            packed, problems = found
            return (unpack(packed) if packed is not None else None), list(problems)
        except (TypeError, ValueError, ZeroDivisionError):
            pass  # not what this version writes: make them again
    ratings, problems = _read_ratings(content, files, info, rating, names)
    if cache is not None:
        cache.ratings = (key, pickle.dumps((pack(ratings) if ratings is not None else None, problems),
                                           protocol=pickle.HIGHEST_PROTOCOL))
    return ratings, problems


def _read_ratings(content: Path, files: dict, info: dict, rating: Rating,
                  names: tuple[str, str]) -> tuple[Ratings | None, list[Problem]]:
    texts, problems = [], []
    for name in names:
        if name not in files:
            problems.append(Problem("E330", f"有评分就要有 {name}", str(content / name)))
            texts.append(None)
            continue
        text, more = read_text(content / name)
        problems += more
        texts.append(text)
    if None in texts:
        return None, problems
    judges, more = parse_judges(texts[0], str(content / names[0]))
    problems += more
    scores, more = parse_scores(texts[1], rating.criteria, str(content / names[1]))
    problems += more
    ratings, more = rate(judges, scores, info, rating, str(content / names[1]))
    return ratings, problems + more
