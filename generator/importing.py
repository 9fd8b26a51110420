"""`gushihui import`: a story file from a document as it really arrives, a Word or WPS file
(.docx), text copied from the web or WeChat (.txt), Markdown (.md) or a saved web page (.html).

A document becomes a list of blocks (documents.py: paragraphs, headings, list items, tables,
pictures), each cleaned by fixing.py; paragraphs that a web copy broke inside a sentence are joined.
From the blocks come the front matter: the title (the document's title, else its first
line), the authors (a ◎ byline), the date (one the text names, else today), and the
county, township and branch (given, or the one branch of org.csv the text names). What
cannot be known is written as TODO, a value `check` reports (E326) until it is filled in.
Pictures of a Word file or a saved page are written to media/. Nothing here prints.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import fixing
from .chinese import parse_date, slugify
from .documents import PICTURE_MARK, Block, Picture, Source, read_source
from .errors import Problem
from .files import is_raster
from .fixing import Changes
from .models import BranchRow
from .reader import TODO

MAX_SLUG = 60  # characters of a file name made from a title: long titles make paths Windows cannot open
MAX_TITLE = 60  # a first line longer than this is a paragraph, not a title


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
    return PICTURE_MARK.sub(lambda m: _picture_markdown(pictures[int(m.group(1))]), body)


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
            line = PICTURE_MARK.sub("", blocks[first].text).strip()
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
