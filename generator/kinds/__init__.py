"""Every kind of page, one module a family, and the registry the build and
the renderer iterate; neither names a kind.

A kind module has:
- `KINDS`: the plan kinds it owns (the `kind` of its PagePlans);
- `plans(planning) -> list[PagePlan]`: its pages, each with every value its
  context reads in `deps` (tests/test_kinds.py checks this for all kinds);
- `context(plan, view) -> dict`: the template variables of one of its pages,
  added to what every page has (render.View.build);
- `FACES = True` when its pages show no story's body: its plans then depend
  only on `Planning.face_key`, and a session reuses them while that is equal
  (a preview's edit of a story's text plans only the kinds that show text).

Adding a kind: write its module, add it to MODULES, add its template(s).
"""
from __future__ import annotations

from ..config import Settings
from ..models import Library
from ..plan import Memo, PagePlan, Planning
from . import anthologies, coverage, free_pages, home, lists, ratings, search, showcases, site_files, story

# Planning order is the sitemap's order; site_files lists everything planned before it.
MODULES = (home, showcases, story, lists, anthologies, ratings, coverage, free_pages, search, site_files)
BY_KIND = {kind: module for module in MODULES for kind in module.KINDS}


def plan_pages(library: Library, settings: Settings, memo: Memo,
               formats: frozenset[str] = frozenset(), county: str | None = None) -> list[PagePlan]:
    """Every page of the site, kind by kind; `formats`: extra formats asked for
    (e.g. "pdf"); `county`: the county of a standalone county site."""
    planning = Planning(library, settings, memo, formats, county)
    known = memo.table("kind-plans")
    for module in MODULES:
        if getattr(module, "FACES", False):
            found = known.get(module.__name__)
            if found is None or found[0] != planning.face_key:
                found = known[module.__name__] = (planning.face_key, module.plans(planning))
            planning.plans += found[1]
        else:
            planning.plans += module.plans(planning)
    return planning.plans
