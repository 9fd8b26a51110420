"""Cleaning Chinese text as it arrives from the web, WeChat and old files
(`gushihui fix`, and every story `gushihui import` writes).

Five repairs, each conservative, each counted:

- traditional → simplified characters, by OpenCC's phrase-level `t2s`;
- pinyin in brackets after characters (`優(yōu)`) removed, only where pypinyin
  confirms it is that character's reading (`(2016)` and `(试行)` stay);
- ASCII punctuation inside Chinese text made full width (，。：；？！“”（）);
- spaces between Chinese characters removed (in prose; a headline's
  `优化标准 从严规范` and a byline's padded `封 平` stay);
- line breaks that fall inside a sentence joined.

Markdown syntax, front matter keys, URLs, code and HTML tags are never touched;
what cannot be judged (a pinyin that is not the character's reading, quotes that
do not pair) is left as it is and noted. Pure functions; nothing here prints.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from .chinese import display_width

# The same ranges as chinese.py: Han characters, and what a Chinese reader sees as full width.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_PUNCT = "\u3001-\u303f\uff01-\uffef\u2018-\u201f\u2014\u2026\u00b7"  # CJK and full-width marks, “” ‘’ —— …
_WIDE = HAN + _PUNCT
_HAN_RE = re.compile(f"[{HAN}]")
_IS_WIDE = re.compile(f"[{_WIDE}]")
_IS_PUNCT = re.compile(f"[{_PUNCT}]")
_BLANK = " \t\u3000\u00a0"  # what may stand between two Chinese characters by mistake

FULL = {",": "，", ".": "。", ":": "：", ";": "；", "?": "？", "!": "！"}
SENTENCE_END = set("。！？…；：!?;:.")  # a line ending here ends its paragraph, or cannot be judged
CLAUSE = set("，、,—（“‘《「『【〔")  # a line ending here stops inside a sentence
CLOSERS = set("”’」』）》〉】〕)]\"'*_")
PROSE_MARK = re.compile("[，。；！？,;!?]")  # a block with any of these is running text
EMPHASIS = "*_~"

_SYLLABLE = "[a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüêńňǹḿ]+[1-5]?"
_PINYIN = re.compile(rf"[ \t]?[(（][ \t]*({_SYLLABLE}(?:[ \t'’-]+{_SYLLABLE})*)[ \t]*[)）]")
_TONE_MARKS = re.compile("[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ]")

_URL = r"(?:https?://|ftp://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]*[A-Za-z0-9\-_~/#=&%]"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_PLAIN_PROTECTED = re.compile(f"{_URL}|{_EMAIL}")
_MARKDOWN_PROTECTED = re.compile(
    r"(`+)[^`].*?\1(?!`)"  # a code span
    r"|<(?:https?://|mailto:)[^>\s]*>"  # an autolink
    r"|<!--.*?-->|</?[A-Za-z][^<>\n]*>"  # an HTML comment or tag
    r"|\]\([^()\s]*(?:\([^()\s]*\)[^()\s]*)*(?:\s+\"[^\"\n]*\")?\)"  # a link's or image's address
    r"|\\[\\`*_{}\[\]()#+\-.!|\"]"  # an escaped character
    r"|&#?[A-Za-z0-9]+;"  # an entity
    f"|{_URL}|{_EMAIL}", re.S)

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HTML_BLOCK = re.compile(r"^ {0,3}<(pre|script|style|textarea)\b|^ {0,3}<!--", re.I)
_HTML_END = {"pre": "</pre>", "script": "</script>", "style": "</style>", "textarea": "</textarea>"}
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
_TABLE_ROW = re.compile(r"^\s*\|")
_BLOCK_START = re.compile(  # a line that starts a block of its own, never the tail of the line before
    r"^\s*(?:#{1,6}(?:\s|$)|>|[-*+]\s|\d{1,9}[.)](?:\s|$)|\||`{3,}|~{3,}|<|!\[|\[\^"
    r"|[（(][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十]{1,3}[、是]|\d{1,3}(?:[、．]|\.(?!\d))"
    r"|[①-⑳]|第[一二三四五六七八九十]+[，、章节条部分]"
    r"|[◎●■□◆★☆▲△]|文\s*[/／|｜]|(?:作者|来源|编辑|责任编辑|记者|通讯员|摄影|图)\s*[:：/／])")
_OWN_LINE = re.compile(  # a line that stands alone: a byline, a source, a heading, a table row, HTML
    r"^\s*(?:[◎●■□◆★☆▲△]|文\s*[/／|｜]|(?:作者|来源|编辑|责任编辑|记者|通讯员|摄影|图)\s*[:：/／]"
    r"|#{1,6}(?:\s|$)|\||`{3,}|~{3,}|<)")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]\s|\d{1,9}[.)]\s)")
_NUMERAL_DOT = re.compile(r"(?:^|\n)\s*[一二三四五六七八九十百]+$")  # "一." is an enumeration, not a sentence end
_FRONT = re.compile(r"^-{3,}\s*$", re.M)  # python-frontmatter's delimiter
TEXT_KEYS = ("title", "county", "township", "branch", "authors", "tags", "summary", "cover_alt",
             "cover_caption", "source", "editor", "standard", "description", "banner_alt")
PROSE_KEYS = ("title", "summary", "cover_alt", "cover_caption", "description", "banner_alt")
_KEY_VALUE = re.compile(r"^([A-Za-z_][\w-]*)([ \t]*:[ \t]*)(.*)$")
_LIST_ITEM = re.compile(r"^([ \t]+-[ \t]+)(.*)$")


@dataclass
class Changes:
    """What a clean-up changed, counted, with notes on what it left alone (line, message)."""

    simplified: int = 0  #: characters made simplified
    pinyin: int = 0  #: pinyin annotations removed
    punctuation: int = 0  #: marks made full width
    spaces: int = 0  #: runs of spaces removed
    joined: int = 0  #: line breaks joined
    notes: list[tuple[int | None, str]] = field(default_factory=list)

    def __iadd__(self, other: "Changes") -> "Changes":
        for name in ("simplified", "pinyin", "punctuation", "spaces", "joined"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.notes += other.notes
        return self

    @property
    def total(self) -> int:
        return self.simplified + self.pinyin + self.punctuation + self.spaces + self.joined

    def describe(self) -> str:
        """In Chinese: 繁体字改为简体 12 个，删除拼音 3 处……"""
        parts = [(self.simplified, "繁体字改为简体 {} 个"), (self.pinyin, "删除拼音 {} 处"),
                 (self.punctuation, "标点改为全角 {} 处"), (self.spaces, "删除多余空格 {} 处"),
                 (self.joined, "合并段落中间的换行 {} 处")]
        said = [text.format(n) for n, text in parts if n]
        return "，".join(said) if said else "没有需要修改的地方"


# Characters -------------------------------------------------------------------------------

_opencc = None


def simplify(text: str) -> str:
    """OpenCC's phrase-level traditional → simplified conversion (t2s)."""
    global _opencc
    if _opencc is None:
        import opencc

        _opencc = opencc.OpenCC("t2s.json")
    return _opencc.convert(text)


@lru_cache(maxsize=8192)
def readings(char: str) -> frozenset[str]:
    """Every reading pypinyin knows for a character (or its simplified form), with tone marks
    and with tone numbers, ü also written v."""
    from pypinyin import Style, pinyin

    found: set[str] = set()
    for c in dict.fromkeys((char, simplify(char))):
        for style in (Style.TONE, Style.TONE3):
            for reading in pinyin(c, style=style, heteronym=True, errors="ignore")[:1]:
                found.update(reading)
    return frozenset(found | {r.replace("ü", "v") for r in found})


def _matches(chars: str, annotation: str) -> bool:
    """Whether `annotation` is the pinyin of the last characters of `chars`, syllable by syllable
    (separated by spaces or apostrophes, or run together)."""
    text = unicodedata.normalize("NFC", annotation).lower()
    words = [w for w in re.split(r"[ \t'’-]+", text) if w]
    if len(words) > 1:
        return len(words) <= len(chars) and all(w in readings(c) for w, c in zip(words, chars[-len(words):]))
    return _spell(chars, text)


def _spell(chars: str, text: str) -> bool:
    """Whether `text` is the readings of the last k characters of `chars` run together, for some k."""
    def ends(rest: str, end: int) -> bool:  # rest spells chars[start:end] for some start
        if not rest:
            return True
        if end == 0:
            return False
        return any(r and rest.endswith(r) and ends(rest[:-len(r)], end - 1) for r in readings(chars[end - 1]))

    return bool(text) and ends(text, len(chars))


def _free(text: str, protected: re.Pattern | None) -> list[tuple[int, int]]:
    """The spans of `text` outside what must stay as it is (code, URLs, tags…)."""
    if protected is None:
        return [(0, len(text))]
    spans, start = [], 0
    for m in protected.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = max(start, m.end())
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _guarded(protected: re.Pattern | None, text: str):
    """A test of whether the span [a, b) of `text` lies outside protected parts."""
    if protected is None:
        return lambda a, b: True
    taken = [(m.start(), m.end()) for m in protected.finditer(text)]
    return lambda a, b: not any(s < b and a < e for s, e in taken)


def strip_pinyin(text: str, changes: Changes, line: int | None = None,
                 protected: re.Pattern | None = None) -> str:
    """Remove `(yōu)` after 優 where it is that character's reading; note a likely pinyin that is not."""
    if "(" not in text and "（" not in text:
        return text
    free = _guarded(protected, text)
    out, last = [], 0
    for m in _PINYIN.finditer(text):
        before = re.search(f"[{HAN}]{{1,8}}$", text[max(0, m.start() - 8):m.start()])
        if before is None or not free(m.start(), m.end()):
            continue
        if _matches(before.group(), m.group(1)):
            out.append(text[last:m.start()])
            last = m.end()
            changes.pinyin += 1
        elif _TONE_MARKS.search(m.group(1)) and len(changes.notes) < 200:
            changes.notes.append((line, f"“{before.group()[-1]}{m.group().strip()}”括号里像是拼音，"
                                        f"但不是“{before.group()[-1]}”的读音，没有删除"))
    return "".join(out) + text[last:] if out else text


def to_simplified(text: str, changes: Changes, protected: re.Pattern | None = None) -> str:
    if not _HAN_RE.search(text):
        return text
    parts, last = [], 0
    for a, b in _free(text, protected):
        parts.append(text[last:a])
        old = text[a:b]
        new = simplify(old)
        if new != old:
            changes.simplified += sum(x != y for x, y in zip(old, new)) if len(old) == len(new) else \
                max(len(old), len(new))
        parts.append(new)
        last = b
    return "".join(parts) + text[last:]


# Punctuation and spaces ------------------------------------------------------------------

def _wide(c: str) -> bool:
    return bool(c) and _IS_WIDE.match(c) is not None


def _before(text: str, i: int) -> str:
    """The character before position i, looking through emphasis markers (**…**) and spaces."""
    i -= 1
    while i >= 0 and (text[i] in EMPHASIS or text[i] in _BLANK):
        i -= 1
    return text[i] if i >= 0 else ""


def _after(text: str, i: int) -> str:
    """The character after position i, looking through spaces and emphasis; "\n" at a line end."""
    i += 1
    while i < len(text) and (text[i] in EMPHASIS or text[i] in _BLANK):
        i += 1
    return text[i] if i < len(text) else "\n"


def _pairs(text: str, changes: Changes, line: int | None, protected: re.Pattern | None) -> str:
    """ASCII double quotes and parentheses around Chinese text → “” and （）."""
    free = _guarded(protected, text)
    chars = list(text)
    # quotes: paired in order, counting curly quotes already there; unpaired ones are left alone
    quotes = [i for i, c in enumerate(text) if c == '"' and free(i, i + 1)]
    if quotes:
        opened: int | None = None
        pairs, curly_open = [], False
        for i, c in enumerate(text):
            if c == "“":
                curly_open = True
            elif c == "”":
                curly_open = False
            elif c == '"' and i in quotes:
                if curly_open:
                    pairs.append((None, i))
                    curly_open = False
                elif opened is None:
                    opened = i
                else:
                    pairs.append((opened, i))
                    opened = None
        if opened is not None:
            if _HAN_RE.search(text) and len(changes.notes) < 200:
                changes.notes.append((line, "英文引号 \" 不成对，没有改为中文引号"))
        else:
            for a, b in pairs:
                inside = text[(a if a is not None else text.rfind("“", 0, b)) + 1:b]
                if _HAN_RE.search(inside):
                    if a is not None:
                        chars[a] = "“"
                    chars[b] = "”"
                    changes.punctuation += 1 if a is None else 2
    # parentheses: innermost first; only around Chinese text, so (2016) stays
    stack: list[int] = []
    for i, c in enumerate(text):
        if c == "(" and free(i, i + 1):
            stack.append(i)
        elif c == ")" and free(i, i + 1) and stack:
            a = stack.pop()
            if _HAN_RE.search(text[a + 1:i]) and "(" not in text[a + 1:i]:
                chars[a], chars[i] = "（", "）"
                changes.punctuation += 2
    return "".join(chars)


_MARK_RUN = re.compile(r"[,;:?!.]+")


def _marks(text: str, changes: Changes, protected: re.Pattern | None) -> str:
    """，。：；？！ for ASCII marks that stand after Chinese text (and before Chinese text, a
    line's end, or for ，：；？！ a number), with the spaces around them removed."""
    free = _guarded(protected, text)
    out, last = [], 0
    for m in _MARK_RUN.finditer(text):
        run = m.group()
        if not free(m.start(), m.end()) or (len(run) > 1 and set(run) - set("?!")):
            continue  # "..." or ",." cannot be judged
        before, after = _before(text, m.start()), _after(text, m.end() - 1)
        if not _wide(before) or before in "“‘（《「『【":
            continue
        if not (_wide(after) or after == "\n" or (after.isdigit() and run != ".")):
            continue
        if run == "." and _NUMERAL_DOT.search(text[:m.start()]):
            continue  # 一.加强学习: an enumeration
        start, end = m.start(), m.end()
        while start > 0 and text[start - 1] in _BLANK:
            start -= 1  # 建设 , 全市 → 建设，全市
        while end < len(text) and text[end] in _BLANK:
            end += 1
        if end < len(text) and text[end] == "\n":
            end = m.end()
        out.append(text[last:start] + "".join(FULL[c] for c in run))
        last = end
        changes.punctuation += len(run)
    return "".join(out) + text[last:] if out else text


_SPACE_RUN = re.compile(f"[{_BLANK}]+")


def _spaces(text: str, changes: Changes, protected: re.Pattern | None, between_han: bool,
            plain: bool) -> str:
    """Remove spaces next to full-width punctuation, and (in running text) between Chinese
    characters; ideographic spaces that indent a line."""
    free = _guarded(protected, text)
    out, last = [], 0
    for m in _SPACE_RUN.finditer(text):
        a, b = m.start(), m.end()
        before = text[a - 1] if a else "\n"
        after = text[b] if b < len(text) else "\n"
        if not free(a, b):
            continue
        if before == "\n":  # indentation
            drop = _wide(after) and (plain or set(m.group()) & set("\u3000\u00a0"))
        elif after == "\n":
            drop = False  # trailing spaces: a Markdown line break, or harmless
        elif _IS_PUNCT.match(before) and before not in "·—" and _wide(after) or \
                _IS_PUNCT.match(after) and after not in "·—" and _wide(before):
            drop = True
        else:
            drop = between_han and bool(_HAN_RE.match(before)) and bool(_HAN_RE.match(after))
        if drop:
            out.append(text[last:a])
            last = b
            changes.spaces += 1
    return "".join(out) + text[last:] if out else text


# Lines ------------------------------------------------------------------------------------

def wrap_width(lines: list[str]) -> int | None:
    """The width a hard-wrapped text was wrapped at, or None when it does not look wrapped: at
    least three lines, and half of them, within four columns of the widest."""
    widths = [display_width(s.strip()) for s in lines if s.strip()]
    if len(widths) < 3:
        return None
    widest = max(widths)
    near = sum(1 for w in widths if w >= widest - 4)
    return widest if near >= 3 and near * 2 >= len(widths) and widest >= 20 else None


def _last(line: str) -> str:
    s = line.rstrip()
    while s and s[-1] in CLOSERS:
        if s[-1] in "”’」』）》〉】〕)]\"'" and len(s) > 1 and s[-2] in SENTENCE_END:
            return s[-2]
        s = s[:-1]
    return s[-1] if s else ""


def joinable(before: str, after: str, wrapped_at: int | None = None, paragraph: bool = False) -> bool:
    """Whether the line break between two lines falls inside a sentence: the break touches
    Chinese text, the first line does not end a sentence, the second does not start a block,
    and the first stops inside a sentence: after ，、 or an opening bracket; in hard-wrapped
    text, at a full line; anywhere when both are known to be one `paragraph` (Markdown)."""
    b, a = before.rstrip(), after.strip()
    if not b.strip() or not a or _BLOCK_START.match(a) or _OWN_LINE.match(b) or b.endswith("  "):
        return False
    if not (_wide(b[-1]) or _wide(a[0])):
        return False
    end = _last(b)
    if not end or end in SENTENCE_END:
        return False
    if b[-1] in CLAUSE or end in CLAUSE or paragraph:
        return True
    return wrapped_at is not None and display_width(b.strip()) >= wrapped_at - 4


# Blocks -----------------------------------------------------------------------------------

def clean(text: str, changes: Changes | None = None, *, line: int | None = None, heading: bool = False,
          table: bool = False, markdown: bool = True, characters: bool = True, marks: bool = True) -> str:
    """One block of text (a paragraph, a heading, a title; may hold line breaks) cleaned:
    `characters` (pinyin, 繁→简), then `marks` (punctuation, spaces)."""
    changes = changes if changes is not None else Changes()
    protected = _MARKDOWN_PROTECTED if markdown else _PLAIN_PROTECTED
    if characters:
        text = strip_pinyin(text, changes, line, protected)
        text = to_simplified(text, changes, protected)
    if not marks:
        return text
    text = _pairs(text, changes, line, protected)
    text = _marks(text, changes, protected)
    prose = not heading and not table and PROSE_MARK.search(text) is not None
    return _spaces(text, changes, protected, prose, plain=not markdown)


def _join(lines: list[str], first: int, changes: Changes, wrapped_at: int | None, markdown: bool) -> list[str]:
    """The lines of one block, with the breaks that fall inside a sentence joined."""
    out = [lines[0]]
    for k, nxt in enumerate(lines[1:], 1):
        if joinable(out[-1], nxt, wrapped_at, paragraph=markdown):
            prev = out[-1].rstrip(" \t")
            tail = nxt.lstrip(_BLANK)
            space = " " if not (_wide(prev[-1:]) or _wide(tail[:1])) else ""
            out[-1] = prev + space + tail
            changes.joined += 1
        else:
            if markdown and _last(out[-1]) in "。！？" and not _BLOCK_START.match(nxt.strip()) and \
                    not _HEADING.match(out[-1]) and _wide(nxt.strip()[:1]) and len(changes.notes) < 200:
                changes.notes.append((first + k, "和上一行之间没有空行，在网页上是同一段；如果要分段，请在中间空一行"))
            out.append(nxt)
    return out


def fix_plain(text: str, first_line: int = 1) -> tuple[str, Changes]:
    """A plain text (.txt): each line is a paragraph unless its break falls inside a sentence."""
    changes = Changes()
    lines = text.split("\n")
    stage = [strip_pinyin(s, changes, first_line + i, _PLAIN_PROTECTED) for i, s in enumerate(lines)]
    stage = [to_simplified(s, changes, _PLAIN_PROTECTED) for s in stage]
    wrapped_at = wrap_width(stage)
    out, i = [], 0
    while i < len(stage):
        group = [stage[i]]
        while i + len(group) < len(stage) and joinable(_loose(group[-1]), stage[i + len(group)], wrapped_at):
            group.append(stage[i + len(group)])
        block = clean("\n".join(group), changes, line=first_line + i, markdown=False, characters=False)
        parts = block.split("\n")
        joined = parts[0]
        for part in parts[1:]:
            tail = part.lstrip(_BLANK)
            joined = joined.rstrip(" \t") + ("" if _wide(joined.rstrip()[-1:]) or _wide(tail[:1]) else " ") + tail
            changes.joined += 1
        out.append(joined)
        i += len(group)
    return "\n".join(out), changes


def _loose(line: str) -> str:
    """A line as joinable() should see it before its punctuation is cleaned: "建设," ends a clause."""
    s = line.rstrip()
    return s[:-1] + "，" if s.endswith(",") and len(s) > 1 and _wide(s[-2]) else s


def fix_markdown(body: str, first_line: int = 1) -> tuple[str, Changes]:
    """A Markdown text: every paragraph, heading, list item and table row cleaned; code, HTML
    blocks and reference definitions as they are; breaks inside a sentence joined."""
    changes = Changes()
    lines = body.split("\n")
    prose_lines = []
    out: list[str] = []
    group: list[str] = []
    start = 0
    fence: str | None = None
    html_end: str | None = None

    blocks: list[tuple[str, int, list[str]]] = []  # (kind, first line index, lines)

    def close():
        nonlocal group
        if group:
            blocks.append(("text", start, group))
            group = []

    in_code = in_list = False
    for i, s in enumerate(lines):
        after_blank = i == 0 or not lines[i - 1].strip()
        if s.strip() and not _INDENTED.match(s):
            in_list = bool(_LIST_MARKER.match(s)) or (in_list and not after_blank)
        if in_code and (not s.strip() or _INDENTED.match(s)):
            blocks.append(("raw", i, [s]))
            continue
        in_code = False
        if _INDENTED.match(s) and after_blank and not in_list and not group:  # an indented code block
            in_code = True
            blocks.append(("raw", i, [s]))
            continue
        if fence is not None:
            blocks.append(("raw", i, [s]))
            if s.strip().startswith(fence) and s.strip().strip(fence[0]) == "":
                fence = None
            continue
        if html_end is not None:
            blocks.append(("raw", i, [s]))
            if html_end in s.lower():
                html_end = None
            continue
        f = _FENCE.match(s)
        if f:
            close()
            fence = f.group(1)
            blocks.append(("raw", i, [s]))
            continue
        h = _HTML_BLOCK.match(s)
        if h:
            close()
            end = _HTML_END.get((h.group(1) or "").lower(), "-->")
            if end not in s.lower()[h.end():]:
                html_end = end
            blocks.append(("raw", i, [s]))
            continue
        if not s.strip() or _REFERENCE.match(s):
            close()
            blocks.append(("raw", i, [s]))
            continue
        if _HEADING.match(s) or _TABLE_ROW.match(s):
            close()
            blocks.append(("heading" if _HEADING.match(s) else "table", i, [s]))
            continue
        if _OWN_LINE.match(s):  # a byline, a source line: a block of its own
            close()
            blocks.append(("text", i, [s]))
            continue
        if group and _BLOCK_START.match(s.strip()) and not _continues(s):
            close()
        if not group:
            start = i
        group.append(s)
        prose_lines.append(s)
    close()
    wrapped_at = wrap_width(prose_lines)
    for kind, i, block in blocks:
        if kind == "raw":
            out += block
            continue
        text = clean("\n".join(block), changes, line=first_line + i, heading=kind == "heading",
                     table=kind == "table")
        out += _join(text.split("\n"), first_line + i, changes, wrapped_at, markdown=True)
    return "\n".join(out), changes


def _continues(line: str) -> bool:
    """An indented line inside a list item is its continuation, not a new block."""
    return line.startswith(("  ", "\t")) and not _LIST_MARKER.match(line)


def fix_front_matter(head: str, first_line: int, changes: Changes) -> str:
    """The values of the text fields of a front matter (title, authors…): characters only (繁→简,
    pinyin), and in plain one-line values of prose fields (title, summary…) the punctuation too.
    Keys, other fields, quoting and comments are left as they are."""
    out, current = [], None
    for k, s in enumerate(head.split("\n")):
        m = _KEY_VALUE.match(s)
        if m:
            current = m.group(1)
            key, colon, value = m.groups()
            if key in TEXT_KEYS and value:
                plain = key in PROSE_KEYS and value[:1] not in "[{\"'|>&*!%@`"
                value = clean(value, changes, line=first_line + k, heading=key == "title", markdown=False,
                              marks=plain)
            out.append(key + colon + value)
            continue
        item = _LIST_ITEM.match(s)
        if item and current in TEXT_KEYS:
            out.append(item.group(1) + clean(item.group(2), changes, line=first_line + k, markdown=False,
                                             marks=False))
            continue
        if s[:1] not in " \t-#" and s.strip():
            current = None
        out.append(s)
    return "\n".join(out)


def fix_text(text: str, markdown: bool = True) -> tuple[str, Changes]:
    """A whole file: Markdown (a front matter, if any, then the body) or plain text."""
    if not markdown:
        return fix_plain(text)
    bounds = list(_FRONT.finditer(text))
    if len(bounds) >= 2 and bounds[0].start() == 0:
        changes = Changes()
        head_start, head_end = bounds[0].end(), bounds[1].start()
        first = text.count("\n", 0, head_start) + 1
        head = fix_front_matter(text[head_start:head_end], first, changes)
        body_start = bounds[1].end()
        body, more = fix_markdown(text[body_start:], text.count("\n", 0, body_start) + 1)
        changes += more
        return text[:head_start] + head + text[head_end:body_start] + body, changes
    return fix_markdown(text)


def diff(old: str, new: str, name: str) -> str:
    """The changes as a unified diff, for `fix --dry-run`."""
    lines = lambda text: [line + "\n" for line in text.split("\n")]  # noqa: E731  the last one too
    return "".join(difflib.unified_diff(lines(old), lines(new), f"{name}（原文）", f"{name}（修改后）", n=0))
