"""The search page: a search box, filters by county, standard and year, and the
results, all made in the reader's browser from the index files beside it
(search.py makes them; js/search.js searches them)."""
from __future__ import annotations

from ..plan import PagePlan, Planning
from ..search import URL, facets

KINDS = ("search",)
FACES = True  # shows no story's body (kinds/__init__.py)


def plans(planning: Planning) -> list[PagePlan]:
    # Not in the sitemap: a search page is not something a search engine should land on.
    return [PagePlan(f"{URL}index.html", "search.html", "search", "站内搜索",
                     deps=(facets(planning.library, planning.settings),), in_sitemap=False)]


def context(plan: PagePlan, view) -> dict:
    return dict(facets=facets(view.library, view.settings), title="站内搜索",
                description=f"在{view.settings.title}的全部故事里搜索：标题、正文、县乡镇和支部名称、作者和标签。")
