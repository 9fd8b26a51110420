"""A story or free-page file → a Story or FreePage value.

`parse_story(text, source, settings)` is pure and is what the tests call;
`read_story_file(path, …)` only adds the disk. Every problem names the file and,
for a frontmatter field, the line of that field.
"""
from __future__ import annotations

import hashlib
import posixpath
import re
import signal
import threading
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Mapping
from urllib.parse import unquote

from .chinese import slugify, summarize
from .config import Settings
from .encoding import read_text
from .errors import Problem, did_you_mean, excerpt
from .filehead import Document, show
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
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
STORY_SECONDS = 5.0  # a story takes milliseconds; one that takes seconds is pathological input


_TODO_GUIDES = {"title": "故事的标题", "county": "组织名册（org.csv）里县（市、区）的名称",
                "township": "组织名册里乡镇（街道）的名称", "branch": "组织名册里党支部的名称"}
_TODO_PICTURE = re.compile(r"!\[" + re.escape(TODO) + r"[^\]]*\]\(([^)\s]*)")


def _todos(doc: Document) -> None:
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


class _Links:
    """The path rules for covers, images and attachments (a link to a PDF, a
    Word file…): "/x" is from content/, anything else is relative to the file.
    A file outside media/ is copied next to the page that uses it, keeping its
    folders below the story's own; only publishable types may be referenced."""

    def __init__(self, doc: Document, location: str, bundle: str):
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


def _picture(doc: Document, links: _Links, key: str, what: str, caption: str = "") -> Cover | None:
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
    doc = Document(text, source, STORY_FIELDS)
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
    doc = Document(text, source, PAGE_FIELDS)
    if doc.failed:
        return None, doc.problems
    title = doc.string("title", required=True)
    slug = doc.string("slug") or slugify(PurePosixPath(source.replace("\\", "/")).stem)
    if not _SLUG.match(slug):
        doc.fail("E314", f"页面网址名“{excerpt(slug)}”无效；请用小写英文字母、数字和连字符，或在文件头写 slug", doc.line("slug"))
    menu = doc.data.get("menu")
    if menu is not None and (isinstance(menu, bool) or not isinstance(menu, int)):
        doc.fail("E304", f"“menu”应为整数（菜单中的顺序），现在是 {show(menu)}", doc.line("menu"))
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
    doc = Document(text, source, PREFACE_FIELDS, head_required=False)
    if doc.failed:
        return None, doc.problems
    year = doc.data.get("year")
    if year is not None and (isinstance(year, bool) or not str(year).isdigit() or not 1949 <= int(year) <= 2100):
        doc.fail("E304", f"“year”应为年份，如 2024，现在是 {show(year)}", doc.line("year"))
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
    doc = Document(text, source, SHOWCASE_FIELDS, head_required=False)
    if doc.failed:
        return None, doc.problems
    links = _Links(doc, location, f"counties/{slugify(county)}")
    banner = _picture(doc, links, "banner", "横幅图")
    theme, accent = doc.string("theme"), doc.string("accent")
    if theme and not _THEME.match(theme):
        doc.fail("E304", f"“theme”应为 themes/ 下一个文件夹的名字，现在是 {show(theme)}", doc.line("theme"))
    if accent and not _COLOUR.match(accent):
        doc.fail("E304", f"“accent”应为 #0b5394 这样的颜色，现在是 {show(accent)}", doc.line("accent"))
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
