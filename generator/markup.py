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
from xml.etree.ElementTree import Element

import markdown
import nh3
from markdown.treeprocessors import Treeprocessor

from .chinese import count_characters, join_soft_breaks, slugify

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
    "q": {"cite"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
_PLACEHOLDER = re.compile("\x02[^\x03]*\x03")
_SKIP = {"pre", "code", "script", "style"}


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str  #: plain text of the top-level paragraphs, for a summary
    characters: int


class _ChineseText(Treeprocessor):
    """Joins soft line breaks around Chinese text; gathers plain text."""

    def run(self, root: Element) -> None:
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


class _ChineseExtension(markdown.Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # After inline parsing (20), before the table of contents reads headings (5).
        md.treeprocessors.register(_ChineseText(md), "gushihui_chinese", 7)


def _heading_id(value: str, separator: str) -> str:
    return slugify(value) or "section"


_md: markdown.Markdown | None = None


def _markdown() -> markdown.Markdown:
    global _md
    if _md is None:
        _md = markdown.Markdown(
            extensions=["tables", "fenced_code", "footnotes", "sane_lists", "toc", _ChineseExtension()],
            extension_configs={"toc": {"slugify": _heading_id}, "tables": {"use_align_attribute": True}},
            output_format="html",
        )
    return _md


def sanitize(html: str, resolve: Resolver | None = None) -> str:
    """Keep harmless markup only; pass every href/src through `resolve`."""

    def keep(tag: str, attr: str, value: str) -> str | None:
        if resolve is not None and attr in ("href", "src"):
            return resolve(tag, attr, value)
        return value

    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=keep,
                     url_schemes=URL_SCHEMES, link_rel=None, strip_comments=True)


def render_markdown(body: str, resolve: Resolver | None = None) -> Rendered:
    md = _markdown()
    md.reset()
    html = md.convert(body)
    return Rendered(sanitize(html, resolve), md.gushihui_text, md.gushihui_chars)
