"""Free pages from content/pages/: pages/about.md → about/."""
from __future__ import annotations

from ..plan import PagePlan, Planning

KINDS = ("page",)
FACES = True  # shows no story's body (kinds/__init__.py)


def plans(planning: Planning) -> list[PagePlan]:
    return [PagePlan(f"{page.url}index.html", "page.html", "page", f"页面 {page.source}", key=page.slug,
                     file=page.source, deps=(page.digest,))
            for page in planning.library.pages]


def context(plan: PagePlan, view) -> dict:
    page = next(p for p in view.library.pages if p.slug == plan.key)
    return dict(page=page, title=page.title)
