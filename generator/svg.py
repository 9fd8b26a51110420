"""Refuse SVG files that could run script or fetch from other hosts.

Media is served from the same origin as the pages, so script in an SVG that a
reader opens directly runs with the site's rights (stored XSS); and the sites
run on intranets, so nothing may be fetched from outside. We check against
allow-lists and refuse: rewriting an SVG "clean" is too easy to get wrong.
"""
from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
XML = "http://www.w3.org/XML/1998/namespace"
XHTML = "http://www.w3.org/1999/xhtml"
SODIPODI = "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"
INKSCAPE = "http://www.inkscape.org/namespaces/inkscape"

# Editor bookkeeping: browsers give elements in these namespaces no behaviour.
EDITOR_NAMESPACES = frozenset({
    SODIPODI, INKSCAPE,
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://creativecommons.org/ns#",
    "http://purl.org/dc/elements/1.1/",
    "adobe:ns:meta/",  # the wrapper of Illustrator's XMP packet
})
ADOBE = "http://ns.adobe.com/"  # Illustrator's many versioned namespaces

ELEMENTS = frozenset("""
    svg g defs symbol use path rect circle ellipse line polyline polygon text
    tspan textPath title desc metadata linearGradient radialGradient stop
    clipPath mask pattern marker image switch style filter view
    feBlend feColorMatrix feComponentTransfer feComposite feConvolveMatrix
    feDiffuseLighting feDisplacementMap feDistantLight feDropShadow feFlood
    feFuncA feFuncB feFuncG feFuncR feGaussianBlur feImage feMerge
    feMergeNode feMorphology feOffset fePointLight feSpecularLighting
    feSpotLight feTile feTurbulence
""".split())

PREFIXES = {XLINK: "xlink:", XML: "xml:", SODIPODI: "sodipodi:", INKSCAPE: "inkscape:"}

# Entities (expansion bombs, external files) can only be declared in a
# DOCTYPE's internal subset, so refusing that leaves the five predefined ones.
# A plain public DOCTYPE, as older Inkscape and Illustrator write, is harmless:
# ElementTree never fetches an external DTD.
_PRELUDE = [
    (re.compile(r"<!DOCTYPE[^>\[]*\[", re.I), "含有带内部定义的 <!DOCTYPE> 声明"),
    (re.compile(r"<!ENTITY", re.I), "含有 <!ENTITY> 实体声明"),
    (re.compile(r"<\?xml-stylesheet", re.I), "含有 <?xml-stylesheet?> 处理指令"),
]
_DECLARED = re.compile(r"""<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']*)""")
_UTF = re.compile(r"utf-?(8|16)(le|be)?", re.I)
_FRAGMENT = re.compile(r"#[\w.:-]+")
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*", re.I)
_URL = re.compile(r"url\(", re.I)
_LOCAL_URL = re.compile(r"""url\(\s*["']?\s*#""", re.I)
# image-set() fetches plain strings, no url() needed.
_CSS_BANNED = re.compile(r"@import|expression\s*\(|behavior\s*:|-moz-binding|image-set\s*\(", re.I)
# URL parsers drop tabs and newlines anywhere, so "java\tscript:" still runs.
_INVISIBLE = re.compile(r"[\s\x00-\x1f\x7f]+")


def unsafe_svg(data: bytes) -> str | None:
    """None when the SVG is safe to publish as is; otherwise a short reason in
    Chinese naming the first offending thing, e.g. "含有 <script> 元素"."""
    text = _decode(data)
    if text is None:
        return "不是有效的 SVG/XML 文件：文字编码不是 UTF-8 或 UTF-16"
    declared = _DECLARED.match(text)
    if declared and not _UTF.fullmatch(declared.group(1).strip()):
        return f"不是有效的 SVG/XML 文件：声明的编码 {_quote(declared.group(1))} 不是 UTF-8 或 UTF-16"
    for pattern, reason in _PRELUDE:
        if pattern.search(text):
            return reason
    parser = ET.XMLParser()
    try:
        parser.feed(text)  # a str: expat ignores the declared encoding
        root = parser.close()
    except ET.ParseError as error:
        line, column = error.position
        return f"不是有效的 SVG/XML 文件（第 {line} 行第 {column + 1} 列出错）"
    if root.tag != f"{{{SVG}}}svg":
        return f"根元素是 {_show(root.tag)}，不是 SVG 命名空间里的 <svg>"
    stack = [(root, False)]  # (element, inside editor metadata); no recursion limit
    while stack:
        element, in_editor = stack.pop()
        ns, local = _split(element.tag)
        editor = ns in EDITOR_NAMESPACES or ns.startswith(ADOBE)
        if not editor and in_editor:
            # Browsers still run a <script> nested in an unknown element.
            return f"编辑器元数据里含有 {_show(element.tag)} 元素"
        if not editor and not (ns == SVG and local in ELEMENTS):
            return f"含有 {_show(element.tag)} 元素"
        for name, value in element.attrib.items():
            if problem := _attribute_problem(element.tag == f"{{{SVG}}}image", name, value):
                return problem
        if ns == SVG and local == "style":
            if problem := _value_problem("".join(element.itertext()), css=True):
                return f"<style> 样式{problem}"
        stack.extend((child, editor) for child in reversed(element))
    return None


def _decode(data: bytes) -> str | None:
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    try:  # utf-8-sig also reads plain UTF-8; a UTF-16 file needs its BOM
        return data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError:
        return None


def _attribute_problem(on_image: bool, name: str, value: str) -> str | None:
    ns, local = _split(name)
    shown = PREFIXES.get(ns, "") + local
    if local.lower().startswith("on"):
        return f"属性 {shown} 会运行脚本"
    if ns == XML and local == "base":
        return "属性 xml:base 会改变地址的解析"
    if problem := _value_problem(value, css=(local == "style" and not ns)):
        return f"属性 {shown} {problem}"
    if local == "href":
        target = value.strip()
        if _FRAGMENT.fullmatch(target) or (on_image and _DATA_IMAGE.fullmatch(target)):
            return None
        kind = "不允许的 data: 地址" if target.lower().startswith("data:") else "外部地址"
        return f"属性 {shown} 引用了{kind} {_quote(target) or '（空）'}"
    return None


def _value_problem(value: str, css: bool) -> str | None:
    """What is wrong with an attribute value or style sheet, if anything."""
    if "javascript:" in _INVISIBLE.sub("", value).lower():
        return "含有 javascript: 地址"
    if banned := _CSS_BANNED.search(value):
        return f"含有 {banned.group()}"
    for found in _URL.finditer(value):
        if not _LOCAL_URL.match(value, found.start()):
            end = value.find(")", found.start())
            return f"引用了外部地址 {_quote(value[found.start():end + 1 if end >= 0 else None])}"
    # CSS escapes can spell url( or @import so the checks above miss them.
    if "\\" in value and (css or "(" in value):
        return "含有反斜杠转义"
    return None


def _split(tag: str) -> tuple[str, str]:
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return ns, local


def _show(tag: str) -> str:
    ns, local = _split(tag)
    if ns == SVG:
        return f"<{local}>"
    if ns == XHTML:
        return f"XHTML <{local}>"
    return f"<{local}>（命名空间 {_quote(ns)}）" if ns else f"<{local}>（没有命名空间）"


def _quote(value: str, limit: int = 40) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[:limit] + "…"
