"""Township anthologies (乡镇集中汇编): each township's whole book on one
printable page (cover, preface, contents, every story in full, colophon),
and with --pdf the same page as a PDF beside it; and the list of them all."""
from __future__ import annotations

import re

from ..plan import PagePlan, Planning

KINDS = ("anthology", "anthologies")
URL = "anthologies/"
_ID = re.compile(r'id="|href="#')  # after white space (\s): checked in _own_ids, faster than in the pattern


def plans(planning: Planning) -> list[PagePlan]:
    lib, digest_of = planning.library, planning.digest_of
    pdf = "pdf" in planning.formats
    books = tuple((key, p.title, p.digest) for key, p in sorted(lib.prefaces.items()))
    result = [PagePlan(f"{URL}index.html", "anthologies.html", "anthologies", "乡镇汇编总览",
                       deps=(lib.registry_digest, planning.county_counts, (books, pdf)))]
    for county in lib.counties:
        for town in county.townships:
            if not town.story_ids:
                continue
            preface = lib.prefaces.get((county.name, town.name))
            # The last value says whether a PDF is made: the page links to it.
            deps = (lib.registry_digest, preface.digest if preface else None,
                    *map(digest_of.__getitem__, town.story_ids), pdf)
            key, label, base = f"{county.name}/{town.name}", f"{county.name}{town.name}的汇编", town.anthology_url
            result.append(PagePlan(f"{base}index.html", "anthology.html", "anthology", label, key=key,
                                   items=town.story_ids, deps=deps))
            if pdf:
                result.append(PagePlan(town.anthology_pdf_url, "anthology.html", "anthology", f"{label}（PDF）", "pdf",
                                       key=key, items=town.story_ids, deps=deps, in_sitemap=False))
    return result


def context(plan: PagePlan, view) -> dict:
    lib = view.library
    if plan.kind == "anthologies":
        return dict(counties=lib.counties, prefaces=lib.prefaces, title="乡镇汇编", pdf=plan.deps[-1][-1],
                    description=f"{view.settings.city}各乡镇（街道）的党建好故事汇编，可在线阅读、打印。")
    county, town = view.townships[tuple(plan.key.split("/", 1))]
    preface = lib.prefaces.get((county.name, town.name))
    stories = view.stories(plan.items)
    groups = [(b, [s for s in stories if s.branch == b.name]) for b in town.branches]
    book = (preface.title if preface and preface.title else f"{town.name}党建好故事汇编")
    return dict(county=county, township=town, preface=preface, groups=[g for g in groups if g[1]],
                stories=stories, bodies={s.id: _own_ids(s.html, s.slug) for s in stories},
                book_title=book, title=book, description=f"{county.name}{town.name}各党支部的{len(stories)}个党建好故事，"
                                                         "按支部编排，可在线阅读、打印。", editor=(preface.editor if preface and preface.editor else
                                                     f"{county.name}{town.name}"),
                year=(preface.year if preface and preface.year else max(s.date.year for s in stories)),
                paper=view.settings.anthology.paper, pdf_url=town.anthology_pdf_url if plan.deps[-1] else None)


def _own_ids(html: str, slug: str) -> str:
    """A story's HTML with its ids (headings, footnotes) made unique in the book."""
    tail = f"{slug}--"

    def own(match: re.Match) -> str:
        start = match.start()
        return match.group() + tail if start and html[start - 1].isspace() else match.group()

    return _ID.sub(own, html)
