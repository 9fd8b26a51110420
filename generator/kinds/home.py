"""The home page of the city exhibition."""
from __future__ import annotations

from ..coverage import coverage
from ..plan import PagePlan, Planning

KINDS = ("home",)
FACES = True  # shows no story's body (kinds/__init__.py)
FEATURED = 6
NEWEST = 10


def plans(planning: Planning) -> list[PagePlan]:
    if planning.county is not None:
        return []  # a county's own site: its showcase is the home page
    lib = planning.library
    return [PagePlan("index.html", "index.html", "home", "首页", deps=(
        lib.registry_digest, planning.county_counts, tuple((k, len(v)) for k, v in planning.standard_ids.items()),
        tuple(s.face for s in lib.featured(FEATURED)), tuple(s.face for s in lib.newest(NEWEST)),
        coverage(lib).share if lib.from_registry else None))]


def context(plan: PagePlan, view) -> dict:
    lib = view.library
    return dict(featured=lib.featured(FEATURED), newest=lib.newest(NEWEST), counties=lib.counties,
                standard_counts=view.standard_counts, story_count=len(lib.stories),
                branch_count=sum(c.branch_count for c in lib.counties), title=view.settings.title,
                coverage=view.coverage.share if view.coverage else None)
