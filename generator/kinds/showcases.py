"""County showcases (县（市、区）集中宣传): each county's page on the city
site, counties/<slug>/; on a standalone county site it is the home page too."""
from __future__ import annotations

from ..coverage import coverage
from ..plan import PagePlan, Planning
from .coverage import URL as COVERAGE
from .ratings import URL as RATINGS, published

KINDS = ("showcase",)
FACES = True  # shows no story's body (kinds/__init__.py)
FEATURED = 6
NEWEST = 10
PER_STANDARD = 5  # stories named under each standard; the standard's page lists them all


def plans(planning: Planning) -> list[PagePlan]:
    lib, face_of = planning.library, planning.face_of
    by_county: dict[str, list] = {}
    for story in lib.by_date:  # newest first
        by_county.setdefault(story.county, []).append(story)
    result, report = [], coverage(lib) if lib.from_registry else None
    for county in lib.counties:
        stories = by_county.get(county.name, [])
        shown = _shown(stories, planning.settings.standards)
        showcase = lib.showcases.get(county.name)
        ranking = tuple((r.rank, r.shown, r.award, face_of[s.id]) for r, s in _ranking(lib, planning.settings, stories))
        deps = (lib.registry_digest, planning.county_counts, showcase.digest if showcase else None,
                tuple((key, tuple(face_of[s.id] for s in group), count) for key, group, count in shown),
                ranking, _coverage_key(report.county(county.name) if report else None))
        addresses = [("index.html", f"{county.name}首页")] if planning.county == county.name else []
        addresses.append((f"{county.url}index.html", f"{county.name}的展示页"))
        result += [PagePlan(address, "showcase.html", "showcase", label, key=county.name, deps=deps)
                   for address, label in addresses]
    return result


RANKED = 10  # of the county's ranking on its showcase


def _coverage_key(cc) -> tuple | None:
    """What the showcase shows of the county's coverage."""
    return cc and (cc.share, tuple((t.township.name, t.share, tuple(b.name for b in t.missing)) for t in cc.townships))


def _ranking(lib, settings, stories: list) -> list:
    """(result, story) of the county's best rated stories, if ratings are published."""
    ratings = published(lib, settings)
    if ratings is None:
        return []
    ids = {s.id: s for s in stories}
    return [(r, ids[i]) for i, r in ratings.results.items() if i in ids and r.score is not None][:RANKED]


def _shown(stories: list, standards) -> list[tuple[str, list, int]]:
    """What the page lists: (part, its stories, how many there are in all)."""
    featured = [s for s in stories if s.featured][:FEATURED]
    parts = [("featured", featured, len(featured)), ("newest", stories[:NEWEST], len(stories))]
    for standard in standards:
        group = [s for s in stories if s.standard == standard.id]
        parts.append((standard.id, group[:PER_STANDARD], len(group)))
    return parts


def _by_county(lib) -> dict[str, list]:
    """county → its stories, newest first."""
    found: dict[str, list] = {}
    for story in lib.by_date:
        found.setdefault(story.county, []).append(story)
    return found


def context(plan: PagePlan, view) -> dict:
    lib = view.library
    county = next(c for c in lib.counties if c.name == plan.key)
    stories = view.once("stories-by-county", lambda: _by_county(lib)).get(county.name, [])
    parts = {key: (group, count) for key, group, count in _shown(stories, view.settings.standards)}
    return dict(county=county, showcase=lib.showcases.get(county.name), featured=parts["featured"][0],
                newest=parts["newest"][0], story_count=len(stories), is_home=plan.address == "index.html",
                by_standard=[(s, *parts[s.id]) for s in view.settings.standards if parts[s.id][1]],
                ranking=_ranking(lib, view.settings, stories), ranking_url=f"{RATINGS}{county.slug}/",
                coverage=view.coverage.county(county.name) if view.coverage else None, coverage_url=f"{COVERAGE}#{county.slug}",
                title=county.name if plan.address != "index.html" else view.settings.title,
                description=f"{county.name}{county.branch_count}个党支部讲述的{len(stories)}个党建好故事：精选、最新和按“八个好”分类。")
