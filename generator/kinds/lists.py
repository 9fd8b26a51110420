"""Lists of stories: all counties, one township, one standard, one tag.

Tag and standard lists are newest first, as Chinese portals list news; a
township's list keeps its branches in the registry's order, each newest first.
"""
from __future__ import annotations

from ..plan import PagePlan, Planning, pager, paginated

KINDS = ("counties", "township", "standard", "tag")
FACES = True  # shows no story's body (kinds/__init__.py)
URL = "counties/"


def plans(planning: Planning) -> list[PagePlan]:
    lib = planning.library
    result = [PagePlan(f"{URL}index.html", "counties.html", "counties", "县（市、区）总览",
                       deps=(lib.registry_digest, planning.county_counts))]
    newest = planning.newest_first
    for county in lib.counties:
        for town in county.townships:
            branch = {b.name: i for i, b in enumerate(town.branches)}
            ids = tuple(sorted(newest(town.story_ids), key=lambda i: branch[lib.stories[i].branch]))  # stable
            result += paginated(planning, "township", "township.html", town.url, f"{county.name}{town.name}的故事列表",
                                f"{county.name}/{town.name}", ids, (lib.registry_digest, len(ids)))
    for standard in planning.settings.standards:
        ids = newest(planning.standard_ids[standard.id])
        result += paginated(planning, "standard", "standard.html", standard.url, f"类别“{standard.name}”",
                            standard.id, ids, (len(ids),))
    for tag in lib.tags:
        first = lib.stories[tag.story_ids[0]].source  # a tag is written in stories: name one
        result += paginated(planning, "tag", "tag.html", tag.url, f"标签“{tag.name}”（用于 {first}）", tag.slug,
                            newest(tag.story_ids), (tag.name, len(tag.story_ids)), first)
    return result


def _page(plan: PagePlan) -> str:
    return f"（第 {plan.number} 页）" if plan.number > 1 else ""


def context(plan: PagePlan, view) -> dict:
    city = view.settings.city
    if plan.kind == "counties":
        counties = view.library.counties
        return dict(counties=counties, title="县（市、区）",
                    description=f"{city}{len(counties)}个县（市、区）的乡镇（街道）、党支部和党建好故事。")
    ctx = dict(stories=view.stories(plan.items), pager=pager(plan))
    page = _page(plan)
    if plan.kind == "township":
        county, town = view.townships[tuple(plan.key.split("/", 1))]
        groups = [(b, [s for s in ctx["stories"] if s.branch == b.name]) for b in town.branches]
        ctx.update(county=county, township=town, groups=[g for g in groups if g[1]],
                   title=f"{town.name} · {county.name}{page}",
                   description=f"{county.name}{town.name}{len(town.branches)}个党支部讲述的"
                               f"{len(town.story_ids)}个党建好故事{page}。")
    elif plan.kind == "standard":
        standard = view.standard_by_id[plan.key]
        ctx.update(standard=standard, title=f"{standard.name}{page}",
                   description=f"{city}党建好故事中“{standard.name}”一类的"
                               f"{view.standard_counts[standard.id]}个故事，最新的在前{page}。")
    else:
        tag = next(t for t in view.library.tags if t.slug == plan.key)
        ctx.update(tag=tag, title=f"标签：{tag.name}{page}",
                   description=f"{city}党建好故事中标签为“{tag.name}”的{len(tag.story_ids)}个故事，最新的在前{page}。")
    return ctx
