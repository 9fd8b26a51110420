"""What a kind of page plans: `PagePlan` (address, template, format and
everything the page shows) and `Planning`, what every kind plans from.

A plan names what a page shows by ids, not by values, so that it is cheap to
make, compare and send to a worker. `deps` holds every value the page's
context is made from beyond the site-wide ones (story digests, names, counts,
page numbers); its fingerprint decides whether the page must be rendered
again. tests/test_kinds.py checks, for every kind at once, that no value a
page shows is missing from it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from .config import Settings
from .models import Library

PER_PAGE = 50  # lists longer than this continue on …/page/2/


@dataclass(frozen=True, slots=True)  # a province plans 108,000 pages: no __dict__ each
class PagePlan:
    address: str  #: where it is written, e.g. stories/x/index.html
    template: str  #: the theme template that renders it
    kind: str  #: which kind of page (kinds.BY_KIND); its module builds the context
    label: str  #: what it is, in words, for collision messages
    format: str = "html"  #: how it is written (formats.FORMATS): html, xml, text
    key: str = ""  #: the story id, tag slug, standard id, "county/township" or page slug it shows
    items: tuple[str, ...] = ()  #: story ids listed on this page
    number: int = 1  #: page number in a paginated list
    total: int = 1  #: number of pages in that list
    base: str = ""  #: the list's first address, e.g. tags/min-su/
    file: str | None = None  #: the source file, for messages
    deps: tuple = ()  #: the values this page shows, beyond the site-wide ones
    lastmod: str | None = None  #: for the sitemap: the date of a story
    in_sitemap: bool = True  #: listed in sitemap.xml (pages a reader lands on)
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)  #: see `fingerprint`

    @property
    def url(self) -> str:
        """The page's address as a link: index.html dropped."""
        return self.address[: -len("index.html")] if self.address.endswith("index.html") else self.address

    @property
    def fingerprint(self) -> str:
        """Hash of what this plan says the page shows (site-wide values and
        templates are added by the build). Kept on the plan: a preview reuses
        story plans between builds, so most are hashed once."""
        found = self._fingerprint
        if found is None:
            value = (self.kind, self.format, self.key, self.number, self.items, self.deps)
            found = hashlib.blake2b(repr(value).encode(), digest_size=12).hexdigest()
            object.__setattr__(self, "_fingerprint", found)
        return found


class Memo(Protocol):
    """Tables a kind may keep between builds of one session (see session.py);
    every key must hold all the values the entry was made from."""

    def table(self, name: str) -> dict: ...


@dataclass
class Planning:
    """What every kind plans from."""

    library: Library
    settings: Settings
    memo: Memo
    formats: frozenset[str] = frozenset()  #: formats asked for beyond html, xml and text (e.g. "pdf")
    county: str | None = None  #: a standalone county site's county: its showcase is the home page
    plans: list[PagePlan] = field(default_factory=list)  #: planned so far, in registry order of the kinds

    @cached_property
    def digest_of(self) -> dict[str, str]:
        """story id → digest: what a page that shows a story's body depends on."""
        return {i: s.digest for i, s in self.library.stories.items()}

    @cached_property
    def face_of(self) -> dict[str, str]:
        """story id → Story.face: what a page that lists or links a story depends on."""
        return {i: s.face for i, s in self.library.stories.items()}

    @cached_property
    def face_key(self) -> tuple:
        """Everything the pages that show no story's body are planned from: the
        settings and formats, the registry, every story's face, the free pages,
        prefaces and showcases, the ratings. Equal keys, equal plans."""
        lib = self.library
        return (self.settings, self.formats, self.county, lib.registry_digest, lib.from_registry,
                tuple(self.face_of.items()), tuple((p.slug, p.digest) for p in lib.pages),
                tuple((k, p.digest) for k, p in lib.prefaces.items()),
                tuple((k, s.digest) for k, s in lib.showcases.items()), lib.ratings)

    @cached_property
    def county_counts(self) -> tuple:
        """What a page that counts stories by county and township shows."""
        return tuple((c.name, c.story_count, tuple(len(t.story_ids) for t in c.townships))
                     for c in self.library.counties)

    @cached_property
    def _newest_rank(self) -> dict[str, int]:
        return {s.id: i for i, s in enumerate(self.library.by_date)}

    def newest_first(self, ids) -> tuple[str, ...]:
        """Story ids, newest first (equal dates: by id, as Library.by_date)."""
        return tuple(sorted(ids, key=self._newest_rank.__getitem__))

    @cached_property
    def standard_ids(self) -> dict[str, list[str]]:
        """standard id → ids of its stories, in display order."""
        ids: dict[str, list[str]] = {s.id: [] for s in self.settings.standards}
        for story in self.library.stories.values():
            if story.standard in ids:
                ids[story.standard].append(story.id)
        return ids


def page_url(base: str, number: int) -> str:
    return base if number == 1 else f"{base}page/{number}/"


def paginated(planning: Planning, kind: str, template: str, base: str, label: str, key: str,
              ids: tuple[str, ...], deps: tuple = (), file: str | None = None) -> list[PagePlan]:
    """A list of stories over as many pages as it takes, PER_PAGE a page."""
    face_of = planning.face_of
    chunks = [ids[i:i + PER_PAGE] for i in range(0, len(ids), PER_PAGE)] or [()]
    return [PagePlan(page_url(base, n) + "index.html", template, kind, label if n == 1 else f"{label}第 {n} 页",
                     key=key, items=chunk, number=n, total=len(chunks), base=base, file=file,
                     deps=(*deps, len(chunks), *map(face_of.__getitem__, chunk)))
            for n, chunk in enumerate(chunks, 1)]


def pager(plan: PagePlan) -> dict:
    """The pagination links of a list page."""
    return {
        "number": plan.number, "total": plan.total,
        "prev": page_url(plan.base, plan.number - 1) if plan.number > 1 else None,
        "next": page_url(plan.base, plan.number + 1) if plan.number < plan.total else None,
        "pages": [(n, page_url(plan.base, n)) for n in range(1, plan.total + 1)],
    }
