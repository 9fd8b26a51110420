"""Frozen values that flow between the stages. Relations are names and ids,
never back-references, so every value pickles cleanly into a worker process.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from sys import intern
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any
from operator import attrgetter

from .chinese import reading_minutes, slugify

# Story and page HTML is made once for every address a site may have (the city
# site, a county site, the preview): links in it start with this, and the
# renderer puts the site's base path in its place (formats.py).
BASE = "/.gushihui-base./"


@dataclass(frozen=True)
class BranchRow:
    """One row of org.csv: a party branch and where it sits."""

    county: str
    township: str
    branch: str
    county_code: str = ""
    township_code: str = ""
    branch_code: str = ""
    line: int | None = None  #: line in org.csv; None when derived from the stories


@dataclass(frozen=True)
class Asset:
    """A file a story or page refers to, to be copied into the output."""

    source: str  #: path relative to content/, POSIX separators
    address: str  #: output address, e.g. media/a.jpg or stories/x/a.jpg
    line: int | None  #: where the reference stands in the referring file


@dataclass(frozen=True)
class Cover:
    url: str  #: address relative to the site root, e.g. media/a.jpg
    alt: str
    caption: str = ""
    picture: "Picture | None" = None  #: as published, once made (pictures.publish); None for an SVG


@dataclass(frozen=True)
class Variant:
    """One published size of a picture (images.py)."""

    address: str  #: e.g. media/x-480w-0123456789.webp; the hash is of the source and the settings
    width: int
    height: int
    mime: str  #: image/webp, image/jpeg, image/png or image/gif


@dataclass(frozen=True)
class Picture:
    """A picture as published: its sizes in a modern format (WebP) and in one
    every browser shows (JPEG; PNG when it has transparency; GIF when animated)."""

    address: str  #: as the story referred to it, e.g. media/x.jpg
    width: int  #: of the largest size, upright
    height: int
    modern: tuple[Variant, ...]  #: WebP, narrowest first; empty for an animated picture
    fallback: tuple[Variant, ...]  #: narrowest first
    key: str  #: hash of the source and the settings: equal keys, equal files

    @property
    def largest(self) -> Variant:
        return self.fallback[-1]

    @property
    def default(self) -> Variant:
        """What a browser that knows no srcset shows: the second smallest size (960 by default)."""
        return self.fallback[min(1, len(self.fallback) - 1)]


_KEY_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _shared_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple object for each order of frontmatter keys (most stories name the same ones)."""
    found = _KEY_ORDERS.get(keys)
    if found is None:
        found = tuple(map(intern, keys))
        if len(_KEY_ORDERS) < 1000:
            _KEY_ORDERS[found] = found
    return found


@dataclass(frozen=True, slots=True)
class Lines:
    """A story's frontmatter key → its line, for messages: the keys as a tuple shared by the
    stories that name the same keys in the same order, the lines as a tuple. A dict of them
    took about 900 bytes a story (90 MB for a province)."""

    keys: tuple[str, ...] = ()
    numbers: tuple[int, ...] = ()

    @classmethod
    def of(cls, lines: dict[str, int]) -> "Lines":
        return cls(_shared_keys(tuple(lines)), tuple(lines.values()))

    def __reduce__(self):
        """Unpickled by its constructor: a slotted dataclass's own way looks up its fields each
        time (a build unpickles one Lines and one Body a story: 20,000 at 10,000 stories)."""
        return Lines, (self.keys, self.numbers)

    def get(self, key: str, default: int | None = None) -> int | None:
        try:
            return self.numbers[self.keys.index(key)]
        except ValueError:
            return default

    def __getitem__(self, key: str) -> int:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found


@dataclass(frozen=True, slots=True)  # a province holds 100,000: no __dict__ each (about 600 bytes)
class Story:
    id: str
    slug: str
    title: str
    county: str
    township: str
    branch: str
    date: dt.date
    source: str  #: the file, as the user named it
    #: the body, sanitized; links already carry the base path. Not compared: the digest is.
    html: str = field(compare=False)
    summary: str
    characters: int  #: Han characters + Latin words, for reading time
    authors: tuple[str, ...] = ()
    standard: str | None = None  #: a standard id
    tags: tuple[str, ...] = ()
    cover: Cover | None = None
    featured: bool = False
    draft: bool = False
    origin: str = ""  #: 来源, the frontmatter's `source` (e.g. 丽水日报), or "". Not the file: that is `source`
    editor: str = ""  #: 责任编辑, the frontmatter's `editor`; "" when not given
    assets: tuple[Asset, ...] = ()
    lines: Lines = field(default_factory=Lines, compare=False)  #: frontmatter key → line
    digest: str = ""  #: hash of the file's text and place: equal digests, equal stories
    # Made when first asked for (see the properties below), never compared.
    _face: str | None = field(default=None, init=False, repr=False, compare=False)
    _url: str | None = field(default=None, init=False, repr=False, compare=False)
    _place: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def url(self) -> str:
        found = self._url
        if found is None:
            found = f"stories/{self.slug}/"
            object.__setattr__(self, "_url", found)
        return found

    @property
    def place(self) -> tuple:
        """Where the story stands in the library (its file, id, place in the registry,
        date, tags, draft): a preview arranges the library again only when one changes."""
        found = self._place
        if found is None:
            found = (self.source, self.id, self.county, self.township, self.branch, self.date, self.draft, self.tags)
            object.__setattr__(self, "_place", found)
        return found

    @property
    def face(self) -> str:
        """Hash of what a story shows where it is listed (a card, a link, a ranking):
        every field but its body, and the length as minutes of reading. A page that does
        not show the body depends on this, so an edit of the text below the summary
        renders the story's own page (and the feed and its anthology) only."""
        found = self._face
        if found is None:
            value = (self.id, self.slug, self.title, self.county, self.township, self.branch, self.date,
                     self.summary, reading_minutes(self.characters), self.authors, self.standard, self.tags,
                     self.cover, self.featured, self.draft, self.origin, self.editor)
            found = hashlib.blake2b(repr(value).encode(), digest_size=12).hexdigest()
            object.__setattr__(self, "_face", found)
        return found

    def __getstate__(self) -> tuple:
        """The fields, and the face (made in a worker, kept); not the address nor the
        place, cheaper to make again than to keep."""
        return tuple(_HTML.__get__(self, Story) if name == "html" else getattr(self, name) for name in _KEPT)

    def __setstate__(self, state: tuple) -> None:
        """Unpickling (the cache, a worker's parse): repeated names shared (sys.intern: one
        string object each, found in C), and the frontmatter's key order too. By position and
        through the slots' own setters: a build unpickles every story of the site."""
        values = list(state)
        for i in _SHARED_AT:
            if type(values[i]) is str:
                values[i] = intern(values[i])
        values[_TAGS_AT] = tuple(map(intern, values[_TAGS_AT]))
        values[_AUTHORS_AT] = tuple(map(intern, values[_AUTHORS_AT]))
        lines = values[_LINES_AT]
        values[_LINES_AT] = Lines(_shared_keys(lines.keys), lines.numbers)
        for set_slot, value in zip(_SETTERS, values):
            set_slot(self, value)
        _SET_URL(self, None)
        _SET_PLACE(self, None)


_KEPT = tuple(f.name for f in fields(Story) if f.name not in ("_url", "_place"))  # what a pickle holds
# Names that repeat across thousands of stories: one string object each in memory,
# not one per story as unpickling makes them (a province's stories are most of a build's memory).
_SHARED = ("county", "township", "branch", "standard", "origin", "editor")
_SHARED_AT = tuple(_KEPT.index(name) for name in _SHARED)
_TAGS_AT, _AUTHORS_AT, _LINES_AT = _KEPT.index("tags"), _KEPT.index("authors"), _KEPT.index("lines")
_SETTERS = tuple(Story.__dict__[name].__set__ for name in _KEPT)  #: the slots' (a frozen class's setattr refuses)
_SET_URL, _SET_PLACE = Story.__dict__["_url"].__set__, Story.__dict__["_place"].__set__


@dataclass(frozen=True, slots=True)
class Body:
    """A story's HTML as kept in the body store (bodies.py), by its key."""

    key: str

    def __reduce__(self):
        return Body, (self.key,)  # as Lines.__reduce__


_HTML = Story.__dict__["html"]  # the slot itself, under StoredStory's property


class StoredStory(Story):
    """A story whose HTML stays in the body store until something reads it:
    the same fields, the same equality; `html` is read on each use."""

    __slots__ = ()

    @property
    def html(self) -> str:
        value = _HTML.__get__(self, Story)
        if isinstance(value, Body):
            from . import bodies

            return bodies.read(value.key)
        return value

    @html.setter
    def html(self, value) -> None:  # only the dataclass's __init__ sets it (dataclasses.replace)
        _HTML.__set__(self, value)

    @property
    def stored(self) -> Body | str:
        """What the story holds for its HTML: the key in the body store (a Body), or the HTML."""
        return _HTML.__get__(self, Story)

    @classmethod
    def of(cls, story: Story, key: str) -> "StoredStory":
        """`story` with its HTML replaced by the key it is stored under."""
        stored = object.__new__(cls)
        for name in (*_KEPT, "_url", "_place"):
            if name != "html":
                object.__setattr__(stored, name, getattr(story, name))
        _HTML.__set__(stored, Body(key))
        return stored


@dataclass(frozen=True)
class FreePage:
    """A page from content/pages/: pages/about.md → about/."""

    slug: str
    title: str
    source: str
    html: str
    menu: int | None = None  #: position in the site menu; None keeps it out
    description: str = ""
    assets: tuple[Asset, ...] = ()
    digest: str = ""

    @property
    def url(self) -> str:
        return f"{self.slug}/"


@dataclass(frozen=True)
class Preface:
    """The optional preface of a township's anthology: anthologies/<county>/<township>.md."""

    county: str
    township: str
    source: str
    html: str
    title: str = ""  #: the book's title; empty: “<township>党建好故事汇编”
    editor: str = ""  #: 编印单位
    year: int | None = None
    assets: tuple[Asset, ...] = ()
    digest: str = ""


@dataclass(frozen=True)
class Showcase:
    """A county's introduction on its showcase: showcases/<county>.md."""

    county: str
    source: str
    html: str
    banner: Cover | None = None
    theme: str = ""  #: the county site's theme ("": the site's)
    accent: str = ""  #: a colour, e.g. #0b5394 ("": the theme's)
    assets: tuple[Asset, ...] = ()
    digest: str = ""


@dataclass(frozen=True)
class BranchNode:
    name: str
    code: str
    story_ids: tuple[str, ...]
    township_url: str = ""

    @property
    def slug(self) -> str:
        """The anchor of the branch on its township's page. Computed when a page
        shows it, in the worker that renders it: a city has ten thousand branches."""
        return slugify(self.name)

    @property
    def url(self) -> str:
        return f"{self.township_url}#{self.slug}"


@dataclass(frozen=True)
class Township:
    name: str
    slug: str
    code: str
    county: str
    county_slug: str
    branches: tuple[BranchNode, ...]
    story_ids: tuple[str, ...]  #: in display order: by branch, then date

    @property
    def url(self) -> str:
        return f"counties/{self.county_slug}/{self.slug}/"

    @property
    def anthology_url(self) -> str:
        """Its anthology; there is one when the township has a story."""
        return f"anthologies/{self.county_slug}/{self.slug}/"

    @property
    def anthology_pdf_url(self) -> str:
        """Its anthology as a PDF (made with build --pdf)."""
        return f"{self.anthology_url}anthology.pdf"


@dataclass(frozen=True)
class County:
    name: str
    slug: str
    code: str
    townships: tuple[Township, ...]

    @property
    def url(self) -> str:
        """Its showcase."""
        return f"counties/{self.slug}/"

    @property
    def story_count(self) -> int:
        return sum(len(t.story_ids) for t in self.townships)

    @property
    def branch_count(self) -> int:
        return sum(len(t.branches) for t in self.townships)


@dataclass(frozen=True)
class Tag:
    name: str
    slug: str
    story_ids: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"tags/{self.slug}/"


@dataclass(frozen=True)
class Library:
    """Everything the pages are made from, checked and ordered."""

    stories: dict[str, Story]  #: by id, in display (registry) order
    counties: tuple[County, ...]
    tags: tuple[Tag, ...]
    pages: tuple[FreePage, ...]
    from_registry: bool  #: False when there was no org.csv
    registry_digest: str = ""  #: changes when any name, code or order in the registry changes
    neighbours: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  #: id → (prev, next) in its township
    prefaces: dict[tuple[str, str], Preface] = field(default_factory=dict)  #: (county, township) → its preface
    showcases: dict[str, Showcase] = field(default_factory=dict)  #: county → its introduction
    ratings: Any = None  #: ratings.Ratings of the judges' scores, None without content/ratings/

    def texts(self) -> list:
        """Everything written in Markdown, which may refer to files: stories, pages, prefaces, showcases."""
        return [*self.stories.values(), *self.pages, *self.prefaces.values(), *self.showcases.values()]

    def coverage(self) -> tuple[int, int]:
        """(branches with at least one story, all branches)."""
        branches = [b for c in self.counties for t in c.townships for b in t.branches]
        return sum(1 for b in branches if b.story_ids), len(branches)

    @cached_property
    def by_date(self) -> list[Story]:
        """Newest first; equal dates by id, so the order never depends on reading order."""
        return sorted(self.stories.values(), key=attrgetter("date", "id"), reverse=True)

    def newest(self, n: int | None = None) -> list[Story]:
        return self.by_date[:n] if n else list(self.by_date)

    def featured(self, n: int) -> list[Story]:
        return [s for s in self.by_date if s.featured][:n]
