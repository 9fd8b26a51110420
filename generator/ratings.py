"""Judging (全市集中展评): judges.csv and scores.csv → ranked results, exactly.

Pure functions, no disk. Scores are read as exact decimals (fractions), so a
mean, a rank or an award never depends on floating-point rounding. A score is
shown with two decimals, rounded half up (四舍五入), and ranked by its full value.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cached_property
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from .config import Rating
from .errors import Problem, did_you_mean, excerpt


@dataclass(frozen=True)
class Judge:
    id: str
    name: str
    county: str = ""
    township: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)  # a province has hundreds of thousands: no __dict__ each
class Score:
    story: str
    judge: str
    values: tuple[int | Fraction, ...]  #: one per criterion, in the rubric's order
    line: int

    @property
    def total(self) -> int | Fraction:
        return sum(self.values)


@dataclass(frozen=True)
class Result:
    story: str
    score: Fraction | None  #: None: not rated (fewer valid scores than min_judges)
    valid: int  #: valid scores (recused ones are void)
    counted: int  #: scores the score is the mean of (after trimming)
    trimmed: bool  #: one highest and one lowest total dropped
    criteria: tuple[Fraction, ...] = ()  #: mean of each criterion over the counted scores
    recused: tuple[str, ...] = ()  #: judges whose scores on this story are void
    rank: int | None = None
    award: str | None = None

    @cached_property
    def shown(self) -> str:
        """The score as shown: two decimals (kept: rankings show it on several pages)."""
        return two_decimals(self.score) if self.score is not None else ""


@dataclass(frozen=True)
class Ratings:
    results: dict[str, Result]  #: story id → result: rated by rank (ties by id), then not rated
    judges: tuple[tuple[Judge, int], ...]  #: each judge and how many valid scores the judge gave
    recusals: tuple[tuple[str, str], ...]  #: (story id, judge id) of every void score
    method: str  #: how the scores were combined, in words

    @property
    def rated(self) -> list[Result]:
        return [r for r in self.results.values() if r.score is not None]

    @cached_property
    def keys(self) -> dict[str, tuple]:
        """story id → its result as plain numbers: cheap to hash (a Fraction is not)."""
        return {r[0]: r for r in pack(self)[0]}


def two_decimals(value: Fraction) -> str:
    """The value with two decimals, rounded half up (away from zero), exactly:
    integer arithmetic on the fraction (a page of rankings shows thousands)."""
    numerator, denominator = value.numerator, value.denominator
    hundredths, rest = divmod(abs(numerator) * 100, denominator)
    if 2 * rest >= denominator:
        hundredths += 1
    whole, cents = divmod(hundredths, 100)
    return f"{'-' if numerator < 0 else ''}{whole}.{cents:02d}"


def _rows(text: str, name: str, required: tuple[str, ...]) -> tuple[list[str], list[tuple[int, dict]], list[Problem]]:
    """(header, [(line, row)]) of a CSV; E330 naming every missing column."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in required if c not in header]
    if missing:
        return header, [], [Problem("E330", f"缺少列 {'、'.join(missing)}；第一行应为列名：{','.join(required)}", name, 1)]
    rows = []
    for cells in reader:
        if any(c.strip() for c in cells):
            rows.append((reader.line_num, {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}))
    return header, rows, []


def parse_judges(text: str, name: str = "judges.csv") -> tuple[list[Judge], list[Problem]]:
    """Pure: judges.csv (id,name[,county][,township]) → judges in file order."""
    _, rows, problems = _rows(text, name, ("id", "name"))
    judges, seen = [], {}
    for line, row in rows:
        jid = row["id"]
        if not jid or jid in seen:
            problems.append(Problem("E336", f"评委编号“{excerpt(jid)}”已在第 {seen[jid]} 行使用" if jid else
                                    "评委编号（id）为空", name, line))
            continue
        seen[jid] = line
        judges.append(Judge(jid, row["name"], row.get("county", ""), row.get("township", ""), line))
    return judges, problems


def parse_scores(text: str, criteria, name: str = "scores.csv") -> tuple[list[Score], list[Problem]]:
    """Pure: scores.csv (story, judge, one column per criterion id) → scores;
    a row with a bad value, or a repeated (story, judge) pair, is left out."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    required = ("story", "judge", *(c.id for c in criteria))
    missing = [c for c in required if c not in header]
    if missing:
        return [], [Problem("E330", f"缺少列 {'、'.join(missing)}；第一行应为列名：{','.join(required)}", name, 1)]
    at = [header.index(c) for c in required]  # positions, not a dict a row: a city has 60,000 rows
    limits = [c.max for c in criteria]
    scores, seen, problems = [], {}, []
    for cells in reader:
        line = reader.line_num
        if len(cells) < len(header):
            cells = cells + [""] * (len(header) - len(cells))
        story, judge, *raw = (cells[i].strip() for i in at)
        if not (story or judge or any(raw)):
            continue
        values, bad = [], False
        for text_, limit, c in zip(raw, limits, criteria):
            try:  # whole numbers stay ints: sums of them are fast, and exact all the same
                value = int(text_) if text_.isdigit() else Fraction(Decimal(text_))
            except (InvalidOperation, ValueError):
                value = None
            if value is None or not 0 <= value <= limit:
                problems.append(Problem("E333", f"“{c.name}”的分数“{excerpt(text_)}”应为 0 到 {limit} 之间的数", name, line))
                bad = True
            values.append(value)
        key = (story, judge)
        if key in seen:
            problems.append(Problem("E334", f"评委 {excerpt(judge)} 对故事 {excerpt(story)} 的评分已在第 {seen[key]} 行", name, line))
            continue
        seen[key] = line
        if not bad:
            scores.append(Score(story, judge, tuple(values), line))
    return scores, problems


def rate(judges: list[Judge], scores: list[Score], stories: dict[str, tuple[str, str, bool]], rating: Rating,
         scores_file: str = "scores.csv") -> tuple[Ratings, list[Problem]]:
    """Pure: the results of every published story. `stories`: id → (county,
    township, draft) of every story read, drafts included (a draft's score is E335)."""
    by_id, problems = {j.id: j for j in judges}, []
    valid: dict[str, list[tuple[Score, Judge]]] = {}
    recusals, given = [], dict.fromkeys(by_id, 0)
    for s in scores:
        if s.story not in stories:
            problems.append(Problem("E331", f"没有编号为“{excerpt(s.story)}”的故事{did_you_mean(s.story, stories)}",
                                    scores_file, s.line))
        elif s.judge not in by_id:
            problems.append(Problem("E332", f"judges.csv 里没有评委“{excerpt(s.judge)}”{did_you_mean(s.judge, by_id)}",
                                    scores_file, s.line))
        elif stories[s.story][2]:
            problems.append(Problem("E335", f"故事“{excerpt(s.story)}”是草稿，不参加评分", scores_file, s.line))
        elif _recused(by_id[s.judge], stories[s.story], rating.recuse):
            recusals.append((s.story, s.judge))
        else:
            valid.setdefault(s.story, []).append((s, by_id[s.judge]))
            given[s.judge] += 1
    order = {j.id: i for i, j in enumerate(judges)}
    recused: dict[str, list[str]] = {}
    for story, judge in recusals:
        recused.setdefault(story, []).append(judge)
    results = {i: _result(i, valid.get(i, []), recused.get(i, []), rating, order)
               for i, (_, _, draft) in sorted(stories.items()) if not draft}
    ranked = _ranked(list(results.values()), rating)
    return Ratings({r.story: r for r in ranked}, tuple((j, given[j.id]) for j in judges), tuple(sorted(recusals)),
                   method(rating)), problems


def _recused(judge: Judge, story: tuple[str, str, bool], rule: str) -> bool:
    county, township, _ = story
    if rule == "county":
        return bool(judge.county) and judge.county == county
    if rule == "township":
        return bool(judge.township) and judge.township == township and judge.county in ("", county)
    return False


def _result(story: str, scored: list[tuple[Score, Judge]], recused: list[str], rating: Rating,
            order: dict[str, int]) -> Result:
    counted = [s for s, _ in scored]
    total = {id(s): s.total for s in counted}  # each score's, summed once
    trimmed = len(counted) >= rating.trim_from
    if trimmed:  # one highest and one lowest; among equal totals, the first judge's (judges.csv order)
        low = min(counted, key=lambda s: (total[id(s)], order[s.judge]))
        high = max(counted, key=lambda s: (total[id(s)], -order[s.judge]))
        counted = [s for s in counted if s is not low and s is not high]
    if len(scored) < rating.min_judges:
        return Result(story, None, len(scored), 0, False, recused=tuple(recused))
    n = len(counted)
    columns = zip(*(s.values for s in counted)) if counted else [()] * len(rating.criteria)
    criteria = tuple(Fraction(sum(column), n) for column in columns)
    return Result(story, Fraction(sum(total[id(s)] for s in counted), n), len(scored), n, trimmed, criteria,
                  tuple(recused))


def _ranked(results: list[Result], rating: Rating) -> list[Result]:
    """Rated results by score, equal scores sharing a rank (1, 2, 2, 4), with
    their awards; then the rest. Each award has a quota of the rated stories
    (its share, rounded half up) and takes the next places down the ranking;
    stories tied with its last one get it too, and the next award starts below them."""
    # By the float first (fast), the exact score where two floats are equal: the same order.
    rated = sorted((r for r in results if r.score is not None), key=lambda r: (-float(r.score), -r.score, r.story))
    ranks: list[int] = []
    for position, r in enumerate(rated, 1):
        ranks.append(ranks[-1] if ranks and rated[position - 2].score == r.score else position)
    awards: list[str | None] = [None] * len(rated)
    start = 0
    for award in rating.awards:
        quota = int(Fraction(str(award.share)) * len(rated) + Fraction(1, 2))
        end = min(start + quota, len(rated))
        while 0 < end < len(rated) and end > start and rated[end].score == rated[end - 1].score:
            end += 1
        awards[start:end] = [award.name] * (end - start)
        start = end
    out = [Result(**{**r.__dict__, "rank": rank, "award": award}) for r, rank, award in zip(rated, ranks, awards)]
    return out + sorted((r for r in results if r.score is None), key=lambda r: r.story)


def method(rating: Rating) -> str:
    """How the scores are combined, in words, from the settings."""
    criteria = "、".join(f"{c.name}（{c.max} 分）" for c in rating.criteria)
    full = sum(c.max for c in rating.criteria)
    recuse = {"county": "评委不给本县（市、区）的故事评分，这样的评分作废（回避）。",
              "township": "评委不给本乡镇（街道）的故事评分，这样的评分作废（回避）。", "none": ""}[rating.recuse]
    awards = "、".join(f"{a.name} {float(Fraction(str(a.share)) * 100):g}%" for a in rating.awards)
    return (f"每位评委按{criteria}打分，合计满分 {full} 分。{recuse}"
            f"一个故事的有效评分达到 {rating.trim_from} 个时，去掉一个最高分和一个最低分后取平均；"
            f"不足 {rating.trim_from} 个时取全部有效评分的平均；少于 {rating.min_judges} 个时不评定。"
            f"得分保留两位小数（四舍五入），排名按未经四舍五入的得分，得分相同名次相同。"
            f"奖项按已评定故事数的比例从高到低依次评出：{awards}（名额四舍五入），"
            "与某一奖项最后一名同分的故事获同一奖项，下一奖项从其后开始。")


def _fraction(value: Fraction | None) -> tuple[int, int] | None:
    return None if value is None else (value.numerator, value.denominator)


def pack(ratings: Ratings) -> tuple:
    """The results as plain tuples of numbers and text: what the cache keeps
    (unpickling fifty thousand Fraction objects costs more than making them)."""
    results = tuple((r.story, _fraction(r.score), r.valid, r.counted, r.trimmed,
                     tuple(_fraction(c) for c in r.criteria), r.recused, r.rank, r.award)
                    for r in ratings.results.values())
    return results, tuple((j.id, j.name, j.county, j.township, j.line, n) for j, n in ratings.judges), \
        ratings.recusals, ratings.method


def _lowest_terms(numerator: int, denominator: int) -> Fraction:
    """A Fraction of numbers already in lowest terms (as `pack` wrote them), without
    Fraction's own gcd and checks: a tenth of its cost, fifty thousand times a build."""
    made = object.__new__(Fraction)
    made._numerator, made._denominator = numerator, denominator
    return made


if not hasattr(Fraction, "_numerator"):  # pragma: no cover - another implementation of fractions
    _lowest_terms = Fraction  # noqa: F811


def unpack(packed: tuple) -> Ratings:
    results, judges, recusals, text = packed
    made, exact = {}, _lowest_terms
    for story, score, valid, counted, trimmed, criteria, recused, rank, award in results:
        made[story] = Result(story, exact(*score) if score else None, valid, counted, trimmed,
                             tuple(exact(*c) for c in criteria), tuple(recused), rank, award)
    ratings = Ratings(made, tuple((Judge(*j[:5]), j[5]) for j in judges), tuple(map(tuple, recusals)), text)
    ratings.__dict__["keys"] = {r[0]: r for r in results}  # what `keys` would pack again
    return ratings
