"""A story or free-page file → a Story or FreePage value.

`parse_story(text, source, settings)` is pure and is what the tests call;
`read_story_file(path, …)` only adds the disk. Every problem names the file and,
for a frontmatter field, the line of that field.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

import yaml
from frontmatter.default_handlers import YAMLHandler

from .chinese import slugify, summarize
from .config import Settings
from .encoding import read_text
from .errors import Problem, did_you_mean
from .markup import render_markdown
from .models import Asset, Cover, FreePage, Story

STORY_FIELDS = ("title", "county", "township", "branch", "date", "authors", "standard", "tags",
                "summary", "cover", "cover_alt", "cover_caption", "featured", "draft", "id", "slug")
REQUIRED = ("title", "county", "township", "branch", "date")
PAGE_FIELDS = ("title", "description", "menu", "slug")
_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
_LIST_SEPARATORS = re.compile(r"[、，,；;]")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser is ten times faster
    """Safe YAML that leaves dates as text, so that we can check them and
    report a bad one with its line instead of crashing in the YAML library."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Document:
    """A file's frontmatter and body, with typed getters that collect problems."""

    def __init__(self, text: str, source: str, known: tuple[str, ...]):
        self.source, self.problems = source, []
        self.data: dict[str, Any] = {}
        self.lines: dict[str, int] = {}
        self.body, self.body_line = text, 1
        # python-frontmatter's own delimiter rule: a line of three or more dashes.
        bounds = list(YAMLHandler.FM_BOUNDARY.finditer(text, 0))
        if not bounds or bounds[0].start() != 0:
            self.fail("E301", "文件开头缺少文件头：第一行应为 ---，接着是 title: 等字段，再以 --- 结束", 1)
            return
        if len(bounds) < 2:
            self.fail("E301", "文件头没有结束：请在字段之后加一行 ---", 1)
            return
        head = text[bounds[0].end():bounds[1].start()]
        self.body = text[bounds[1].end():].lstrip("\n")
        self.body_line = text[:len(text) - len(self.body)].count("\n") + 1
        for i, line in enumerate(head.split("\n")[1:], 2):
            m = _KEY_LINE.match(line)
            if m:
                self.lines.setdefault(m.group(1), i)
        try:
            data = yaml.load(head, Loader=_Loader)
        except yaml.YAMLError as exc:
            # The context mark is where the broken construct began (e.g. an
            # unclosed [), which is where the user has to look.
            mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            self.fail("E301", f"文件头格式错误（YAML：{getattr(exc, 'problem', None) or exc}）；"
                      "常见原因：冒号后缺空格、引号或括号不成对", line)
            return
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail("E301", "文件头应为“字段: 值”的形式，每行一个字段", 2)
            return
        self.data = {str(k): v for k, v in data.items()}
        for key in self.data:
            if key not in known:
                hint = did_you_mean(key, known) or "，已忽略"
                self.warn("W315", f"未知的字段“{key}”{hint}", key)

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)

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
                self.fail("E302", f"缺少必填字段“{key}”", self.line(key) if key in self.data else 1)
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
        return tuple(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))

    def boolean(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.fail("E304", f"“{key}”只能是 true 或 false，现在是 {_show(value)}", self.line(key))
            return False
        return value

    def date(self, key: str) -> dt.date | None:
        raw = self.data.get(key)
        if raw is None or raw == "":
            self.fail("E302", f"缺少必填字段“{key}”（格式：2017-03-15）", 1)
            return None
        text = str(raw).strip()
        if not _DATE.match(text):
            self.fail("E303", f"日期“{text}”格式不对，应写成 2017-03-15 这样的“年-月-日”", self.line(key))
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.fail("E303", f"日期“{text}”不存在，请检查月份和日子", self.line(key))
            return None

    def find_line(self, needle: str) -> int:
        """The line of the body where `needle` first stands."""
        for i, line in enumerate(self.body.split("\n")):
            if needle in line:
                return self.body_line + i
        return self.body_line


def digest(text: str, location: str) -> str:
    """Identifies a source file's content and place: equal digests parse equally."""
    return hashlib.blake2b(f"{location}\0{text}".encode(), digest_size=12).hexdigest()


def _show(value: Any) -> str:
    return f"“{value}”" if isinstance(value, str) else repr(value)


class _Links:
    """The path rules for covers and for images and links in the body:
    "/x" is from content/, anything else is relative to the file; a file
    outside media/ is copied next to the page that uses it."""

    def __init__(self, doc: _Document, location: str, bundle: str, base_path: str):
        self.doc, self.bundle, self.base_path = doc, bundle, base_path
        self.folder = posixpath.dirname(location)
        self.assets: list[Asset] = []

    def asset(self, ref: str, line: int) -> str | None:
        """A referenced file → its output address (site-relative), or None."""
        if _EXTERNAL.match(ref):
            self.doc.fail("E313", f"图片“{ref}”来自外部网站；请把图片放进 content/media/ 再引用 /media/文件名", line)
            return None
        path = unquote(ref.split("#")[0].split("?")[0])
        target = posixpath.normpath(path.lstrip("/") if path.startswith("/") else posixpath.join(self.folder, path))
        if target == "." or target.startswith("../") or target == "..":
            self.doc.fail("E311", f"“{ref}”指向 content 目录之外；只能引用 content 里的文件", line)
            return None
        address = target if target.startswith("media/") else f"{self.bundle}/{posixpath.basename(target)}"
        self.assets.append(Asset(target, address, line))
        return address

    def resolve(self, tag: str, attr: str, value: str) -> str | None:
        if value[:5].lower() == "data:":
            return value  # markup.sanitize keeps only inline pictures
        if tag == "img" and attr == "src":
            address = self.asset(value, self.doc.find_line(value))
            return None if address is None else self.base_path + address
        if value.startswith("/") and not value.startswith("//"):
            return self.base_path + value.lstrip("/")
        return value


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
        doc.fail("E314", f"slug“{slug}”只能用小写英文字母、数字和单个连字符，如 fuyun-map", doc.line("slug"))
    slug = slug or slugify(story_id)
    if not slug:
        doc.fail("E314", f"无法从编号“{story_id}”生成网址名；请在文件头加上 slug，如 slug: fuyun-map", doc.line("id"))
    standard = None
    if doc.data.get("standard") not in (None, ""):
        key = doc.string("standard")
        found = settings.standard(key)
        if found is None and key:
            names = [s.name for s in settings.standards] + [s.id for s in settings.standards]
            hint = did_you_mean(key, names) or "；可选：" + "、".join(s.name for s in settings.standards)
            doc.fail("E309", f"未知的类别“{key}”{hint}", doc.line("standard"))
        standard = found.id if found else None
    links = _Links(doc, location or source, f"stories/{slug}", settings.base_path)
    cover = None
    if doc.data.get("cover"):
        ref, alt = doc.string("cover"), doc.string("cover_alt")
        address = links.asset(ref, doc.line("cover")) if ref else None
        if not alt:
            doc.fail("E310", "有封面图（cover）就要写 cover_alt：用一句话说明图上是什么，供视障读者使用", doc.line("cover"))
        if address:
            cover = Cover(address, alt, doc.string("cover_caption"))
    flags = {k: doc.boolean(k) for k in ("featured", "draft")}
    authors, tags, summary = doc.strings("authors"), doc.strings("tags"), doc.string("summary")
    rendered = render_markdown(doc.body, links.resolve)
    if not doc.body.strip():
        doc.problems.append(Problem("W316", "正文为空", source, doc.body_line))
    if doc.failed:
        return None, doc.problems
    story = Story(
        id=story_id, slug=slug, date=day, source=source, html=rendered.html,
        summary=summary or summarize(rendered.text), characters=rendered.characters,
        authors=authors, standard=standard, tags=tags, cover=cover, assets=tuple(links.assets),
        lines=dict(doc.lines), digest=digest(text, location or source), **fields, **flags,
    )
    return story, doc.problems


def parse_page(text: str, source: str, settings: Settings,
               location: str | None = None) -> tuple[FreePage | None, list[Problem]]:
    """Pure: a free page's text → a FreePage (None when it has errors) and problems."""
    doc = _Document(text, source, PAGE_FIELDS)
    if doc.failed:
        return None, doc.problems
    title = doc.string("title", required=True)
    slug = doc.string("slug") or slugify(PurePosixPath(source.replace("\\", "/")).stem)
    if not _SLUG.match(slug):
        doc.fail("E314", f"页面网址名“{slug}”无效；请用小写英文字母、数字和连字符，或在文件头写 slug", doc.line("slug"))
    menu = doc.data.get("menu")
    if menu is not None and (isinstance(menu, bool) or not isinstance(menu, int)):
        doc.fail("E304", f"“menu”应为整数（菜单中的顺序），现在是 {_show(menu)}", doc.line("menu"))
        menu = None
    links = _Links(doc, location or source, slug, settings.base_path)
    rendered = render_markdown(doc.body, links.resolve)
    if doc.failed:
        return None, doc.problems
    return FreePage(slug, title, source, rendered.html, menu, doc.string("description"),
                    tuple(links.assets), digest(text, location or source)), doc.problems


def read_story_file(path: Path, content: Path, settings: Settings):
    """A story file → (story or None, problems, digest, mtime_ns, size): the parse and
    what the cache keeps of the file.

    Missing referenced files are not part of the cached result: they are
    checked again on every build by `missing_assets`."""
    try:
        stat = path.stat()
    except OSError as exc:
        return None, [Problem("E003", f"无法读取文件：{exc.strerror or exc}", str(path))], "", 0, 0
    text, problems = read_text(path)
    if text is None:
        return None, problems, "", stat.st_mtime_ns, stat.st_size
    location = path.relative_to(content).as_posix()
    story, more = parse_story(text, str(path), settings, location)
    return story, problems + more, digest(text, location), stat.st_mtime_ns, stat.st_size


def missing_assets(item, content: Path) -> list[Problem]:
    """E312 for each file a story or page refers to that does not exist."""
    return [Problem("E312", f"找不到“{a.source}”；请检查文件名和大小写", item.source, a.line)
            for a in item.assets if not (content / a.source).is_file()]


def read_page(path: Path, content: Path, settings: Settings) -> tuple[FreePage | None, list[Problem]]:
    text, problems = read_text(path)
    if text is None:
        return None, problems
    page, more = parse_page(text, str(path), settings, path.relative_to(content).as_posix())
    missing = missing_assets(page, content) if page else []
    return (None if missing else page), problems + more + missing
