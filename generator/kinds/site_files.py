"""The files every site has: the feed, robots.txt, the 404 page, and the
sitemap of every page planned before them."""
from __future__ import annotations

from ..plan import PagePlan, Planning

KINDS = ("feed", "robots", "notfound", "sitemap")
FEED_SIZE = 50
FEED = "feed.xml"
SITEMAP = "sitemap.xml"


def plans(planning: Planning) -> list[PagePlan]:
    newest = tuple(s.id for s in planning.library.newest(FEED_SIZE))
    result = [
        PagePlan(FEED, "feed.xml", "feed", "订阅源", "xml", items=newest,
                 deps=tuple(map(planning.digest_of.__getitem__, newest)), in_sitemap=False),
        PagePlan("robots.txt", "robots.txt", "robots", "robots.txt", "text", in_sitemap=False),
        PagePlan("404.html", "404.html", "notfound", "404 页面", in_sitemap=False),
    ]
    # The sitemap's entries are exactly what it shows: (address, last change or None).
    entries = tuple((p.url, p.lastmod) for p in planning.plans if p.in_sitemap)
    return result + [PagePlan(SITEMAP, "sitemap.xml", "sitemap", "网站地图", "xml", deps=entries,
                              in_sitemap=False)]


def context(plan: PagePlan, view) -> dict:
    if plan.kind == "feed":
        stories = view.stories(plan.items)
        return dict(stories=stories, updated=max((s.date for s in stories), default=None))
    if plan.kind == "sitemap":
        return dict(entries=plan.deps)
    if plan.kind == "notfound":
        return dict(title="页面不存在")
    return {}
