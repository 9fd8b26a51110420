"""The results of the city's review (全市集中展评): the city ranking with
awards, method, judges and recusals; one county's ranking; and results.csv for
public notice. Nothing of it when [rating] publish = false."""
from __future__ import annotations

import hashlib
from fractions import Fraction

from .. import charts
from ..plan import PagePlan, Planning
from ..ratings import two_decimals

KINDS = ("ratings", "county_ratings", "results")
FACES = True  # shows no story's body (kinds/__init__.py)
URL = "ratings/"
CSV_HEADER = ["名次", "故事", "县（市、区）", "乡镇（街道）", "党支部", "得分", "奖项", "有效评分数", "网址"]


def published(library, settings):
    """The ratings if the site may show them, else None."""
    return library.ratings if library.ratings is not None and settings.rating.publish else None


def plans(planning: Planning) -> list[PagePlan]:
    lib = planning.library
    ratings = published(lib, planning.settings)
    if ratings is None:
        return []
    value = (tuple(ratings.keys.values()), ratings.judges, ratings.recusals, ratings.method)  # plain numbers
    shown = hashlib.blake2b(repr(value).encode(), digest_size=12).hexdigest()
    deps = (shown, lib.registry_digest, planning.county_counts, tuple(map(planning.face_of.get, ratings.results)))
    # A county's own site shows that county's ranking (with the city-wide ranks) as its ratings page.
    county = planning.county or ""
    result = [PagePlan(f"{URL}index.html", "ratings.html", "county_ratings" if county else "ratings", "展评结果",
                       key=county, deps=deps),
              PagePlan(f"{URL}results.csv", "", "results", "展评结果表", "csv", key=county, deps=deps, in_sitemap=False)]
    result += [PagePlan(f"{URL}{c.slug}/index.html", "ratings.html", "county_ratings", f"{c.name}的展评结果",
                        key=c.name, deps=deps) for c in lib.counties]
    return result


def _rows(view, county: str | None = None) -> list[tuple]:
    """(result, story) in ranking order, the county's alone when given."""
    by_county = view.once("ratings-rows", lambda: _by_county(view.library))
    return list(by_county.get(county, ()))


def _by_county(library) -> dict[str | None, list[tuple]]:
    """(result, story) in ranking order: all under None, and each county's."""
    stories = library.stories
    rows = [(r, stories[i]) for i, r in library.ratings.results.items() if i in stories]
    found: dict[str | None, list[tuple]] = {None: rows}
    for row in rows:
        found.setdefault(row[1].county, []).append(row)
    return found


def context(plan: PagePlan, view) -> dict:
    lib, settings = view.library, view.settings
    ratings = lib.ratings
    if plan.kind == "results":
        base = settings.base_url
        return dict(rows=[CSV_HEADER] + [[r.rank or "未评定", s.title, s.county, s.township, s.branch, r.shown,
                                         r.award or "", r.valid, base + s.url] for r, s in _rows(view, plan.key or None)])
    county = plan.key or None
    rows = _rows(view, county)
    rated = [(r, s) for r, s in rows if r.score is not None]
    awards = [(a.name, [(r, s) for r, s in rated if r.award == a.name]) for a in settings.rating.awards]
    full = sum(c.max for c in settings.rating.criteria)
    ctx = dict(rows=rated, not_rated=[(r, s) for r, s in rows if r.score is None], awards=awards,
               judges=(), recusals=(), counties=(), awards_chart=None,
               method=ratings.method, county=county, title=f"{county}展评结果" if county else "全市展评结果",
               description=f"{county or settings.city}党建好故事展评的排名、得分和奖项（{len(rated)}个已评定故事）。",
               histogram=charts.histogram([float(r.score) for r, _ in rated], full,
                                          f"{county or '全市'}得分分布（{len(rated)} 个已评定故事）"))
    if county is None:
        table = _county_table(view, rated)
        names = {j.id: j.name for j, _ in ratings.judges}
        ctx.update(judges=ratings.judges, recusals=[(lib.stories.get(s), names[j]) for s, j in ratings.recusals],
                   counties=table, awards_chart=charts.stacked(
                       [(row["county"].name, [row["awards"][a.name] for a in settings.rating.awards]) for row in table],
                       [a.name for a in settings.rating.awards], "各县（市、区）获奖数"))
    return ctx


def _county_table(view, rated) -> list[dict]:
    """Per county: stories rated, mean score, awards, share of branches with a story."""
    table = []
    by_county: dict[str, list] = {}
    for r, s in rated:
        by_county.setdefault(s.county, []).append(r)
    for c in view.library.counties:
        mine = by_county.get(c.name, [])
        told = sum(1 for t in c.townships for b in t.branches if b.story_ids)
        table.append(dict(county=c, rated=len(mine), url=f"{URL}{c.slug}/",
                          mean=two_decimals(sum((r.score for r in mine), Fraction(0)) / len(mine)) if mine else "",
                          awards={a.name: sum(1 for r in mine if r.award == a.name) for a in view.settings.rating.awards},
                          coverage=f"{told / c.branch_count:.0%}" if c.branch_count else ""))
    return table


def scorecard(library, settings, story_id: str):
    """A story's result for its page, if published."""
    ratings = published(library, settings)
    return ratings.results.get(story_id) if ratings is not None else None


def scorecard_key(library, settings, story_id: str) -> tuple | None:
    """What a story's page shows of its result, as plain numbers (for its plan's deps)."""
    ratings = published(library, settings)
    return ratings.keys.get(story_id) if ratings is not None else None
