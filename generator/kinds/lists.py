"""Lists of stories: all counties, one township, one standard, one tag."""
from __future__ import annotations

from ..plan import PagePlan, Planning, pager, paginated

KINDS = ("counties", "township", "standard", "tag")
URL = "counties/"


def plans(planning: Planning) -> list[PagePlan]:
    lib = planning.library
    result = [PagePlan(f"{URL}index.html", "counties.html", "counties", "县（市、区）总览",
                       deps=(lib.registry_digest, planning.county_counts))]
    for county in lib.counties:
        for town in county.townships:
            result += paginated(planning, "township", "township.html", town.url, f"{county.name}{town.name}的故事列表",
                                f"{county.name}/{town.name}", town.story_ids, (lib.registry_digest,))
    for standard in planning.settings.standards:
        result += paginated(planning, "standard", "standard.html", standard.url, f"类别“{standard.name}”",
                            standard.id, tuple(planning.standard_ids[standard.id]))
    for tag in lib.tags:
        first = lib.stories[tag.story_ids[0]].source  # a tag is written in stories: name one
        result += paginated(planning, "tag", "tag.html", tag.url, f"标签“{tag.name}”（用于 {first}）", tag.slug,
                            tag.story_ids, (tag.name, len(tag.story_ids)), first)
    return result


def context(plan: PagePlan, view) -> dict:
    if plan.kind == "counties":
        return dict(counties=view.library.counties, title="县（市、区）")
    ctx = dict(stories=view.stories(plan.items), pager=pager(plan))
    if plan.kind == "township":
        county, town = view.townships[tuple(plan.key.split("/", 1))]
        groups = [(b, [s for s in ctx["stories"] if s.branch == b.name]) for b in town.branches]
        ctx.update(county=county, township=town, groups=[g for g in groups if g[1]],
                   title=f"{town.name} · {county.name}")
    elif plan.kind == "standard":
        standard = view.standard_by_id[plan.key]
        ctx.update(standard=standard, title=standard.name)
    else:
        tag = next(t for t in view.library.tags if t.slug == plan.key)
        ctx.update(tag=tag, title=f"标签：{tag.name}")
    return ctx
