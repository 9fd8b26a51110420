"""org.csv → the organisation registry; matching the names stories use.

The registry's row order is the display order everywhere on the site.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .encoding import read_text
from .errors import Problem, did_you_mean
from .models import BranchRow

REQUIRED = ("county", "township", "branch")
COLUMNS = ("county", "county_code", "township", "township_code", "branch", "branch_code")
MAX_CELL = 200  # characters; the longest real organisation name is far shorter


def _cells(raw: str, line: int, name: str) -> tuple[list[str] | None, Problem | None]:
    """One physical line → its cells, or the E205 that makes it unusable.

    No cell of a registry holds a newline, so each line is parsed on its own:
    a stray quote then spoils only its own line, not every line after it."""
    if '"' not in raw:
        cells = raw.split(",")  # no quotes: exactly what the csv module gives, ten times faster
    elif raw.count('"') % 2:
        return None, Problem("E205", f"第 {line} 行的引号不成对；单元格里的英文双引号要写成两个（\"\"），"
                                     "或删掉它；这一行已跳过", name, line)
    else:
        try:
            cells = next(csv.reader([raw]), [])
        except csv.Error:  # e.g. a cell over the csv module's 128 KB limit
            what = f"太长（{len(raw)} 个字符）" if len(raw) > MAX_CELL else "无法按 CSV 格式读取"
            return None, Problem("E205", f"第 {line} 行{what}：“{raw[:20]}……”；请检查这一行，它已跳过", name, line)
    long = next((c for c in cells if len(c) > MAX_CELL), None)
    if long is not None:
        return None, Problem("E205", f"第 {line} 行有一个单元格长达 {len(long)} 个字符（“{long[:20]}……”），"
                                     "不像是组织名称或代码；请检查这一行，它已跳过", name, line)
    return cells, None


def parse_registry(text: str, name: str = "org.csv") -> tuple[list[BranchRow], list[Problem]]:
    """Pure: the text of org.csv → branch rows in file order, and problems."""
    lines = text.split("\n")  # decode() has normalised line ends; line 1 is the header
    if not text.strip():
        return [], [Problem("E201", "org.csv 是空的；第一行应为列名：" + ",".join(COLUMNS), name, 1)]
    header, problem = _cells(lines[0], 1, name)
    if problem is not None:
        return [], [problem]
    header = [h.strip().lower() for h in header]
    problems = []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [Problem("E201", f"缺少列 {', '.join(missing)}；第一行应为列名：{','.join(COLUMNS)}", name, 1)]
    for h in header:
        if h and h not in COLUMNS:
            hint = did_you_mean(h, COLUMNS) or "，已忽略"
            problems.append(Problem("W204", f"未知的列“{h}”{hint}", name, 1))
    index = {h: i for i, h in enumerate(header) if h in COLUMNS}
    rows, seen = [], {}
    for line, raw in enumerate(lines[1:], 2):
        if not raw.strip():
            continue
        cells, problem = _cells(raw, line, name)
        if problem is not None:
            problems.append(problem)
            continue
        if not any(c.strip() for c in cells):
            continue
        value = {col: (cells[i].strip() if i < len(cells) else "") for col, i in index.items()}
        empty = [c for c in REQUIRED if not value[c]]
        if empty:
            problems.append(Problem("E202", f"第 {line} 行的 {', '.join(empty)} 为空", name, line))
            continue
        key = (value["county"], value["township"], value["branch"])
        if key in seen:
            problems.append(Problem("E203", f"“{'／'.join(key)}”已在第 {seen[key]} 行出现", name, line))
            continue
        seen[key] = line
        rows.append(BranchRow(*key, value.get("county_code", ""), value.get("township_code", ""),
                              value.get("branch_code", ""), line))
    return rows, problems


@dataclass(frozen=True)
class Registry:
    """The branches in display order, with the lookups made from them once."""

    rows: tuple[BranchRow, ...]
    from_file: bool = True  #: False: derived from the names the stories use (no org.csv)

    @cached_property
    def digest(self) -> str:
        """Changes when any name, code or the order changes (not the lines)."""
        value = [(r.county, r.township, r.branch, r.county_code, r.township_code, r.branch_code) for r in self.rows]
        return hashlib.blake2b(repr(value).encode(), digest_size=10).hexdigest()

    @cached_property
    def names(self) -> "Names":
        return Names(self.rows)

    @cached_property
    def position(self) -> dict[tuple[str, str, str], int]:
        return {(r.county, r.township, r.branch): i for i, r in enumerate(self.rows)}


def load_registry(content: Path) -> tuple[Registry | None, list[Problem]]:
    """None (and no problem) when the site has no org.csv."""
    path = content / "org.csv"
    if not path.is_file():
        return None, []
    text, problems = read_text(path)
    if text is None:
        return None, problems
    rows, more = parse_registry(text, str(path))
    return Registry(tuple(rows)), problems + more


@dataclass(frozen=True)
class Match:
    """What is wrong with a story's county/township/branch, if anything."""

    field: str  #: "county", "township" or "branch"
    code: str
    message: str


class Names:
    """Lookup of the registry's names, for checking what a story names."""

    def __init__(self, rows: tuple[BranchRow, ...] | list[BranchRow]):
        self.counties: dict[str, dict[str, list[str]]] = {}
        for r in rows:
            self.counties.setdefault(r.county, {}).setdefault(r.township, []).append(r.branch)
        self.branch_set = {(r.county, r.township, r.branch) for r in rows}

    def check(self, county: str, township: str, branch: str) -> Match | None:
        if (county, township, branch) in self.branch_set:
            return None
        if county not in self.counties:
            return Match("county", "E305", f"组织名册里没有“{county}”{did_you_mean(county, self.counties)}")
        towns = self.counties[county]
        if township not in towns:
            elsewhere = [c for c, t in self.counties.items() if township in t]
            hint = f"，它属于{elsewhere[0]}" if elsewhere else did_you_mean(township, towns)
            return Match("township", "E306", f"{county}没有“{township}”{hint}")
        hint = did_you_mean(branch, towns[township])
        return Match("branch", "E307", f"{county}{township}没有“{branch}”{hint}")
