"""A file's head (its frontmatter: the lines between two ---) for reader.py: YAML read with
the line of each key, typed getters that collect problems naming that line, and the YAML
mistakes of people who write in Word and WPS explained in words (a full-width colon, no
space after the colon, a tab…). Dates stay text, so that a bad one is reported, not raised.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import reprlib
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from .chinese import parse_date
from .errors import Problem, did_you_mean, excerpt

_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:")
_LIST_SEPARATORS = re.compile(r"[、，,；;]")
MAX_NODES = 10_000  # values in a frontmatter: a real one has dozens; YAML aliases can make billions


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser is ten times faster
    """Safe YAML that leaves dates as text, so that we can check them and
    report a bad one with its line instead of crashing in the YAML library."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class Document:
    """A file's frontmatter and body, with typed getters that collect problems."""

    def __init__(self, text: str, source: str, known: tuple[str, ...], head_required: bool = True):
        self.source, self.problems = source, []
        self.data: dict[str, Any] = {}
        self.lines: dict[str, int] = {}
        self.head_lines, self.offset = [""], 0  #: the frontmatter's lines; its line k is line offset + k + 1
        self.body, self.body_line = text, 1
        # python-frontmatter's own delimiter rule: a line of three or more dashes.
        bounds = list(YAMLHandler.FM_BOUNDARY.finditer(text, 0))
        if (not bounds or bounds[0].start() != 0) and not head_required:
            return  # all of it is text
        if not bounds or bounds[0].start() != 0:
            self.fail("E301", "文件开头缺少文件头：第一行应为 ---，接着是 title: 等字段，再以 --- 结束", 1)
            return
        if len(bounds) < 2:
            self.fail("E301", "文件头没有结束：请在字段之后加一行 ---", 1)
            return
        head = text[bounds[0].end():bounds[1].start()]
        self.body = text[bounds[1].end():].lstrip("\n")
        self.body_line = text[:len(text) - len(self.body)].count("\n") + 1
        # Line k of the head is line offset + k + 1 of the file. Line 0 is what
        # follows the opening dashes: nothing, unless the boundary took blank lines.
        self.offset = offset = text.count("\n", 0, bounds[0].end())
        self.head_lines = head_lines = head.split("\n")
        for i, line in enumerate(head_lines[1:], offset + 2):
            m = _KEY_LINE.match(line)
            if m:
                self.lines.setdefault(m.group(1), i)
        try:
            data = yaml.load(head, Loader=_Loader)
        except yaml.YAMLError as exc:
            self.fail("E301", *_explain_yaml(exc, head_lines, offset))  # the likely mistake, in words
            return
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail("E301", *_explain_shape(head_lines, offset))
            return
        if _oversized(data):
            self.fail("E301", "文件头太大或嵌套太深（例如用 &、* 别名反复引用）；请只写“字段: 值”", 1)
            return
        self.data = {str(k): v for k, v in data.items()}
        for key in self.data:
            if key not in known:
                hint = did_you_mean(key, known) or "，已忽略"
                self.warn("W315", f"未知的字段“{excerpt(key)}”{hint}", key)

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)

    def missing(self, key: str, note: str = "") -> None:
        """E302 for a required field; where a line names it with a wrong colon
        (an indented “  county：云和县” is part of the value above), that line."""
        for k, text in enumerate(self.head_lines[1:], 1):
            m = _FULL_COLON.match(text) or _NO_SPACE.match(text)
            if m and m[2] == key:
                message, line = _at(self.head_lines, k, self.offset, _cause(text) or "")
                self.fail("E302", f"缺少必填字段“{key}”{note}：{message.removeprefix('文件头有误：')}", line)
                return
        self.fail("E302", f"缺少必填字段“{key}”{note}", self.line(key) if key in self.data else 1)

    def fail(self, code: str, message: str, line: int | None) -> None:
        self.problems.append(Problem(code, message, self.source, line))

    def warn(self, code: str, message: str, key: str) -> None:
        self.problems.append(Problem(code, message, self.source, self.line(key)))

    @property
    def failed(self) -> bool:
        return any(not p.is_warning for p in self.problems)

    def string(self, key: str, required: bool = False) -> str:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.missing(key)
            return ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.fail("E304", f"“{key}”应为一段文字，现在是 {show(value)}", self.line(key))
            return ""
        return value.strip()

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = _LIST_SEPARATORS.split(value)
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            self.fail("E304", f"“{key}”应为列表，如 [甲, 乙]，或一段用顿号分隔的文字", self.line(key))
            return ()
        # [民情地图，美丽乡村] typed with a Chinese comma is one YAML item: two names were meant
        items = (part for v in value for part in _LIST_SEPARATORS.split(str(v)))
        return tuple(dict.fromkeys(part.strip() for part in items if part.strip()))

    def boolean(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.fail("E304", f"“{key}”只能是 true 或 false，现在是 {show(value)}", self.line(key))
            return False
        return value

    def date(self, key: str) -> dt.date | None:
        raw = self.data.get(key)
        if raw is None or raw == "":
            self.missing(key, "（格式：2017-03-15）")
            return None
        text = str(raw).strip()
        try:
            day = parse_date(text)
        except ValueError:
            self.fail("E303", f"日期“{excerpt(text)}”不存在，请检查月份和日子", self.line(key))
            return None
        if day is None:
            self.fail("E303", f"日期“{excerpt(text)}”格式不对，应写成 2017-03-15 或 2017年3月15日"
                      "（也可以写 2017/3/15、2017.3.15）", self.line(key))
        return day

    def find_reference(self, ref: str) -> int:
        """The line of the body where the address `ref` is used: as a Markdown
        link or image, in an HTML attribute or a reference definition; else
        where the text first stands (a mention in prose comes last)."""
        lines = self.body.split("\n")
        for needle in (f"]({ref}", f"](<{ref}>", f'="{ref}"', f"='{ref}'", f"]: {ref}", ref):
            for i, line in enumerate(lines):
                if needle in line:
                    return self.body_line + i
        return self.body_line


_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxlist, _repr.maxdict, _repr.maxstring, _repr.maxother = 2, 4, 4, 30, 30


def show(value: Any) -> str:
    """A value in a message: a short excerpt, whatever its size."""
    return f"“{excerpt(value)}”" if isinstance(value, str) else excerpt(_repr.repr(value))


def _oversized(data: Any) -> bool:
    """More than MAX_NODES values, counting every alias where it is used."""
    stack, seen = [data], 0
    while stack:
        value = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            return True
        if isinstance(value, dict):
            stack += value.keys()
            stack += value.values()
        elif isinstance(value, list):
            stack += value
    return False


# Why a frontmatter is not YAML, in words: the mistakes of people who write in
# Word and WPS, looked for on the lines PyYAML points at (_explain_yaml).
_RESERVED = "@`%*&!|>?-]}"  # YAML gives these a meaning at the start of a value
_FULL_COLON = re.compile(r"^([ \t]*)([\w-]+)[ \t]*：[ \t]*(.*)$")  # title：民情地图
_NO_SPACE = re.compile(r"^([ \t]*)([\w-]+):(?![ \t]|$)(.*)$")  # title:民情地图
_ENTRY = re.compile(r"^([ \t]*)(?:([\w-]+)[ \t]*:|-)(?=[ \t]|$)(.*)$")  # key: value, or - item
_TAB = re.compile(r"^[ ]*\t|^[ \t]*[\w-]+[ \t]*:[ ]*\t")  # a tab to indent, or after the colon
_BLOCK_SCALAR = re.compile(r"^[|>][0-9+-]*$")  # summary: | (the text follows, indented)
_VALUE_COLON = re.compile(r":(?=[ \t]|$)[ \t]*")
_CLOSING_QUOTE = {'"': re.compile(r'(?<!\\)"'), "'": re.compile(r"'")}


def _q(text: str) -> str:
    """A line or value quoted in a message; 「」 when it holds curly double quotes itself."""
    return f"「{text}」" if "“" in text or "”" in text else f"“{text}”"


def _yaml_string(value: str) -> str:
    """`value` as a YAML string in English double quotes."""
    return json.dumps(value, ensure_ascii=False)


def _reserved(value: str) -> bool:
    """Whether a value starts with a character YAML reserves (@民情, *号, - 甲…)."""
    first = value[:1]
    return bool(first) and first in _RESERVED and not _BLOCK_SCALAR.match(value) and \
        (first not in "?-" or value[1:2] in ("", " ", "\t"))


def _cause(line: str, direct: bool = True) -> str | None:
    """The known mistake on a line of a frontmatter, as the end of a sentence
    that quoted the line, or None. `direct`: a line PyYAML pointed at; other
    lines are only blamed for a key without its colon, written from the margin."""
    if _TAB.match(line):
        return "用了 Tab 键（制表符）。文件头里缩进和冒号后面都只能用空格，请把 Tab 换成空格"
    for rx, what in ((_FULL_COLON, "用了中文冒号“：”"), (_NO_SPACE, "冒号后面缺少空格")):
        m = rx.match(line)
        if m and (direct or not m.group(1)):
            fixed = excerpt(f"{m[2]}: {m[3]}".rstrip())
            return f"{what}。冒号要用英文半角的 : ，后面加一个空格，应写成{_q(fixed)}"
    m = _ENTRY.match(line)
    if not direct or m is None:
        return None
    indent, key, value = m[1], m[2], m[3].strip(" \t")
    entry = (lambda v: f"{key}: {v}") if key else (lambda v: f"- {v}")
    first = value[:1]
    if first in "“‘":
        inner = value[1:-1] if value[-1:] in "”’" else value
        return (f"的值两边是中文引号，在文件头里不起引号的作用。要加引号请用英文半角的 \"，"
                f"应写成{_q(excerpt(entry(_yaml_string(inner))))}")
    if first in "[{" and value.count(first) > value.count("]" if first == "[" else "}"):
        wrong = next((c for c in "】］" if c in value), None)
        if first == "[" and wrong:
            fixed = value.replace(wrong, "]")
            return f"结尾的方括号用了中文的 {wrong} ，要用英文半角的 ]，应写成{_q(excerpt(entry(fixed)))}"
        if first == "[":
            return ("的方括号 [ 没有配对的 ]。列表要在同一行写完并以 ] 结尾，如 tags: [民情地图, 美丽乡村]；"
                    "不是列表就去掉 [")
        return "的花括号 { 没有配对的 }。文件头里用不到花括号：请删去，或把整个值用英文半角引号括起来"
    if first in "\"'":
        closing = _CLOSING_QUOTE[first].search(value, 1)
        if closing is None:
            if value[-1:] in "”’":
                fixed = value[:-1] + first
                return f"结尾的引号用了中文的 {value[-1]} ，要用英文半角的 {first}，应写成{_q(excerpt(entry(fixed)))}"
            return f"开头的英文引号 {first} 没有配对的结尾引号。请在值的末尾也加上 {first}，或把引号都删去"
        if value[closing.end():].strip() and not value[closing.end():].lstrip().startswith("#"):
            left, right = ("“", "”") if first == '"' else ("‘", "’")
            fixed = left + value[1:closing.start()] + right + value[closing.end():]
            return (f"以英文引号开头，引号后面又有文字。标题里的引号请用中文引号，"
                    f"应写成{_q(excerpt(entry(fixed)))}")
        return None
    if first == "[":
        for item in value.strip("[]").split(","):
            item = item.strip()
            if _reserved(item):
                return (f"的列表里{_q(excerpt(item))}以“{item[0]}”开头，这个符号在文件头里有特殊用途。"
                        f"请给这一项加上英文半角引号，写成 {excerpt(_yaml_string(item))}")
        return None
    if _reserved(value):
        return (f"的值以“{first}”开头，这个符号在文件头里有特殊用途。请把整个值用英文半角引号括起来，"
                f"应写成{_q(excerpt(entry(_yaml_string(value))))}")
    if indent and key:
        return "开头多了空格。每个字段都要顶格写，前面不留空格"
    if key and _VALUE_COLON.search(value):
        fixed = _VALUE_COLON.sub("：", value)
        return (f"的值里有英文冒号加空格，会被当成又一个字段。请把这个冒号改成中文的“：”，"
                f"应写成{_q(excerpt(entry(fixed)))}；或把整个值用英文半角引号括起来")
    return None


def _at(lines: list[str], k: int, offset: int, why: str) -> tuple[str, int]:
    """(message, line of the file) for line k of the head."""
    shown = excerpt(lines[k].strip()) if lines[k].strip() else "（空行）"
    return f"文件头有误：第 {offset + k + 1} 行{_q(shown)}{why}", offset + k + 1


def _explain_yaml(exc: yaml.YAMLError, lines: list[str], offset: int) -> tuple[str, int]:
    """A YAML error in a head (its `lines`, line k being line offset + k + 1
    of the file) → (message, line): the likely mistake on the lines PyYAML
    points at (where the broken construct began, where it noticed), else on a
    line before them (title：民情地图 is noticed on the next line), else its words."""
    marks = [m.line for m in (getattr(exc, "context_mark", None), getattr(exc, "problem_mark", None))
             if m is not None]
    if isinstance(exc, yaml.reader.ReaderError):
        marks = ["\n".join(lines).count("\n", 0, exc.position)]
    marks = list(dict.fromkeys(min(k, len(lines) - 1) for k in marks)) or [next(
        (k for k in range(1, len(lines)) if lines[k].strip()), min(1, len(lines) - 1))]
    for k in marks:
        why = _cause(lines[k])
        if why:
            return _at(lines, k, offset, why)
    for k in range(max(marks) - 1, 0, -1):
        why = _cause(lines[k], direct=False) if k not in marks else None
        if why:
            return _at(lines, k, offset, why)
    said = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
    return _at(lines, marks[0], offset, "附近不符合格式。每个字段一行，写成“字段: 值”（英文冒号后加一个空格），"
               f"列表写成 [甲, 乙]；请检查这一行和上一行（YAML 的说明：{excerpt(said, 60)}）")


def _explain_shape(lines: list[str], offset: int) -> tuple[str, int]:
    """(message, line) for a head that is YAML, but not a mapping of fields
    (title：民情地图 alone is one string)."""
    for k in range(1, len(lines)):
        why = _cause(lines[k], direct=False)
        if why:
            return _at(lines, k, offset, why)
    k = next((k for k in range(1, len(lines)) if lines[k].strip()), min(1, len(lines) - 1))
    return _at(lines, k, offset, "不是“字段: 值”的形式。文件头每行写一个字段，"
               "如 title: 民情地图（英文冒号后加一个空格）")
