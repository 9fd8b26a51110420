"""A story or free-page file → a Story or FreePage value.

`parse_story(text, source, settings)` is pure and is what the tests call;
`read_story_file(path, …)` only adds the disk. Every problem names the file and,
for a frontmatter field, the line of that field.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import posixpath
import re
import reprlib
import signal
import threading
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Mapping
from urllib.parse import unquote

import yaml
from frontmatter.default_handlers import YAMLHandler

from .chinese import parse_date, slugify, summarize
from .config import Settings
from .encoding import read_text
from .errors import Problem, did_you_mean, excerpt
from .files import KINDS, outside_link, publishable
from .markup import forget_markdown, render_markdown
from .models import BASE, Asset, Cover, FreePage, Lines, Preface, Showcase, Story

STORY_FIELDS = ("title", "county", "township", "branch", "date", "authors", "standard", "tags",
                "summary", "cover", "cover_alt", "cover_caption", "featured", "source", "editor", "draft",
                "id", "slug")
REQUIRED = ("title", "county", "township", "branch", "date")
PAGE_FIELDS = ("title", "description", "menu", "slug")
PREFACE_FIELDS = ("title", "editor", "year")
PLACEHOLDER = "在这里写正文。写完后把 draft 改为 false。"  # what `gushihui new story` writes
TODO = "【待填写】"  # what `gushihui import` writes where it could not know (E326)
SHOWCASE_FIELDS = ("banner", "banner_alt", "theme", "accent")
_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
_THEME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
_LIST_SEPARATORS = re.compile(r"[、，,；;]")
MAX_NODES = 10_000  # values in a frontmatter: a real one has dozens; YAML aliases can make billions
STORY_SECONDS = 5.0  # a story takes milliseconds; one that takes seconds is pathological input


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser is ten times faster
    """Safe YAML that leaves dates as text, so that we can check them and
    report a bad one with its line instead of crashing in the YAML library."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Document:
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
            self.fail("E304", f"“{key}”应为一段文字，现在是 {_show(value)}", self.line(key))
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
            self.fail("E304", f"“{key}”只能是 true 或 false，现在是 {_show(value)}", self.line(key))
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


_TODO_GUIDES = {"title": "故事的标题", "county": "组织名册（org.csv）里县（市、区）的名称",
                "township": "组织名册里乡镇（街道）的名称", "branch": "组织名册里党支部的名称"}
_TODO_PICTURE = re.compile(r"!\[" + re.escape(TODO) + r"[^\]]*\]\(([^)\s]*)")


def _todos(doc: _Document) -> None:
    """E326 for each field and body line where `gushihui import` left 【待填写】."""
    for key, value in doc.data.items():
        values = value if isinstance(value, list) else [value]
        todo = next((v for v in values if isinstance(v, str) and TODO in v), None)
        if todo is not None:
            guide = _TODO_GUIDES.get(key, "要填的内容")
            doc.fail("E326", f"“{key}”还没有填写（导入时无法确定）：请把“{excerpt(todo, 40)}”整个换成{guide}",
                     doc.line(key))
    for i, line in enumerate(doc.body.split("\n")):
        if TODO not in line:
            continue
        picture = _TODO_PICTURE.search(line)
        if picture:
            message = (f"图片 {excerpt(picture.group(1), 60)} 还没有说明文字：请把方括号里的“{TODO}图片说明”"
                       "改成一句话，说明图上是什么（供视障读者使用）")
        else:
            message = f"正文里有导入时无法处理的内容：{excerpt(line.split(TODO, 1)[1], 90)}；处理好后删去“{TODO}”"
        doc.fail("E326", message, doc.body_line + i)


def digest(text: str, location: str) -> str:
    """Identifies a source file's content and place: equal digests parse equally."""
    return hashlib.blake2b(f"{location}\0{text}".encode(), digest_size=12).hexdigest()


_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxlist, _repr.maxdict, _repr.maxstring, _repr.maxother = 2, 4, 4, 30, 30


def _show(value: Any) -> str:
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


class _Links:
    """The path rules for covers, images and attachments (a link to a PDF, a
    Word file…): "/x" is from content/, anything else is relative to the file.
    A file outside media/ is copied next to the page that uses it, keeping its
    folders below the story's own; only publishable types may be referenced."""

    def __init__(self, doc: _Document, location: str, bundle: str):
        self.doc, self.bundle = doc, bundle
        self.folder = posixpath.dirname(location)
        self.assets: list[Asset] = []
        self.sources: dict[str, str] = {}  #: output address → the file it was given to

    def asset(self, ref: str, line: int) -> str | None:
        """A referenced file → its output address (site-relative), or None."""
        if _EXTERNAL.match(ref):
            self.doc.fail("E313", f"图片“{excerpt(ref)}”来自外部网站；请把图片放进 content/media/ 再引用 /media/文件名", line)
            return None
        path = unquote(ref.split("#")[0].split("?")[0])
        target = posixpath.normpath(path.lstrip("/") if path.startswith("/") else posixpath.join(self.folder, path))
        if target == "." or target.startswith("../") or target == "..":
            self.doc.fail("E311", f"“{excerpt(ref)}”指向 content 目录之外；只能引用 content 里的文件", line)
            return None
        if not publishable(target):
            self.doc.fail("E318", f"“{excerpt(ref)}”这种文件不能发布；只能引用{KINDS}", line)
            return None
        address = target if target.startswith("media/") else self._bundled(target)
        self.assets.append(Asset(target, address, line))
        return address

    def _bundled(self, target: str) -> str:
        """The address beside the page: the path below the story's folder, or
        the file name; a second file of the same name gets a short hash."""
        below = target[len(self.folder) + 1:] if self.folder and target.startswith(self.folder + "/") else \
            target if not self.folder else posixpath.basename(target)
        address = f"{self.bundle}/{below}"
        if self.sources.setdefault(address, target) != target:
            stem, ext = posixpath.splitext(below)
            address = f"{self.bundle}/{stem}-{hashlib.blake2b(target.encode(), digest_size=3).hexdigest()}{ext}"
            self.sources[address] = target
        return address

    def resolve(self, tag: str, attr: str, value: str) -> str | None:
        if value[:5].lower() == "data:":
            return value  # markup.sanitize keeps only inline pictures
        if (tag == "img" and attr == "src") or (attr == "href" and _attachment(value)):
            address = self.asset(value, self.doc.find_reference(value))
            return None if address is None else BASE + address
        if value.startswith("/") and not value.startswith("//"):
            return BASE + value.lstrip("/")
        return value


def _picture(doc: _Document, links: _Links, key: str, what: str, caption: str = "") -> Cover | None:
    """A picture field (cover, banner) and its required <key>_alt text."""
    if not doc.data.get(key):
        return None
    ref, alt = doc.string(key), doc.string(f"{key}_alt")
    address = links.asset(ref, doc.line(key)) if ref else None
    if not alt:
        doc.fail("E310", f"有{what}（{key}）就要写 {key}_alt：用一句话说明图上是什么，供视障读者使用", doc.line(key))
    return Cover(address, alt, caption) if address else None


def _attachment(href: str) -> bool:
    """A link to a file of content/ (a PDF, a Word file…), not to a page or another site."""
    path = href.split("#")[0].split("?")[0]
    return bool(path) and not _EXTERNAL.match(href) and publishable(unquote(path))


@contextmanager
def _time_limit(seconds: float):
    """TimeoutError when the block runs longer than `seconds`. Only the main
    thread of a process on a POSIX system can have an alarm; elsewhere no limit."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGALRM) is not _expired:  # installed once: a story's parse is short
        signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _expired(*_):
    raise TimeoutError


def _bounded(parse):
    """A parse that gives up on pathological input (nesting hundreds deep,
    thousands of unmatched brackets) with E321 instead of a crash or a hang."""

    def bounded(text: str, source: str, settings: Settings, location: str | None = None):
        try:
            with _time_limit(STORY_SECONDS):
                return parse(text, source, settings, location)
        except (RecursionError, TimeoutError) as exc:
            forget_markdown()  # interrupted mid-conversion: its state cannot be trusted
            why = "嵌套太深" if isinstance(exc, RecursionError) else f"处理超过 {STORY_SECONDS:g} 秒"
            return None, [Problem("E321", f"这个文件{why}，无法生成（例如几百层的列表或引用、成千上万个不成对的方括号）；"
                                  "请简化这部分内容", source)]

    bounded.__doc__, bounded.__name__ = parse.__doc__, parse.__name__
    return bounded


@_bounded
def parse_story(text: str, source: str, settings: Settings,
                location: str | None = None) -> tuple[Story | None, list[Problem]]:
    """Pure: a story file's text → a Story (None when it has errors) and problems.

    `source` names the file in messages; `location` is its path below
    content/ (POSIX), which relative image paths start from.
    """
    doc = _Document(text, source, STORY_FIELDS)
    if doc.failed:
        return None, doc.problems
    fields = {k: doc.string(k, required=k in REQUIRED) for k in ("title", "county", "township", "branch")}
    day = doc.date("date")
    story_id = doc.string("id") or PurePosixPath(source.replace("\\", "/")).stem
    slug = doc.string("slug")
    if slug and not _SLUG.match(slug):
        doc.fail("E314", f"slug“{excerpt(slug)}”只能用小写英文字母、数字和单个连字符，如 fuyun-map", doc.line("slug"))
    slug = slug or slugify(story_id)
    if not slug:
        doc.fail("E314", f"无法从编号“{excerpt(story_id)}”生成网址名；请在文件头加上 slug，如 slug: fuyun-map", doc.line("id"))
    standard = None
    if doc.data.get("standard") not in (None, ""):
        key = doc.string("standard")
        found = settings.standard(key)
        if found is None and key:
            names = [s.name for s in settings.standards] + [s.id for s in settings.standards]
            hint = did_you_mean(key, names) or "；可选：" + "、".join(s.name for s in settings.standards)
            doc.fail("E309", f"未知的类别“{excerpt(key)}”{hint}", doc.line("standard"))
        standard = found.id if found else None
    links = _Links(doc, location or source, f"stories/{slug}")
    cover = _picture(doc, links, "cover", "封面图", doc.string("cover_caption"))
    flags = {k: doc.boolean(k) for k in ("featured", "draft")}
    authors, tags, summary = doc.strings("authors"), doc.strings("tags"), doc.string("summary")
    origin, editor = doc.string("source"), doc.string("editor")  # 来源 and 责任编辑; Story.source is the file
    rendered = render_markdown(doc.body, links.resolve)
    if not doc.body.strip():
        doc.problems.append(Problem("W316", "正文为空", source, doc.body_line))
    if PLACEHOLDER in doc.body and not flags["draft"]:
        doc.fail("E324", "正文还是新建故事时的占位文字；请写上正文，或把 draft 改回 true", doc.find_reference(PLACEHOLDER))
    _todos(doc)
    if doc.failed:
        return None, doc.problems
    story = Story(
        id=story_id, slug=slug, date=day, source=source, html=rendered.html,
        summary=summary or summarize(rendered.text), characters=rendered.characters,
        authors=authors, standard=standard, tags=tags, cover=cover, origin=origin, editor=editor,
        assets=tuple(links.assets),
        lines=Lines.of(doc.lines), digest=digest(text, location or source), **fields, **flags,
    )
    return story, doc.problems


@_bounded
def parse_page(text: str, source: str, settings: Settings,
               location: str | None = None) -> tuple[FreePage | None, list[Problem]]:
    """Pure: a free page's text → a FreePage (None when it has errors) and problems."""
    doc = _Document(text, source, PAGE_FIELDS)
    if doc.failed:
        return None, doc.problems
    title = doc.string("title", required=True)
    slug = doc.string("slug") or slugify(PurePosixPath(source.replace("\\", "/")).stem)
    if not _SLUG.match(slug):
        doc.fail("E314", f"页面网址名“{excerpt(slug)}”无效；请用小写英文字母、数字和连字符，或在文件头写 slug", doc.line("slug"))
    menu = doc.data.get("menu")
    if menu is not None and (isinstance(menu, bool) or not isinstance(menu, int)):
        doc.fail("E304", f"“menu”应为整数（菜单中的顺序），现在是 {_show(menu)}", doc.line("menu"))
        menu = None
    links = _Links(doc, location or source, slug)
    rendered = render_markdown(doc.body, links.resolve)
    if doc.failed:
        return None, doc.problems
    return FreePage(slug, title, source, rendered.html, menu, doc.string("description"),
                    tuple(links.assets), digest(text, location or source)), doc.problems


@_bounded
def parse_preface(text: str, source: str, settings: Settings,
                  location: str | None = None) -> tuple[Preface | None, list[Problem]]:
    """Pure: the optional preface of a township anthology,
    anthologies/<county>/<township>.md → a Preface. Its frontmatter is optional."""
    location = location or source
    county, township = PurePosixPath(location).parts[-2], PurePosixPath(location).stem
    doc = _Document(text, source, PREFACE_FIELDS, head_required=False)
    if doc.failed:
        return None, doc.problems
    year = doc.data.get("year")
    if year is not None and (isinstance(year, bool) or not str(year).isdigit() or not 1949 <= int(year) <= 2100):
        doc.fail("E304", f"“year”应为年份，如 2024，现在是 {_show(year)}", doc.line("year"))
        year = None
    links = _Links(doc, location, f"anthologies/{slugify(county)}/{slugify(township)}")
    rendered = render_markdown(doc.body, links.resolve)
    if doc.failed:
        return None, doc.problems
    return Preface(county, township, source, rendered.html, doc.string("title"), doc.string("editor"),
                   int(year) if year is not None else None, tuple(links.assets), digest(text, location)), doc.problems


@_bounded
def parse_showcase(text: str, source: str, settings: Settings,
                   location: str | None = None) -> tuple[Showcase | None, list[Problem]]:
    """Pure: a county's introduction, showcases/<county>.md → a Showcase. Its frontmatter is optional."""
    location = location or source
    county = PurePosixPath(location).stem
    doc = _Document(text, source, SHOWCASE_FIELDS, head_required=False)
    if doc.failed:
        return None, doc.problems
    links = _Links(doc, location, f"counties/{slugify(county)}")
    banner = _picture(doc, links, "banner", "横幅图")
    theme, accent = doc.string("theme"), doc.string("accent")
    if theme and not _THEME.match(theme):
        doc.fail("E304", f"“theme”应为 themes/ 下一个文件夹的名字，现在是 {_show(theme)}", doc.line("theme"))
    if accent and not _COLOUR.match(accent):
        doc.fail("E304", f"“accent”应为 #0b5394 这样的颜色，现在是 {_show(accent)}", doc.line("accent"))
    rendered = render_markdown(doc.body, links.resolve)
    if doc.failed:
        return None, doc.problems
    return Showcase(county, source, rendered.html, banner, theme, accent, tuple(links.assets),
                    digest(text, location)), doc.problems


def read_story_file(path: Path, content: Path, settings: Settings):
    """A story file → (story or None, problems, digest, stat): the parse and
    what the cache keeps of the file (stat as changes.scan gives it).

    Missing referenced files are not part of the cached result: they are
    checked again on every build by `missing_assets`."""
    try:
        stat = path.stat()
    except OSError as exc:
        return None, [Problem("E003", f"无法读取文件：{exc.strerror or exc}", str(path))], "", (0, 0, 0)
    key = stat.st_mtime_ns, stat.st_size, stat.st_ctime_ns
    text, problems = read_text(path)
    if text is None:
        return None, problems, "", key
    location = path.relative_to(content).as_posix()
    story, more = parse_story(text, str(path), settings, location)
    return story, problems + more, digest(text, location), key


def unavailable_assets(item, files: Mapping[str, Any], outside: Mapping[str, str]) -> list[Problem]:
    """For each file a story or page refers to that is not among `files` (the
    scan of content/): E317 when a link leads it out of content/, else E312."""
    problems = []
    for a in item.assets:
        if a.source in files:
            continue
        link = outside_link(a.source, outside)
        if link is not None:
            problems.append(Problem("E317", f"“{excerpt(a.source)}”经由符号链接 {excerpt(link)} 指向 content 目录之外的"
                                    f" {excerpt(outside[link], 200)}；只能引用 content 里的文件", item.source, a.line))
        else:
            problems.append(Problem("E312", f"找不到“{excerpt(a.source)}”；请检查文件名和大小写", item.source, a.line))
    return problems


def read_page(path: Path, content: Path, settings: Settings, files: Mapping[str, Any],
              outside: Mapping[str, str], parse=parse_page) -> tuple[FreePage | Preface | None, list[Problem]]:
    """A free page (or, with parse_preface, a preface) from disk, its files checked."""
    text, problems = read_text(path)
    if text is None:
        return None, problems
    page, more = parse(text, str(path), settings, path.relative_to(content).as_posix())
    missing = unavailable_assets(page, files, outside) if page else []
    return (None if missing else page), problems + more + missing
