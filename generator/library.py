"""Stories + registry → the frozen Library: checked names, ids, order, slugs."""
from __future__ import annotations

from dataclasses import replace

from .chinese import slugify
from .errors import Problem, did_you_mean, excerpt
from .models import BranchNode, BranchRow, County, FreePage, Library, Preface, Showcase, Story, Tag, Township
from .plan import Memo
from .registry import Registry


def build_library(registry: Registry | None, stories: list[Story], pages: list[FreePage], drafts: bool = False,
                  registry_file: str = "org.csv", memo: Memo | None = None,
                  prefaces: list[Preface] = (), showcases: list[Showcase] = ()) -> tuple[Library, list[Problem]]:
    """Check what the stories name against the registry and arrange everything
    in the registry's order. Stories with errors are left out; the problems say why.

    `memo` (a session's) keeps the last arrangement: a live preview mostly edits
    text, and when no story moved, was added or removed, only the story values
    change. Only an arrangement without problems is kept: a problem's line may
    move with any edit."""
    shape = (registry.digest if registry else None, drafts, registry_file,
             tuple(sorted([s.place for s in stories])))
    table = memo.table("arrangement") if memo is not None else {}
    if shape in table:
        library, problems = _rearranged(table[shape], stories, pages), []
    else:
        library, problems = _arrange(registry, stories, pages, drafts, registry_file)
        table.clear()
        if not problems:
            table[shape] = library
    found, more = _prefaces(library, prefaces)
    counties, more2 = _showcases(library, showcases)
    return replace(library, prefaces=found, showcases=counties), problems + more + more2


def _showcases(library: Library, showcases: list[Showcase]) -> tuple[dict, list[Problem]]:
    """Each introduction by its county; one for a county the registry lacks is E323."""
    names = [c.name for c in library.counties]
    found, problems = {}, []
    for showcase in showcases:
        if showcase.county in names:
            found[showcase.county] = showcase
        else:
            problems.append(Problem("E323", f"名册里没有“{excerpt(showcase.county)}”{did_you_mean(showcase.county, names)}"
                                    "；县（市、区）介绍应放在 showcases/县（市、区）名.md", showcase.source, 1))
    return found, problems


def only_county(library: Library, name: str) -> Library:
    """The library of a standalone county site: that county alone, its stories,
    its tags (counted in it), prefaces and introduction; no free pages (they
    speak for the city)."""
    stories = {i: s for i, s in library.stories.items() if s.county == name}
    tags = tuple(Tag(t.name, t.slug, ids) for t in library.tags
                 if (ids := tuple(i for i in t.story_ids if i in stories)))
    return replace(library, stories=stories, counties=tuple(c for c in library.counties if c.name == name),
                   tags=tags, pages=(), neighbours={i: n for i, n in library.neighbours.items() if i in stories},
                   prefaces={k: v for k, v in library.prefaces.items() if k[0] == name},
                   showcases={k: v for k, v in library.showcases.items() if k == name})


def _rearranged(library: Library, stories: list[Story], pages: list[FreePage]) -> Library:
    by_id = {s.id: s for s in stories}
    return replace(library, stories={i: by_id[i] for i in library.stories},
                   pages=tuple(sorted(pages, key=lambda p: p.source)))


def _prefaces(library: Library, prefaces: list[Preface]) -> tuple[dict, list[Problem]]:
    """Each preface by the township it belongs to; one for a township the registry lacks is E322."""
    towns = {(c.name, t.name) for c in library.counties for t in c.townships}
    found, problems = {}, []
    for preface in prefaces:
        key = (preface.county, preface.township)
        if key in towns:
            found[key] = preface
            continue
        counties = {c.name: [t.name for t in c.townships] for c in library.counties}
        hint = did_you_mean(preface.township, counties[preface.county]) if preface.county in counties else \
            did_you_mean(preface.county, counties)
        problems.append(Problem("E322", f"名册里没有“{excerpt(preface.county)}/{excerpt(preface.township)}”{hint}"
                                "；汇编前言应放在 anthologies/县（市、区）名/乡镇（街道）名.md", preface.source, 1))
    return found, problems


def _arrange(registry: Registry | None, stories: list[Story], pages: list[FreePage],
             drafts: bool, registry_file: str) -> tuple[Library, list[Problem]]:
    problems: list[Problem] = []
    stories = _unique_ids(sorted(stories, key=lambda s: s.source), problems)
    if registry is None:
        registry = Registry(tuple(dict.fromkeys(BranchRow(s.county, s.township, s.branch) for s in stories)), False)
    names, position = registry.names, registry.position
    valid = []
    for story in stories:
        wrong = names.check(story.county, story.township, story.branch)
        if wrong:
            problems.append(Problem(wrong.code, wrong.message, story.source, story.lines.get(wrong.field, 1)))
        elif drafts or not story.draft:
            valid.append(story)
    valid.sort(key=lambda s: (position[(s.county, s.township, s.branch)], s.date, s.id))
    counties = _tree(registry.rows, valid, problems, registry_file)
    tags = _tags(valid, problems)
    neighbours = {}
    for county in counties:
        for town in county.townships:
            ids = (None, *town.story_ids, None)
            neighbours.update({ids[i]: (ids[i - 1], ids[i + 1]) for i in range(1, len(ids) - 1)})
    library = Library(stories={s.id: s for s in valid}, counties=counties, tags=tags,
                      pages=tuple(sorted(pages, key=lambda p: p.source)), from_registry=registry.from_file,
                      registry_digest=registry.digest, neighbours=neighbours)
    return library, problems


def _unique_ids(stories: list[Story], problems: list[Problem]) -> list[Story]:
    first: dict[str, Story] = {}
    for story in stories:
        if story.id in first:
            problems.append(Problem("E308", f"编号“{story.id}”已被 {first[story.id].source} 使用；"
                                    "请改文件名或在文件头写不同的 id", story.source, story.lines.get("id", 1)))
        else:
            first[story.id] = story
    return list(first.values())


def _tree(rows: tuple[BranchRow, ...], stories: list[Story], problems: list[Problem],
          registry_file: str) -> tuple[County, ...]:
    by_branch: dict[tuple[str, str, str], list[str]] = {}
    for s in stories:
        by_branch.setdefault((s.county, s.township, s.branch), []).append(s.id)
    plan: dict[str, dict[str, list[BranchRow]]] = {}
    for r in rows:
        plan.setdefault(r.county, {}).setdefault(r.township, []).append(r)
    counties, county_slugs = [], {}
    for county, towns in plan.items():
        cslug = _claim_slug(county, county_slugs, "县（市、区）", problems, registry_file)
        townships, town_slugs = [], {}
        for town, branch_rows in towns.items():
            tslug = _claim_slug(town, town_slugs, f"{county}的乡镇（街道）", problems, registry_file)
            url = f"counties/{cslug}/{tslug}/"
            branches = tuple(BranchNode(r.branch, r.branch_code, tuple(by_branch.get((county, town, r.branch), ())),
                                        url) for r in branch_rows)
            ids = tuple(i for b in branches for i in b.story_ids)
            townships.append(Township(town, tslug, branch_rows[0].township_code, county, cslug, branches, ids))
        counties.append(County(county, cslug, towns[next(iter(towns))][0].county_code, tuple(townships)))
    return tuple(counties)


def _claim_slug(name: str, taken: dict[str, str], what: str, problems: list[Problem], file: str) -> str:
    slug = slugify(name) or "x"
    if slug in taken:
        problems.append(Problem("E401", f"{what}“{taken[slug]}”和“{name}”的网址名都是“{slug}”", file))
    taken.setdefault(slug, name)
    return slug


def _tags(stories: list[Story], problems: list[Problem]) -> tuple[Tag, ...]:
    members: dict[str, list[str]] = {}
    for s in stories:
        for tag in s.tags:
            members.setdefault(tag, []).append(s.id)
    tags = []
    for name in sorted(members, key=lambda n: (slugify(n), n)):
        slug = slugify(name)
        if not slug:
            first = next(s for s in stories if name in s.tags)
            problems.append(Problem("E314", f"标签“{name}”无法生成网址名；请用含汉字、字母或数字的标签",
                                    first.source, first.lines.get("tags", 1)))
            continue
        tags.append(Tag(name, slug, tuple(members[name])))
    return tuple(tags)
