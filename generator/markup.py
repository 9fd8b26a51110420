"""Markdown → safe HTML, correct for Chinese.

One Markdown instance per process is reused (building it costs more than
converting a story). Raw HTML inside a story is cleaned by an allow-list
(nh3), and every address in the result passes through the caller's `resolve`
so that images obey the same path rules as covers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable
from xml.etree.ElementTree import Element, SubElement

import markdown
import nh3
from markdown.blockprocessors import BlockProcessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

from .chinese import WIDE, count_characters, join_soft_breaks, slugify

# resolve(tag, attribute, value) → the value to keep, or None to drop it.
Resolver = Callable[[str, str, str], "str | None"]

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s",
    "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
}
ATTRIBUTES = {
    "*": {"id", "class", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start", "reversed"},
    "time": {"datetime"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel", "data"}
# Pictures pasted from Word or WPS arrive inline as data: addresses; they fetch nothing.
# Nothing else may be a data: address (an HTML page in a link), nor an SVG (it can run script).
_INLINE_IMAGE = re.compile(r"^data:image/(?:png|jpeg|gif|webp);base64,", re.I)
_PLACEHOLDER = re.compile("\x02[^\x03]*\x03")
_SKIP = {"pre", "code", "script", "style"}


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str  #: plain text of the top-level paragraphs, for a summary
    characters: int


# Characters that can start inline Markdown; text without any of them (most
# Chinese prose) is left alone by the inline processor, which otherwise tries
# every pattern on it and costs a third of a story's conversion.
_INLINE_MARKUP = re.compile(r"[\\`*_\[\]!<>&\x02\x03]|  \n|https?:|www\.")
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


class _SkipPlainText(Treeprocessor):
    def run(self, root: Element) -> None:
        for el in root.iter():
            if el.text and not isinstance(el.text, AtomicString) and not _INLINE_MARKUP.search(el.text):
                el.text = AtomicString(el.text)


class _ChineseText(Treeprocessor):
    """Joins soft line breaks around Chinese text, gives headings readable
    unique ids (pinyin), and gathers plain text for the summary."""

    def run(self, root: Element) -> None:
        self.ids: set[str] = set()
        self._walk(root)
        paras = ["".join(p.itertext()) for p in root if p.tag == "p"]
        self.md.gushihui_text = _PLACEHOLDER.sub("", "".join(paras))
        self.md.gushihui_chars = count_characters(_PLACEHOLDER.sub("", "".join(root.itertext())))

    def _walk(self, el: Element) -> None:
        if el.tag in _SKIP:
            return
        if el.text:
            el.text = join_soft_breaks(el.text)
        for child in el:
            self._walk(child)
            if child.tail:
                child.tail = join_soft_breaks(child.tail)
        if el.tag in _HEADINGS and "id" not in el.attrib:
            el.set("id", self._unique(slugify(_PLACEHOLDER.sub("", "".join(el.itertext()))) or "section"))

    def _unique(self, base: str) -> str:
        name, n = base, 1
        while name in self.ids:
            n += 1
            name = f"{base}-{n}"
        self.ids.add(name)
        return name


# A block whose every line starts with a full-width character and holds no
# table pipe cannot start a heading, list, quote, code block, rule, table,
# footnote or link reference: it is a paragraph, and the dozen block
# processors that would each test it with a regular expression are skipped.
_PLAIN_BLOCK = re.compile(f"(?:[{WIDE}][^\n|]*(?:\n|\\Z))+\\Z")


class _PlainParagraph(BlockProcessor):
    def test(self, parent: Element, block: str) -> bool:
        return parent is self.parser.root and not self.parser.state and _PLAIN_BLOCK.match(block) is not None

    def run(self, parent: Element, blocks: list[str]) -> None:
        SubElement(parent, "p").text = blocks.pop(0).lstrip()  # as ParagraphProcessor: U+3000 too


class _ChineseExtension(markdown.Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.parser.blockprocessors.register(_PlainParagraph(md.parser), "gushihui_paragraph", 200)  # before "empty"
        md.treeprocessors.register(_SkipPlainText(md), "gushihui_plain", 21)  # just before inline (20)
        md.treeprocessors.register(_ChineseText(md), "gushihui_chinese", 7)  # after inline


_md: markdown.Markdown | None = None


def forget_markdown() -> None:
    """Drop the reused instance (after a conversion was interrupted)."""
    global _md
    _md = None


def _markdown() -> markdown.Markdown:
    global _md
    if _md is None:
        _md = markdown.Markdown(
            extensions=["tables", "fenced_code", "footnotes", "sane_lists", _ChineseExtension()],
            extension_configs={"tables": {"use_align_attribute": True}},
            output_format="html",
        )
    return _md


def sanitize(html: str, resolve: Resolver | None = None) -> str:
    """Keep harmless markup only; pass every href/src through `resolve`."""

    def keep(tag: str, attr: str, value: str) -> str | None:
        if attr in ("href", "src") and value.strip()[:5].lower() == "data:":
            return value if tag == "img" and attr == "src" and _INLINE_IMAGE.match(value.strip()) else None
        if resolve is not None and attr in ("href", "src"):
            return resolve(tag, attr, value)
        return value

    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=keep,
                     url_schemes=URL_SCHEMES, link_rel=None, strip_comments=True)


def render_markdown(body: str, resolve: Resolver | None = None) -> Rendered:
    md = _markdown()
    md.reset()
    # An empty body returns before the tree processors run: nothing of the last story's may stay.
    md.gushihui_text, md.gushihui_chars = "", 0
    html = md.convert(body)
    return Rendered(sanitize(html, resolve), md.gushihui_text, md.gushihui_chars)
