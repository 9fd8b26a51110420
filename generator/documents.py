"""A document as it really arrives, read into blocks for `gushihui import` (importing.py):
a Word or WPS file (.docx, through mammoth), text copied from the web or WeChat (.txt),
Markdown (.md) or a saved web page (.html, parsed here). Each becomes a `Source`: its
blocks (paragraphs, headings, list items, tables, pictures), its pictures (from the file,
or data: addresses; never fetched from another site) and what it states itself (a title,
a Markdown file's front matter). Nothing here prints or writes.
"""
from __future__ import annotations

import base64
import binascii
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import yaml

from . import fixing
from .encoding import decode
from .errors import Problem

SUFFIXES = {".docx": "docx", ".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html",
            ".htm": "html"}
OLD_FORMATS = {".doc", ".wps", ".rtf", ".odt", ".pdf", ".wpt", ".dot"}  # "save as .docx first"
_IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/gif": "gif",
                "image/webp": "webp", "image/bmp": "bmp", "image/tiff": "tif"}
_MARK = "\ue000"  # stands for picture N in a block until its file has a name: \ue000N\ue001
_MARK_END = "\ue001"
PICTURE_MARK = re.compile(f"{_MARK}(\\d+){_MARK_END}")


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
                only = PICTURE_MARK.fullmatch(line.strip())
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
        m = PICTURE_MARK.fullmatch(src)
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
