"""Library → the list of pages to render, each with its address and template.

A plan names what a page shows by ids, not by values, so that it is cheap to
make, compare and send to a worker.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import Settings
from .models import Library

PER_PAGE = 50  # lists longer than this continue on …/page/2/
FEED_SIZE = 50


@dataclass(frozen=True)
class PagePlan:
    address: str  #: where it is written, e.g. stories/x/index.html
    template: str  #: the theme template that renders it
    kind: str  #: home, story, counties, township, standard, tag, page, feed, sitemap, robots, notfound
    label: str  #: what it is, in words, for collision messages
    key: str = ""  #: the story id, tag slug, standard id, "county/township" or page slug it shows
    items: tuple[str, ...] = ()  #: story ids listed on this page
    number: int = 1  #: page number in a paginated list
    total: int = 1  #: number of pages in that list
    base: str = ""  #: the list's first address, e.g. tags/min-su/
    file: str | None = None  #: the source file, for messages

    @property
    def url(self) -> str:
        """The page's address as a link: index.html dropped."""
        return self.address[: -len("index.html")] if self.address.endswith("index.html") else self.address


def page_url(base: str, number: int) -> str:
    return base if number == 1 else f"{base}page/{number}/"


def _paginated(kind: str, template: str, base: str, label: str, key: str, ids: tuple[str, ...]) -> list[PagePlan]:
    chunks = [ids[i:i + PER_PAGE] for i in range(0, len(ids), PER_PAGE)] or [()]
    return [PagePlan(page_url(base, n) + "index.html", template, kind, label if n == 1 else f"{label}第 {n} 页",
                     key, chunk, n, len(chunks), base) for n, chunk in enumerate(chunks, 1)]


def plan_pages(library: Library, settings: Settings) -> list[PagePlan]:
    plans = [PagePlan("index.html", "index.html", "home", "首页")]
    for story in library.stories.values():
        plans.append(PagePlan(f"{story.url}index.html", "story.html", "story", f"故事“{story.title}”（{story.source}）",
                              story.id, file=story.source))
    plans.append(PagePlan("counties/index.html", "counties.html", "counties", "县（市、区）总览"))
    for county in library.counties:
        for town in county.townships:
            plans += _paginated("township", "township.html", town.url, f"{county.name}{town.name}的故事列表",
                                f"{county.name}/{town.name}", town.story_ids)
    for standard in settings.standards:
        ids = tuple(s.id for s in library.stories.values() if s.standard == standard.id)
        plans += _paginated("standard", "standard.html", f"standards/{standard.id}/", f"类别“{standard.name}”",
                            standard.id, ids)
    for tag in library.tags:
        plans += _paginated("tag", "tag.html", tag.url, f"标签“{tag.name}”", tag.slug, tag.story_ids)
    for page in library.pages:
        plans.append(PagePlan(f"{page.url}index.html", "page.html", "page", f"页面 {page.source}", page.slug,
                              file=page.source))
    newest = tuple(s.id for s in library.newest(FEED_SIZE))
    plans += [
        PagePlan("feed.xml", "feed.xml", "feed", "订阅源", items=newest),
        PagePlan("sitemap.xml", "sitemap.xml", "sitemap", "网站地图"),
        PagePlan("robots.txt", "robots.txt", "robots", "robots.txt"),
        PagePlan("404.html", "404.html", "notfound", "404 页面"),
    ]
    return plans
