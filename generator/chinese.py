"""Everything specific to Chinese text: pinyin slugs, soft line breaks,
summaries and reading time counted in characters, dates.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Iterable

# Place names that pypinyin reads with the everyday reading of a polyphonic
# character. In place names 都 is dū (莲都, 八都), 查 is zhā (查田), 丽 is lí (丽水).
PLACE_PHRASES: dict[str, str] = {
    "莲都": "lián dū", "仙都": "xiān dū", "三都": "sān dū", "四都": "sì dū",
    "五都": "wǔ dū", "八都": "bā dū", "屏都": "píng dū", "成都": "chéng dū",
    "查田": "zhā tián", "丽水": "lí shuǐ", "六安": "lù ān", "蚌埠": "bèng bù",
    "东弄": "dōng lòng",
}
_pinyin = None


def _load_pinyin():
    """pypinyin takes 0.15 s to import: only builds that make new slugs pay it."""
    global _pinyin
    if _pinyin is None:
        from pypinyin import Style, pinyin
        from pypinyin.constants import PHRASES_DICT
        from pypinyin.seg import mmseg

        # What load_phrases_dict does, without its training the segmenter on every phrase again (0.1 s).
        PHRASES_DICT.update({k: [[s] for s in v.split()] for k, v in PLACE_PHRASES.items()})
        mmseg.seg.train(PLACE_PHRASES)
        _pinyin = lambda text: [s[0] for s in pinyin(text, style=Style.NORMAL, errors="ignore", v_to_u=False)]  # noqa: E731
    return _pinyin

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Characters a Chinese reader sees as full width: Han, CJK punctuation,
# full-width forms, and the curly quotes, dashes and ellipsis used in Chinese.
WIDE = _HAN + "\u2e80-\u2fdf\u3000-\u303f\u3100-\u312f\uff00-\uffef\u2018-\u201f\u2014\u2026"
_TOKEN = re.compile(f"([{_HAN}]+)|([a-z0-9]+)")
_BREAK_AFTER_WIDE = re.compile(f"(?<=[{WIDE}])[ \t]*\n[ \t]*")
_BREAK_BEFORE_WIDE = re.compile(f"[ \t]*\n[ \t]*(?=[{WIDE}])")
_HAN_RUN = re.compile(f"[{_HAN}]+")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")
_SENTENCE_END = re.compile("[。！？!?…][”’」』）)]*")

READING_SPEED = 400  # characters a minute, for Chinese prose read on a screen


_memo: dict[str, str] = {}  # names, tags and headings repeat across thousands of stories
_fresh: dict[str, str] = {}  # made since the last take_fresh_slugs(): a worker hands them back


def slugify(text: str) -> str:
    """Lowercase ASCII address part: Han characters become pinyin syllables,
    Latin letters and digits are kept, everything else separates.

    >>> slugify("莲都区")
    'lian-du-qu'
    """
    try:
        return _memo[text]
    except KeyError:
        slug = _memo[text] = _fresh[text] = _slugify(text)
        return slug


def known_slugs() -> dict[str, str]:
    """Every slug made so far, for the build cache to keep."""
    return dict(_memo)


def remember_slugs(slugs: dict[str, str]) -> None:
    _memo.update(slugs)


def unknown_slugs(names: Iterable[str]) -> list[str]:
    """Of `names`, those whose slug no one made yet (each once)."""
    return [n for n in dict.fromkeys(names) if n not in _memo]


def take_fresh_slugs() -> dict[str, str]:
    """The slugs made since the last call: a worker process returns them, so that
    the cache learns every name pinyin was loaded for (headings, branches)."""
    fresh = dict(_fresh)
    _fresh.clear()
    return fresh


def _slugify(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    parts: list[str] = []
    for han, latin in _TOKEN.findall(text):
        if han:
            parts.extend(_load_pinyin()(han))
        else:
            parts.append(latin)
    return "-".join(p for p in parts if p)


def join_soft_breaks(text: str) -> str:
    """Remove a source line break that touches a full-width character.

    Browsers show a line break inside a paragraph as a space, which is wrong
    between two Chinese characters (CSS Text 3, segment break transformation).
    """
    if "\n" not in text:
        return text
    return _BREAK_BEFORE_WIDE.sub("", _BREAK_AFTER_WIDE.sub("", text))


def display_width(text: str) -> int:
    """Columns a terminal or a plain-text editor gives `text`: a wide (Chinese) character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def count_characters(text: str) -> int:
    """Reading units: each Han character counts one, each Latin word one."""
    return sum(map(len, _HAN_RUN.findall(text))) + len(_LATIN_WORD.findall(text))


def reading_minutes(units: int) -> int:
    return max(1, -(-units // READING_SPEED))


def summarize(text: str, limit: int = 120) -> str:
    """Cut `text` at the last sentence end within `limit` characters; when the
    first sentence is longer, the whole sentence if it ends within half as much
    again; else after the last clause (，；：) within the limit, with an
    ellipsis; a word is never cut in two unless nothing else can be done.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    end = 0
    for match in _SENTENCE_END.finditer(text, 0, limit * 3 // 2 + 3):
        if match.end() <= limit or (not end and match.end() <= limit * 3 // 2):
            end = match.end()
    if end:
        return text[:end]
    clause = max(text.rfind(mark, 0, limit) for mark in "，；：,;")
    cut = clause if clause > limit // 3 else limit - 1
    return text[:cut].rstrip("，、；：,;: ") + "……"


# The ways a date is written in Chinese offices: 2017-03-15, 2017年3月15日,
# 2017/3/15 and 2017.3.15, with or without leading zeros. Full-width digits and
# separators (as WPS may type them) are folded first; spaces may stand around 年月日.
_DATE_FORMS = re.compile(r"([0-9]{4})(?:([-/.])([0-9]{1,2})\2([0-9]{1,2})"  # 2017-03-15, 2017/3/15, 2017.3.15
                         r"|\s*年\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日)")  # 2017年3月15日


def parse_date(text: str) -> dt.date | None:
    """The day a date written in one of the accepted forms names; None when the
    text is not such a date; ValueError when it is, but the day does not exist.

    >>> parse_date("2017年3月15日"), parse_date("2017/03/15"), parse_date("2017.3.15")
    (datetime.date(2017, 3, 15), datetime.date(2017, 3, 15), datetime.date(2017, 3, 15))
    """
    match = _DATE_FORMS.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return None
    year, _, *parts = match.groups()
    month, day = (int(n) for n in parts if n is not None)
    return dt.date(int(year), month, day)  # ValueError for 2023年2月30日, month 13, year 0


def format_date(day: dt.date) -> str:
    """2017-03-15 → 2017年3月15日"""
    return f"{day.year}年{day.month}月{day.day}日"
