"""A blind-review packet (匿名评审材料), `build --blind --out DIR`: every
published story under a number, without its county, township, branch,
authors, cover caption or pictures' metadata; a scoring sheet with the
rubric's columns; and, outside the packet, the key from numbers to stories.

The numbers follow a hash of each story, not the registry's order, so that
neighbouring numbers do not mean neighbouring places.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import tempfile
from pathlib import Path

from .files import extension, is_raster
from .images import PictureError, make
from .models import BASE, Story

_SRC = re.compile(r'(src|href)="' + re.escape(BASE) + r'([^"#?]+)[^"]*"')
_ALT = re.compile(r'\salt="[^"]*"')


def order(stories: list[Story]) -> list[Story]:
    return sorted(stories, key=lambda s: hashlib.blake2b(f"{s.id}\0{s.digest}".encode(), digest_size=8).digest())


def write_packet(stories: list[Story], content: Path, root: Path, env, settings) -> list[list[str]]:
    """The packet into `root`; returns the key's rows (number, story id, title, place)."""
    store = Path(tempfile.mkdtemp(prefix=f".{root.name}-pictures-", dir=root.parent))
    try:
        return _write_packet(stories, content, root, env, settings, store)
    finally:
        shutil.rmtree(store, ignore_errors=True)


def _write_packet(stories: list[Story], content: Path, root: Path, env, settings, store: Path) -> list[list[str]]:
    template = env.get_template("blind.html")
    key = [["编号", "故事编号（id）", "标题", "县（市、区）", "乡镇（街道）", "党支部"]]
    sheet = [["story", "judge", *(c.id for c in settings.rating.criteria), "comment"]]
    listing = []
    (root / "img").mkdir(parents=True, exist_ok=True)
    for n, story in enumerate(order(stories), 1):
        number = f"{n:04d}"
        sources = {a.address: content / a.source for a in story.assets}
        pictures: dict[str, str] = {}

        def picture(address: str) -> str | None:
            """A picture made like the site's (upright, no metadata: images.py) at its largest
            size, under the story's number; None for other files and for a bad picture."""
            if address not in pictures:
                source = sources.get(address) or (content / address)
                if not is_raster(address) or not source.is_file():
                    return None
                try:
                    made, _ = make(source, store, settings.images)
                except PictureError:
                    return None
                largest = made.files(settings.images)[-1][0]
                name = f"img/{number}-{len(pictures) + 1}.{extension(largest)}"
                shutil.copyfile(store / largest, root / name)
                pictures[address] = name
            return pictures[address]

        def local(match: re.Match) -> str:
            name = picture(match.group(2))
            return f'{match.group(1)}="{name}"' if name else f'{match.group(1)}="#"'

        body = _ALT.sub(' alt="图"', _SRC.sub(local, story.html))
        cover = picture(story.cover.url) if story.cover else None
        page = template.render(site=settings, number=number, story=_Anonymous(story.title), body=body, cover=cover)
        (root / f"{number}.html").write_text(page, encoding="utf-8")
        listing.append(f'<li><a href="{number}.html">{number}号</a> {_escape(story.title)}</li>')
        key.append([number, story.id, story.title, story.county, story.township, story.branch])
        sheet.append([number, "", *("" for _ in settings.rating.criteria), ""])
    (root / "index.html").write_text(
        f'<!doctype html><html lang="{settings.language}"><head><meta charset="utf-8"><title>匿名评审稿件</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body style="max-width:40rem;'
        'margin:2rem auto;padding:0 1rem;font:17px/1.9 sans-serif"><h1>匿名评审稿件</h1>'
        f'<p>共 {len(listing)} 篇。评分请填 scores-template.csv：story 列是稿件编号，judge 列是评委编号。</p>'
        f'<ol style="list-style:none;padding:0">{"".join(listing)}</ol></body></html>', encoding="utf-8")
    (root / "scores-template.csv").write_bytes(_csv(sheet))
    return key


class _Anonymous:
    """What a blind page may know of a story: its title."""

    def __init__(self, title: str):
        self.title = title


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def key_path(out: Path) -> Path:
    """Where the key goes: beside the packet, never in it."""
    return out.parent / f"{out.name}-key.csv"


def write_key(out: Path, rows: list[list[str]]) -> None:
    key_path(out).write_bytes(_csv(rows))
