"""Library → the list of pages to render, each with its address, template and
what it depends on.

A plan names what a page shows by ids, not by values, so that it is cheap to
make, compare and send to a worker. `deps` lists every value the page's
context is made from (story digests, names, counts, page numbers); together
with the site-wide fingerprint (settings, theme, menu, version) it decides
whether a page must be rendered again. A new kind of page must list here
everything its context builder in render.py reads.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import Settings
from .models import Library

PER_PAGE = 50  # lists longer than this continue on …/page/2/
FEED_SIZE = 50
FEATURED = 6  # on the home page
NEWEST = 10


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
    deps: tuple = ()  #: the values this page shows, beyond the site-wide ones
    lastmod: str | None = None  #: for the sitemap: the date of a story

    @property
    def url(self) -> str:
        """The page's address as a link: index.html dropped."""
        return self.address[: -len("index.html")] if self.address.endswith("index.html") else self.address


def page_url(base: str, number: int) -> str:
    return base if number == 1 else f"{base}page/{number}/"


def _paginated(kind: str, template: str, base: str, label: str, key: str, ids: tuple[str, ...],
               digest_of: dict[str, str], deps: tuple = (), file: str | None = None) -> list[PagePlan]:
    chunks = [ids[i:i + PER_PAGE] for i in range(0, len(ids), PER_PAGE)] or [()]
    return [PagePlan(page_url(base, n) + "index.html", template, kind, label if n == 1 else f"{label}第 {n} 页",
                     key, chunk, n, len(chunks), base, file=file,
                     deps=(*deps, len(chunks), *map(digest_of.__getitem__, chunk)))
            for n, chunk in enumerate(chunks, 1)]


_story_plans: dict = {}  # (digest, neighbours' digests) → plan, from earlier builds of this process


def _story_plan(story, before: str | None, after: str | None) -> tuple[PagePlan, tuple]:
    """A story's page and its sitemap entry. The page depends on its own text
    (digest: text and place) and on its neighbours' (their titles in the links)."""
    key = (story.digest, before, after)
    found = _story_plans.get((key, story.source))  # the source names the file in messages
    if found is None:
        if len(_story_plans) > 4 * 65536:
            _story_plans.clear()
        plan = PagePlan(f"{story.url}index.html", "story.html", "story", f"故事“{story.title}”（{story.source}）",
                        story.id, file=story.source, deps=key, lastmod=story.date.isoformat())
        found = _story_plans[key, story.source] = (plan, (plan.url, plan.lastmod))
    return found


def plan_pages(library: Library, settings: Settings) -> list[PagePlan]:
    stories = library.stories
    digest_of = {i: s.digest for i, s in stories.items()}
    digest = digest_of.get  # a missing neighbour (None) has no digest
    county_counts = tuple((c.name, c.story_count, tuple(len(t.story_ids) for t in c.townships))
                          for c in library.counties)
    standard_ids = {s.id: [] for s in settings.standards}
    for story in stories.values():
        if story.standard in standard_ids:
            standard_ids[story.standard].append(story.id)
    plans = [PagePlan("index.html", "index.html", "home", "首页", deps=(
        library.registry_digest, county_counts, tuple((k, len(v)) for k, v in standard_ids.items()),
        tuple(s.digest for s in library.featured(FEATURED)), tuple(s.digest for s in library.newest(NEWEST))))]
    neighbours, entries = library.neighbours, [("", None)]  # the sitemap: home, stories, then the rest
    for story in stories.values():
        before, after = neighbours[story.id]
        plan, entry = _story_plan(story, digest(before), digest(after))
        plans.append(plan)
        entries.append(entry)
    rest = len(plans)
    plans.append(PagePlan("counties/index.html", "counties.html", "counties", "县（市、区）总览",
                          deps=(library.registry_digest, county_counts)))
    for county in library.counties:
        for town in county.townships:
            plans += _paginated("township", "township.html", town.url, f"{county.name}{town.name}的故事列表",
                                f"{county.name}/{town.name}", town.story_ids, digest_of, (library.registry_digest,))
    for standard in settings.standards:
        plans += _paginated("standard", "standard.html", f"standards/{standard.id}/", f"类别“{standard.name}”",
                            standard.id, tuple(standard_ids[standard.id]), digest_of)
    for tag in library.tags:
        first = stories[tag.story_ids[0]].source  # a tag is written in stories: name one
        plans += _paginated("tag", "tag.html", tag.url, f"标签“{tag.name}”（用于 {first}）", tag.slug, tag.story_ids,
                            digest_of, (tag.name, len(tag.story_ids)), first)
    for page in library.pages:
        plans.append(PagePlan(f"{page.url}index.html", "page.html", "page", f"页面 {page.source}", page.slug,
                              file=page.source, deps=(page.digest,)))
    newest = tuple(s.id for s in library.newest(FEED_SIZE))
    plans += [
        PagePlan("feed.xml", "feed.xml", "feed", "订阅源", items=newest, deps=tuple(map(digest, newest))),
        PagePlan("robots.txt", "robots.txt", "robots", "robots.txt"),
        PagePlan("404.html", "404.html", "notfound", "404 页面"),
    ]
    entries += [(p.url, None) for p in plans[rest:] if p.address.endswith(".html") and p.kind != "notfound"]
    plans.append(PagePlan("sitemap.xml", "sitemap.xml", "sitemap", "网站地图", deps=tuple(entries)))
    return plans
