"""Who has told a story (全市基层各支部至少讲出一个党建好故事): for the city,
each county and each township, how many branches have at least one published
story, and which have not (the chase list). Pure: library in, numbers out."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .models import BranchNode, County, Library, Township


@dataclass(frozen=True)
class Share:
    told: int  #: branches with at least one published story
    total: int

    @property
    def ratio(self) -> float:
        return self.told / self.total if self.total else 1.0

    @property
    def percent(self) -> str:
        return f"{self.ratio:.1%}"


@dataclass(frozen=True)
class TownshipCoverage:
    township: Township
    share: Share
    missing: tuple[BranchNode, ...]  #: in org.csv order


@dataclass(frozen=True)
class CountyCoverage:
    county: County
    share: Share
    townships: tuple[TownshipCoverage, ...]


@dataclass(frozen=True)
class Coverage:
    share: Share
    counties: tuple[CountyCoverage, ...]

    def county(self, name: str) -> CountyCoverage | None:
        return next((c for c in self.counties if c.county.name == name), None)


def _share(branches) -> Share:
    branches = list(branches)
    return Share(sum(1 for b in branches if b.story_ids), len(branches))


def coverage(library: Library) -> Coverage:
    counties = []
    for county in library.counties:
        towns = tuple(TownshipCoverage(t, _share(t.branches), tuple(b for b in t.branches if not b.story_ids))
                      for t in county.townships)
        counties.append(CountyCoverage(county, _share(b for t in county.townships for b in t.branches), towns))
    told = sum(c.share.told for c in counties)
    return Coverage(Share(told, sum(c.share.total for c in counties)), tuple(counties))


def rows(library: Library) -> list[list]:
    """One row per branch for Excel: county, its code, township, its code, branch, its code,
    published stories, the newest story's date."""
    stories = library.stories
    out = [["县（市、区）", "县代码", "乡镇（街道）", "乡镇代码", "党支部", "支部代码", "故事数", "最新故事日期"]]
    for county in library.counties:
        for town in county.townships:
            for branch in town.branches:
                newest = max((stories[i].date for i in branch.story_ids), default=None)
                out.append([county.name, county.code, town.name, town.code, branch.name, branch.code,
                            len(branch.story_ids), newest.isoformat() if isinstance(newest, dt.date) else ""])
    return out
