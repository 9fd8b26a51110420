"""`gushihui import`: a story file from a document as it really arrives, a Word or WPS file
(.docx), text copied from the web or WeChat (.txt), Markdown (.md) or a saved web page (.html).

A document becomes a list of blocks (paragraphs, headings, list items, tables, pictures),
each cleaned by fixing.py; paragraphs that a web copy broke inside a sentence are joined.
From the blocks come the front matter: the title (the document's title, else its first
line), the authors (a ◎ byline), the date (one the text names, else today), and the
county, township and branch (given, or the one branch of org.csv the text names). What
cannot be known is written as TODO, a value `check` reports (E326) until it is filled in.
Pictures of a Word file or a saved page are written to media/. Nothing here prints.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import yaml

from . import fixing
from .chinese import parse_date, slugify
from .encoding import decode
from .errors import Problem
from .files import is_raster
from .fixing import Changes
from .models import BranchRow
from .reader import TODO

SUFFIXES = {".docx": "docx", ".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html",
            ".htm": "html"}
OLD_FORMATS = {".doc", ".wps", ".rtf", ".odt", ".pdf", ".wpt", ".dot"}  # "save as .docx first"
MAX_SLUG = 60  # characters of a file name made from a title: long titles make paths Windows cannot open
MAX_TITLE = 60  # a first line longer than this is a paragraph, not a title
_IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/gif": "gif",
                "image/webp": "webp", "image/bmp": "bmp", "image/tiff": "tif"}
_MARK = "\ue000"  # stands for picture N in a block until its file has a name: \ue000N\ue001
_MARK_END = "\ue001"
_PICTURE_MARK = re.compile(f"{_MARK}(\\d+){_MARK_END}")


class ImportError_(Exception):
    """A document that cannot be read (a damaged .docx…); the message is Chinese."""


@dataclass
class Picture:
    data: bytes | None  #: None: not in the document (an address on another site)
    ext: str
    alt: str  #: from the document; "" when it has none
    origin: str = ""  #: where it was, for a message
    name: str = ""  #: the file written in media/


@dataclass
class Block:
    kind: str  #: "p", "h", "li", "quote", "table", "picture", "raw"
    text: str  #: Markdown: inline text, or a whole table
    level: int = 0  #: a heading's level; a list item's depth
    prefix: str = ""  #: a list item's "- " or "3. "
    style: str = ""  #: "title" for Word's Title style


@dataclass
class Source:
    """A document read: its blocks, its pictures, and the fields it states itself."""

    blocks: list[Block]
    pictures: list[Picture] = field(default_factory=list)
    title: str = ""  #: a title the document states (Word's Title, <h1>, front matter)
    fields: dict = field(default_factory=dict)  #: front matter of a Markdown file
    markdown_body: str | None = None  #: a Markdown file's body, as written
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Imported:
    """A story made from a document, ready to be written."""

    text: str  #: the story file
    title: str
    authors: list[str]
    date: dt.date
    date_from: str  #: the text the date was read from; "" for today
    org: dict[str, str]  #: county, township, branch: what is known
    org_from: str  #: "arguments", "text" or ""
    todo: list[str]  #: what the user must fill in, in Chinese
    changes: Changes
    pictures: list[Picture]
    notes: list[str]  #: what import did that a user should check, in Chinese
    slug: str
    problems: list[Problem] = field(default_factory=list)


# Reading each format ------------------------------------------------------------------------

def read_source(path: Path) -> Source:
    kind = SUFFIXES[path.suffix.lower()]
    if kind == "docx":
        return _read_docx(path)
    text, problems = decode(path.read_bytes(), str(path))
    if text is None:
        raise ImportError_("文件既不是 UTF-8 也不是 GBK/GB18030 编码，无法读取；请另存为 UTF-8")
    if kind == "text":
        source = Source([Block("p", line) for line in text.split("\n")])
    elif kind == "markdown":
        source = _read_markdown(text)
    else:
        source = _read_html(text, path.parent)
    source.problems = problems + source.problems
    return source


def _read_markdown(text: str) -> Source:
    fields, body = {}, text
    bounds = list(fixing._FRONT.finditer(text))
    if len(bounds) >= 2 and bounds[0].start() == 0:
        try:
            loaded = yaml.safe_load(text[bounds[0].end():bounds[1].start()])
        except yaml.YAMLError:
            loaded = None
        if isinstance(loaded, dict):
            fields = {str(k): v for k, v in loaded.items() if v not in (None, "")}
            body = text[bounds[1].end():].lstrip("\n")
    return Source([], fields=fields, markdown_body=body, title=str(fields.get("title", "") or ""))


def _read_docx(path: Path) -> Source:
    import mammoth

    pictures: list[Picture] = []

    def picture(image) -> dict:
        with image.open() as f:
            data = f.read()
        ext = _IMAGE_TYPES.get((image.content_type or "").lower()) or \
            (image.content_type or "").rsplit("/", 1)[-1].lower() or "bin"
        pictures.append(Picture(data, ext, (image.alt_text or "").strip(), f"图片 {len(pictures) + 1}"))
        return {"src": f"{_MARK}{len(pictures) - 1}{_MARK_END}"}

    try:
        with path.open("rb") as f:
            result = mammoth.convert_to_html(f, style_map=_STYLE_MAP, convert_image=mammoth.images.img_element(picture))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportError_("不是有效的 Word 文件（.docx），可能已损坏；请用 Word 或 WPS 打开后另存为 .docx"
                           f"（{type(exc).__name__}）") from exc
    source = _html_blocks(result.value, pictures, None)
    source.title = source.title or _core_title(path)
    return source


_STYLE_MAP = """
p[style-name='Title'] => h1.title:fresh
p[style-name='标题'] => h1.title:fresh
p[style-name='Subtitle'] => p:fresh
p[style-name='标题 1'] => h1:fresh
p[style-name='标题 2'] => h2:fresh
p[style-name='标题 3'] => h3:fresh
p[style-name='标题 4'] => h4:fresh
"""


def _core_title(path: Path) -> str:
    """The title in the document's properties (docProps/core.xml), unless it is a leftover."""
    try:
        with zipfile.ZipFile(path) as z:
            xml = z.read("docProps/core.xml").decode("utf-8", "replace")
    except (KeyError, OSError, zipfile.BadZipFile):
        return ""
    m = re.search(r"<dc:title>([^<]*)</dc:title>", xml)
    title = _unescape(m.group(1)).strip() if m else ""
    if not title or re.match(r"^(?:Microsoft Word - |标题$|Title$|文档\d*$|新建|Document\d*$)", title, re.I):
        return ""
    return title


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


def _read_html(text: str, folder: Path) -> Source:
    return _html_blocks(text, [], folder)


# HTML → blocks -----------------------------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_SKIP = {"script", "style", "noscript", "template", "iframe", "svg", "canvas", "form", "button", "select",
         "nav", "object", "video", "audio", "head", "footer", "aside"}
_BLOCKS = {"p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
           "li", "table", "blockquote", "pre", "figure", "figcaption", "hr", "dl", "dt", "dd", "center", "body"}


class _Node:
    __slots__ = ("tag", "attrs", "children", "parent")

    def __init__(self, tag: str, attrs: dict, parent: "_Node | None"):
        self.tag, self.attrs, self.children, self.parent = tag, attrs, [], parent

    def find(self, test) -> "_Node | None":
        for child in self.children:
            if isinstance(child, _Node):
                if test(child):
                    return child
                found = child.find(test)
                if found is not None:
                    return found
        return None

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children if
                       isinstance(c, str) or c.tag not in _SKIP)


class _Tree(HTMLParser):
    """A forgiving HTML parser: a tree of _Node, unclosed and stray tags tolerated."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.node = _Node("#root", {}, None)

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, {k: v or "" for k, v in attrs}, self.node)
        if tag == "p" and self._open("p"):  # <p> inside <p> closes the first
            self.handle_endtag("p")
            node.parent = self.node
        self.node.children.append(node)
        if tag not in _VOID:
            self.node = node

    def handle_startendtag(self, tag, attrs):
        self.node.children.append(_Node(tag, {k: v or "" for k, v in attrs}, self.node))

    def handle_endtag(self, tag):
        node = self.node
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.node = node.parent

    def handle_data(self, data):
        self.node.children.append(data)

    def _open(self, tag: str) -> bool:
        node = self.node
        while node is not None:
            if node.tag == tag:
                return True
            if node.tag in ("td", "th", "li", "blockquote", "div", "section"):
                return False
            node = node.parent
        return False


def _content_root(root: _Node) -> _Node:
    """The article of a saved page: WeChat's #js_content, <article>, <main>, else <body>."""
    for test in (lambda n: n.attrs.get("id") == "js_content",
                 lambda n: "rich_media_content" in n.attrs.get("class", "").split(),
                 lambda n: n.tag == "article", lambda n: n.tag == "main", lambda n: n.tag == "body"):
        found = root.find(test)
        if found is not None:
            return found
    return root


def _page_title(root: _Node) -> str:
    """The title of a saved page: WeChat's, the article's <h1>, og:title, else <title>."""
    for test in (lambda n: n.attrs.get("id") == "activity-name" or "rich_media_title" in n.attrs.get("class", ""),
                 lambda n: n.tag == "h1"):
        found = root.find(test)
        if found is not None and found.text().strip():
            return " ".join(found.text().split())
    meta = root.find(lambda n: n.tag == "meta" and n.attrs.get("property") == "og:title")
    if meta is not None and meta.attrs.get("content", "").strip():
        return meta.attrs["content"].strip()
    title = root.find(lambda n: n.tag == "title")
    return " ".join(title.text().split()) if title is not None else ""


def _html_blocks(html: str, pictures: list[Picture], folder: Path | None) -> Source:
    """HTML (mammoth's, or a saved page's) → blocks. `folder`: where a saved page's pictures are."""
    tree = _Tree()
    tree.feed(html)
    tree.close()
    root = tree.root
    content = _content_root(root) if folder is not None else root
    title = _page_title(root) if folder is not None else ""
    walker = _Walker(pictures, folder)
    walker.block(content)
    walker.flush()
    if folder is None:  # Word: the Title style is the title
        for b in walker.blocks:
            if b.kind == "h" and b.style == "title":
                title = title or b.text
    return Source(walker.blocks, pictures, title)


_ESCAPE = re.compile(r"([\\`*_\[\]<>])")
_LINE_START = re.compile(r"^(\s*)(#{1,6}\s|>|[-+*]\s|\d{1,9}[.)]\s)")


def _escape(text: str) -> str:
    """Text as Markdown shows it literally."""
    return _ESCAPE.sub(r"\\\1", text)


class _Walker:
    """Walks a tree, writing inline Markdown into the current paragraph and blocks into a list."""

    def __init__(self, pictures: list[Picture], folder: Path | None):
        self.pictures, self.folder = pictures, folder
        self.blocks: list[Block] = []
        self.buffer: list[str] = []

    def flush(self, kind: str = "p", **extra) -> None:
        text = "".join(self.buffer)
        self.buffer = []
        lines = [" ".join(part.split()) if kind != "raw" else part for part in text.split("\n")]
        for line in lines if kind == "p" else ["\n".join(lines)]:
            if line.strip():
                if kind == "p" and _LINE_START.match(line):
                    line = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line, count=1)
                only = _PICTURE_MARK.fullmatch(line.strip())
                self.blocks.append(Block("picture" if only else kind, line.strip(), **extra))

    def block(self, node: _Node, depth: int = 0) -> None:
        for child in node.children:
            if isinstance(child, str):
                self.buffer.append(_escape(child))
                continue
            tag = child.tag
            if tag in _SKIP:
                continue
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.flush()
                self.inline(child)
                style = "title" if "title" in child.attrs.get("class", "").split() else ""
                self.flush("h", level=int(tag[1]), style=style)
            elif tag in ("ul", "ol"):
                self.flush()
                self.list(child, depth)
            elif tag == "table":
                self.flush()
                table = self.table(child)
                if table:
                    self.blocks.append(Block("table", table))
            elif tag == "blockquote":
                self.flush()
                start = len(self.blocks)
                self.block(child, depth)
                self.flush()
                for b in self.blocks[start:]:
                    if b.kind == "p":
                        b.kind = "quote"
            elif tag == "pre":
                self.flush()
                self.buffer.append(child.text())
                self.flush("raw")
            elif tag == "hr":
                self.flush()
            elif tag == "br":
                self.buffer.append("\n")
            elif tag in _BLOCKS:
                self.flush()
                self.block(child, depth)
                self.flush()
            else:
                self.inline_node(child)

    def inline(self, node: _Node) -> None:
        for child in node.children:
            if isinstance(child, str):
                self.buffer.append(_escape(child))
            elif child.tag not in _SKIP:
                self.inline_node(child)

    def inline_node(self, node: _Node) -> None:
        tag = node.tag
        if tag == "img":
            self.buffer.append(self.picture(node))
        elif tag == "br":
            self.buffer.append("\n")
        elif tag in ("strong", "b", "em", "i"):
            mark = "**" if tag in ("strong", "b") else "*"
            start = len(self.buffer)
            self.inline(node)
            inner = "".join(self.buffer[start:])
            del self.buffer[start:]
            if inner.strip():
                lead, core, trail = re.match(r"^(\s*)(.*?)(\s*)$", inner, re.S).groups()
                self.buffer.append(f"{lead}{mark}{core}{mark}{trail}")
            else:
                self.buffer.append(inner)
        elif tag == "a":
            href = node.attrs.get("href", "")
            start = len(self.buffer)
            self.inline(node)
            inner = "".join(self.buffer[start:])
            if re.match(r"^(?:https?://|mailto:)", href) and inner.strip():
                del self.buffer[start:]
                self.buffer.append(f"[{inner}]({href.replace(' ', '%20').replace(')', '%29')})")
        elif tag in ("sup", "sub"):
            start = len(self.buffer)
            self.inline(node)
            inner = "".join(self.buffer[start:])
            del self.buffer[start:]
            if re.fullmatch(r"\\\[\d+\\\]|\d+", inner.strip()) and tag == "sup":  # a footnote reference
                self.buffer.append(inner)
            else:
                self.buffer.append(f"<{tag}>{inner}</{tag}>")
        elif tag == "code":
            self.buffer.append(f"`{node.text()}`")
        elif tag in _BLOCKS:
            self.block(node)
        else:
            self.inline(node)

    def picture(self, node: _Node) -> str:
        src = node.attrs.get("src", "") or node.attrs.get("data-src", "")
        alt = (node.attrs.get("alt") or node.attrs.get("title") or "").strip()
        m = _PICTURE_MARK.fullmatch(src)
        if m:  # mammoth's, already read
            if alt and not self.pictures[int(m.group(1))].alt:
                self.pictures[int(m.group(1))].alt = alt
            return src
        self.pictures.append(_fetch(src, alt, self.folder))
        return f"{_MARK}{len(self.pictures) - 1}{_MARK_END}"

    def list(self, node: _Node, depth: int) -> None:
        ordered = node.tag == "ol"
        number = int(node.attrs.get("start", "1") or 1) if node.attrs.get("start", "1").isdigit() else 1
        for item in node.children:
            if not isinstance(item, _Node) or item.tag != "li":
                continue
            start = len(self.blocks)
            nested = [c for c in item.children if isinstance(c, _Node) and c.tag in ("ul", "ol")]
            rest = _Node("li", {}, None)
            rest.children = [c for c in item.children if c not in nested]
            self.block(rest, depth)
            self.flush()
            own = self.blocks[start:]
            del self.blocks[start:]
            text = "<br>".join(b.text for b in own if b.kind != "table") or " "
            self.blocks.append(Block("li", text, level=depth, prefix=f"{number}. " if ordered else "- "))
            number += 1
            for sub in nested:
                self.list(sub, depth + 1)

    def table(self, node: _Node) -> str:
        rows: list[list[tuple[str, bool, bool, dict]]] = []  # (text, header, spans, attributes)

        def walk(n: _Node):
            for c in n.children:
                if not isinstance(c, _Node):
                    continue
                if c.tag == "tr":
                    row = []
                    for cell in c.children:
                        if isinstance(cell, _Node) and cell.tag in ("td", "th"):
                            sub = _Walker(self.pictures, self.folder)
                            sub.block(cell)
                            sub.flush()
                            text = "<br>".join(b.text for b in sub.blocks)
                            spans = any(cell.attrs.get(a, "1") not in ("", "1") for a in ("colspan", "rowspan"))
                            row.append((text, cell.tag == "th", spans, cell.attrs))
                    if row:
                        rows.append(row)
                elif c.tag not in ("table",):
                    walk(c)

        walk(node)
        if not rows:
            return ""
        if any(spans for row in rows for _, _, spans, _ in row):  # Markdown cannot join cells: HTML
            lines = ["<table>"]
            for row in rows:
                cells = []
                for text, header, _, attrs in row:
                    tag = "th" if header else "td"
                    span = "".join(f' {a}="{attrs[a]}"' for a in ("colspan", "rowspan")
                                   if attrs.get(a, "1").isdigit() and attrs.get(a, "1") != "1")
                    cells.append(f"<{tag}{span}>{text}</{tag}>")
                lines.append("<tr>" + "".join(cells) + "</tr>")
            return "\n".join(lines + ["</table>"])
        columns = max(len(r) for r in rows)
        cells = [[t.replace("|", "\\|") or " " for t, _, _, _ in r] + [" "] * (columns - len(r)) for r in rows]
        lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * columns]
        lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
        return "\n".join(lines)


def _fetch(src: str, alt: str, folder: Path | None) -> Picture:
    """A picture of a saved page: inline (data:), a file saved beside the page, or elsewhere."""
    m = re.match(r"^data:(image/[\w.+-]+);base64,(.*)$", src, re.S)
    if m:
        try:
            return Picture(base64.b64decode(m.group(2)), _IMAGE_TYPES.get(m.group(1).lower(), "bin"), alt, "")
        except (binascii.Error, ValueError):
            return Picture(None, "", alt, "（无法解码的内嵌图片）")
    if src and folder is not None and not re.match(r"^[a-zA-Z][\w+.-]*:|^//", src):
        path = folder / unquote(src.split("?")[0].split("#")[0])
        if path.is_file():
            return Picture(path.read_bytes(), path.suffix.lower().lstrip(".") or "bin", alt, src)
    return Picture(None, "", alt, src)


# Blocks → a story ---------------------------------------------------------------------------

_BYLINE = re.compile(r"^\s*(?:[◎●]|文\s*[/／|｜]|(?:作者|撰稿|撰文|文)\s*[:：])\s*(.+?)\s*$")
_ROLE = re.compile(r"(?:本报|本台|本刊|特约)?(?:记者|通讯员|实习生|编辑)")
_META = re.compile(r"^\s*(来源|稿源|责任编辑|编辑|发布时间|发布日期|时间|日期)\s*[:：]\s*(.+?)\s*$")
_DATE_TEXT = re.compile(r"(?<!\d)(\d{4})\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日|([-/.])(\d{1,2})\4(\d{1,2})(?!\d))")
_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "Ｏ": 0, "O": 0}
_CN_DATE = re.compile("([〇零○Ｏ一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日")


def _cn_number(text: str) -> int:
    """一 → 1, 十二 → 12, 二十一 → 21, 三十 → 30."""
    if "十" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def dates_in(text: str) -> list[tuple[dt.date, str]]:
    """Every existing date the text names in full (2017年4月20日, 2017-04-20, 2017/4/20, 2017.4.20,
    二〇一七年四月二十日), with the words that name it, in order."""
    found = []
    for m in _DATE_TEXT.finditer(text):
        try:
            day = parse_date(m.group())
        except ValueError:
            continue
        if day is not None:
            found.append((m.start(), day, m.group()))
    for m in _CN_DATE.finditer(text):
        try:
            year = int("".join(str(_CN_DIGITS[c]) for c in m.group(1)))
            found.append((m.start(), dt.date(year, _cn_number(m.group(2)), _cn_number(m.group(3))), m.group()))
        except (ValueError, KeyError):
            continue
    return [(day, words) for _, day, words in sorted(found, key=lambda f: f[0])]


def byline_names(line: str) -> list[str] | None:
    """The names of a byline (◎封 平 陈一良 → [封平, 陈一良]), None if the line is not one.
    A single character followed by another is a two-character name padded with a space."""
    m = _BYLINE.match(line)
    if m is None:
        return None
    text = _ROLE.sub(" ", m.group(1))
    tokens = [t for t in re.split(r"[\s\u3000、，,；;/／|｜]+", text) if t]
    if not tokens or not all(re.fullmatch(f"[{fixing.HAN}·•]{{1,6}}", t) for t in tokens):
        return None
    names, i = [], 0
    while i < len(tokens):
        if len(tokens[i]) == 1 and i + 1 < len(tokens) and len(tokens[i + 1]) == 1:
            names.append(tokens[i] + tokens[i + 1])
            i += 2
        else:
            names.append(tokens[i])
            i += 1
    return names


def match_branch(rows: list[BranchRow], text: str, county: str = "", township: str = "",
                 branch: str = "") -> BranchRow | None:
    """The one branch of the registry (among those the given names allow) that the text names;
    a branch name found in several townships is decided by the township or county named too."""
    allowed = [r for r in rows if (not county or r.county == county) and (not township or r.township == township)
               and (not branch or r.branch == branch)]
    named = [r for r in allowed if r.branch in text]
    for narrower in (lambda r: r.township in text, lambda r: r.county in text):
        if len({(r.county, r.township, r.branch) for r in named}) > 1:
            named = [r for r in named if narrower(r)] or named
    found = {(r.county, r.township, r.branch): r for r in named}
    return next(iter(found.values())) if len(found) == 1 else None


def restore_dash(title: str, places: list[str]) -> str:
    """A web copy loses the dash between a headline and its subtitle: 优化标准 从严规范丽水市让……
    The dash goes back where a subtitle starts with a known place name right after two or more
    parallel phrases of equal length (the headline). Anything else is left as it is."""
    if re.search("[—–:：-]", title):
        return title
    for place in sorted(set(p for p in places if p), key=len, reverse=True):
        at = title.find(place)
        if at <= 0 or len(title) - at - len(place) < 2 or not re.match(f"[{fixing.HAN}]", title[at - 1]):
            continue
        phrases = title[:at].split()
        if len(phrases) >= 2 and len({len(p) for p in phrases}) == 1 and 2 <= len(phrases[0]) <= 8 and \
                all(re.fullmatch(f"[{fixing.HAN}]+", p) for p in phrases):
            return f"{title[:at]}——{title[at:]}"
    return title


def _clean_blocks(blocks: list[Block], changes: Changes) -> list[Block]:
    """Each block cleaned (characters, then punctuation and spaces); paragraphs that a web copy
    or a Word file broke inside a sentence joined into one."""
    for b in blocks:
        if b.kind != "raw":
            b.text = fixing.clean(b.text, changes, marks=False)
    paras = [b.text for b in blocks if b.kind == "p"]
    wrapped_at = fixing.wrap_width(paras)
    out: list[Block] = []
    for b in blocks:
        if b.kind == "p" and out and out[-1].kind == "p" and \
                fixing.joinable(fixing._loose(out[-1].text), b.text, wrapped_at):
            prev, tail = out[-1].text.rstrip(), b.text.lstrip()
            space = "" if fixing._wide(prev[-1:]) or fixing._wide(tail[:1]) else " "
            out[-1] = Block("p", prev + space + tail)
            changes.joined += 1
            continue
        out.append(b)
    for b in out:
        if b.kind not in ("raw", "picture"):
            b.text = fixing.clean(b.text, changes, heading=b.kind == "h", table=b.kind == "table",
                                  characters=False)
    return out


def _markdown(blocks: list[Block], pictures: list[Picture]) -> str:
    """Blocks → the Markdown body; headings shifted so that the highest is ## (the title is #)."""
    levels = [b.level for b in blocks if b.kind == "h"]
    shift = 2 - min(levels) if levels else 0
    parts: list[str] = []
    for i, b in enumerate(blocks):
        if b.kind == "h":
            part = "#" * min(6, max(2, b.level + shift)) + " " + b.text
        elif b.kind == "li":
            part = "    " * b.level + b.prefix + b.text
        elif b.kind == "quote":
            part = "> " + b.text
        else:
            part = b.text
        if parts and b.kind == "li" and blocks[i - 1].kind == "li":
            parts[-1] += "\n" + part
        else:
            parts.append(part)
    body = "\n\n".join(parts)
    return _PICTURE_MARK.sub(lambda m: _picture_markdown(pictures[int(m.group(1))]), body)


def _picture_markdown(p: Picture) -> str:
    if p.data is None:
        where = f"（{p.origin}）" if p.origin else ""
        return (f"{TODO}原文这里有一张图片{where}，导入时无法取得：请把图片存进 content/media/，"
                f"把这一行改成 ![图片说明](/media/文件名)")
    if not p.name:
        return (f"{TODO}原文这里有一张 {p.ext.upper()} 格式的图片，网页不能显示：请在原文件里把它另存为 PNG 或 JPG，"
                f"放进 content/media/，把这一行改成 ![图片说明](/media/文件名)")
    alt = p.alt if p.alt and not _NOT_ALT.search(p.alt) else f"{TODO}图片说明"
    alt = " ".join(alt.replace("[", "【").replace("]", "】").split())
    return f"![{alt}](/media/{p.name})"


_NOT_ALT = re.compile(r"^(?:图片|图像|图|照片|Picture|Image|Photo|IMG)[\s_-]*\d*$|\.(?:png|jpe?g|gif|bmp|emf|wmf)$", re.I)
_LABELS = {"title": ("标题", "故事的标题"), "county": ("县（市、区）", "组织名册（org.csv）里县（市、区）的名称"),
           "township": ("乡镇（街道）", "组织名册里乡镇（街道）的名称"), "branch": ("党支部", "组织名册里党支部的名称")}


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML string


def _top(lines: list[str], count: int = 6) -> list[int]:
    """The indexes of the first `count` lines with text."""
    return [k for k, line in enumerate(lines) if line.strip()][:count]


def _text_of(source: Source, changes: Changes) -> tuple[str, list[Block] | None, list[str], dict[str, str], str]:
    """The body cleaned, as (plain text for searching, blocks or None for a Markdown file,
    byline names, metadata lines (来源：…), a title line found at the top)."""
    authors: list[str] = []
    meta: dict[str, str] = {}
    title = ""
    if source.markdown_body is not None:
        lines = source.markdown_body.split("\n")
        drop = set()
        for k in _top(lines):
            names = byline_names(fixing.clean(lines[k], Changes(), markdown=False, marks=False))
            if names:
                authors += names
                drop.add(k)
            elif not title and not source.title and re.match(r"^#\s+\S", lines[k]):
                title = fixing.clean(lines[k].lstrip("#").strip(), changes, heading=True)
                drop.add(k)
        body, more = fixing.fix_markdown("\n".join(s for k, s in enumerate(lines) if k not in drop).strip("\n"))
        changes += more
        return body, None, authors, meta, title
    kept: list[Block] = []
    for b in _clean_blocks(source.blocks, changes):
        names = byline_names(b.text) if b.kind == "p" else None
        m = _META.match(b.text) if b.kind == "p" and len(b.text) <= 40 else None
        if names:
            authors += names
        elif m:
            meta[m.group(1)] = m.group(2)
        else:
            kept.append(b)
    return "\n".join(b.text for b in kept), kept, authors, meta, title


def _date(fields: dict, meta: dict[str, str], plain: str, today: dt.date) -> tuple[dt.date, str]:
    """The story's date and the words it was read from ("" for today): the front matter's; a
    date line (发布时间：…); else the latest full date the text names that is not in the future."""
    if fields.get("date"):
        try:
            day = parse_date(str(fields["date"]))
        except ValueError:
            day = None
        if day is not None:
            return day, str(fields["date"])
    for key in ("发布时间", "发布日期", "时间", "日期"):
        found = dates_in(meta.get(key, ""))
        if found:
            return found[0]
    named = [(d, words) for d, words in dates_in(plain) if d <= today]
    return max(named, key=lambda f: f[0]) if named else (today, "")


def build_story(source: Source, name: str, *, county: str = "", township: str = "", branch: str = "",
                rows: list[BranchRow] | None = None, places: tuple[str, ...] = (),
                standards: tuple[str, ...] = (), today: dt.date | None = None,
                taken=lambda name, data: False) -> Imported:
    """Pure: a document read → the story file's text and what was decided. `name` is the
    document's file name; `rows` the registry (None without org.csv); `places` the names a
    subtitle may start with (the city, counties, townships); `taken(name, data)` whether a file
    of that name with other content is already in media/."""
    today = today or dt.date.today()
    changes, notes = Changes(), []
    fields = dict(source.fields)
    for key in fixing.TEXT_KEYS:  # a Markdown file's own front matter: its text fields cleaned too
        value = fields.get(key)
        tidy = lambda v: fixing.clean(str(v), changes, markdown=False, heading=key == "title",  # noqa: E731
                                      marks=key in fixing.PROSE_KEYS).strip()
        if isinstance(value, list):
            fields[key] = [tidy(v) for v in value]
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            fields[key] = tidy(value)
    plain, blocks, authors, meta, title = _text_of(source, changes)

    # the title: the front matter's, the document's, a "# " line, else the first short line
    if fields.get("title"):
        title = str(fields["title"])
    elif source.title:
        title = fixing.clean(source.title, changes, heading=True, markdown=False)
    if blocks is not None:
        first = next((i for i, b in enumerate(blocks) if b.kind in ("p", "h")), None)
        if first is not None:
            line = _PICTURE_MARK.sub("", blocks[first].text).strip()
            if title and _same(line, title):
                del blocks[first]
            elif not title and line and (_alone(blocks, first) if blocks[first].kind == "h" else
                                         len(line) <= MAX_TITLE and line[-1] not in "。！？；：.!?;:"):
                title = line
                del blocks[first]
            if title and first < len(blocks) and blocks[first].kind == "p" and \
                    re.match("^[—–-]{1,2}[^—–-]", blocks[first].text) and len(blocks[first].text) <= MAX_TITLE:
                title += "——" + blocks[first].text.lstrip("—–-")  # a subtitle on its own line: ——记……
                del blocks[first]
    title = " ".join(re.sub(r"\\([\\`*_\[\]<>#+\-.!|])", r"\1", title).replace("**", "").split())
    if not fields.get("title"):
        restored = restore_dash(title, list(places))
        if restored != title:
            notes.append("标题里补回了网上转载时丢掉的破折号（——）")
            title = restored

    if fields.get("authors"):
        value = fields["authors"]
        authors = [str(a) for a in (value if isinstance(value, list) else re.split("[、，,；;]", str(value)))]
    authors = list(dict.fromkeys(a for a in authors if a))
    day, date_from = _date(fields, meta, plain, today)

    org = {"county": county or str(fields.get("county") or ""), "township": township or str(fields.get("township") or ""),
           "branch": branch or str(fields.get("branch") or "")}
    org_from = "arguments" if county or township or branch else ("file" if any(org.values()) else "")
    if rows and not all(org.values()):
        found = match_branch(rows, f"{title}\n{plain}", **org)
        if found is not None:
            org = {"county": found.county, "township": found.township, "branch": found.branch}
            org_from = "text"

    slug = _slug(title, name)
    for p in source.pictures:
        p.alt = fixing.clean(p.alt, changes, markdown=False) if p.alt else ""
    saved = [p for p in source.pictures if p.data is not None and is_raster(f"x.{p.ext}")]
    for n, p in enumerate(saved, 1):  # the pictures' files: <slug>-<n>.<ext>, never over another
        base, k = f"{slug}-{n}", 1
        p.name = f"{base}.{p.ext}"
        while taken(p.name, p.data):
            k += 1
            p.name = f"{base}-{k}.{p.ext}"
    body = plain if blocks is None else _markdown(blocks, source.pictures)

    todo = ["title"] if not title else []
    todo += [k for k in ("county", "township", "branch") if not org[k]]
    lines = ["---"]
    for key in ("title", "county", "township", "branch"):
        value = title if key == "title" else org[key]
        if value:
            lines.append(f"{key}: {_q(value)}")
        else:
            what, how = _LABELS[key]
            lines.append(f"# {what}：导入时无法确定，请把下一行引号里的字整个换成{how}")
            lines.append(f"{key}: {_q(TODO + what)}")
    if not date_from:
        lines.append("# 日期：原文没有写日期，这是导入那天；请改成故事的日期")
    lines.append(f"date: {day.isoformat()}")
    lines.append(f"authors: [{', '.join(_q(a) for a in authors)}]")
    if fields.get("standard"):
        lines.append(f"standard: {_q(str(fields['standard']))}")
    else:
        lines.append(f"# 类别：从下面选一个，去掉下一行开头的 # 号再填上：{'、'.join(standards)}")
        lines.append("# standard: ")
    tags = fields.get("tags")
    tags = [str(t) for t in tags] if isinstance(tags, list) else ([str(tags)] if tags else [])
    lines.append(f"tags: [{', '.join(_q(t) for t in tags)}]")
    fields.setdefault("source", meta.get("来源") or meta.get("稿源") or "")
    fields.setdefault("editor", meta.get("责任编辑") or meta.get("编辑") or "")
    for key in ("summary", "cover", "cover_alt", "cover_caption", "featured", "source", "editor", "draft", "id",
                "slug"):
        value = fields.get(key)
        if value not in (None, ""):
            lines.append(f"{key}: {str(value).lower() if isinstance(value, bool) else _q(str(value))}")
    lines.append("---")
    text = "\n".join(lines) + "\n\n" + body.strip("\n") + "\n"
    if TODO in body:
        todo.append("body")
    return Imported(text, title, authors, day, date_from, org, org_from, todo, changes, source.pictures, notes,
                    slug, list(source.problems))


def _alone(blocks: list[Block], i: int) -> bool:
    """A heading that no other heading of its level follows: the document's title, not its first section."""
    return not any(b.kind == "h" and b.level == blocks[i].level for b in blocks[i + 1:])


def _same(a: str, b: str) -> bool:
    squash = lambda s: re.sub(r"[\s—–\-:：*\\]", "", s)  # noqa: E731
    return bool(a) and squash(a) == squash(b)


def _slug(title: str, name: str) -> str:
    """The file name: the title's pinyin (its headline, before a ——), cut at a syllable."""
    slug = slugify(title.split("——")[0]) or slugify(PurePosixPath(name).stem) or "story"
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0]
    return slug


# On disk ------------------------------------------------------------------------------------

def same_file(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def import_file(path: Path, to: Path | None, content: Path, **options) -> tuple[Imported, Path]:
    """Read `path`, make its story and write it: into `to`, else content/stories/<county>/<township>/
    (as far as they are known); its pictures into content/media/. Never overwrites: FileExistsError
    when the story file is there already (no picture is written then)."""
    source = read_source(path)
    media = content / "media"
    taken = lambda name, data: (media / name).exists() and not same_file(media / name, data)  # noqa: E731
    story = build_story(source, path.name, taken=taken, **options)
    folder = to if to is not None else content.joinpath("stories", *[
        n for n in (story.org["county"], story.org["township"]) if n and not set(n) & set('/\\:*?"<>|\0')])
    target = folder / f"{story.slug}.md"
    if target.exists():
        raise FileExistsError(str(target))
    folder.mkdir(parents=True, exist_ok=True)
    with target.open("x", encoding="utf-8", newline="\n") as f:  # "x": never over a file made meanwhile
        f.write(story.text)
    for p in story.pictures:
        if p.data is not None and p.name and not (media / p.name).exists():
            media.mkdir(parents=True, exist_ok=True)
            (media / p.name).write_bytes(p.data)
    return story, target
