"""Published pictures in pages: the markup (`<picture>` with WebP and JPEG
sizes, `srcset`/`sizes`, width and height so nothing shifts while loading),
and the library's HTML with every reference to a picture made into it.

Markup carries the site's base path as models.BASE and its loading as
LOADING; `finish_page` settles both once the whole page is known: the first
picture in the page loads at once, every other one lazily.
"""
from __future__ import annotations

import hashlib
import html
import re
from dataclasses import replace
from urllib.parse import quote

from markupsafe import Markup

from .files import is_raster
from .models import BASE, Cover, Library, Picture

# How wide a picture is shown, for the browser to pick a size (site.css).
SIZES = {
    "body": "(min-width: 46rem) 43rem, 100vw",  # the story's column
    "cover": "(min-width: 46rem) 43rem, 100vw",
    "card": "(min-width: 38rem) 24rem, 100vw",  # a card in a grid of 17rem and more
    "banner": "(min-width: 72rem) 70rem, 100vw",
}
# Replaced in finish_page. nh3 keeps no data-* attribute of a story's own, and
# the marker has nothing that escaping changes, so it is found in a feed too.
LOADING = " data-gushihui-loading"
_IMG = re.compile(r'<img((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*/?>')
_ATTR = re.compile(r'([\w:-]+)(?:="([^"]*)")?')
_HREF = re.compile(r'href="' + re.escape(BASE) + r'([^"#?]*)')


def _url(address: str) -> str:
    return BASE + quote(address, safe="/")


def _srcset(variants) -> str:
    return ", ".join(f"{_url(v.address)} {v.width}w" for v in variants)


def markup(picture: Picture, alt: str, role: str = "body", width: str | None = None, extra: str = "") -> str:
    """The <picture> of a published picture. `width`: the width the story set
    on its <img> (the height follows the picture's shape); `extra`: attributes
    for the <img> (class, title), already escaped."""
    w, h = picture.width, picture.height
    if width and width.isdigit() and 0 < int(width) < w:
        w, h = int(width), max(1, round(h * int(width) / w))
    sizes = SIZES.get(role, SIZES["body"])
    fallback = picture.fallback
    img = (f'<img src="{_url(picture.default.address)}"'
           + (f' srcset="{_srcset(fallback)}" sizes="{sizes}"' if len(fallback) > 1 else "")
           + f' width="{w}" height="{h}" alt="{html.escape(alt)}"{extra}{LOADING} decoding="async">')
    if not picture.modern:
        return img
    return f'<picture><source type="image/webp" srcset="{_srcset(picture.modern)}" sizes="{sizes}">{img}</picture>'


def picture(cover: Cover | None, role: str = "cover", alt: str | None = None) -> Markup:
    """For templates: a cover or banner as a <picture> for the `role` it plays
    (SIZES: "cover", "card", "banner"); `alt` replaces the cover's own ("" for a
    decorative copy). An SVG cover is an <img> of its own address."""
    if cover is None:
        return Markup("")
    text = cover.alt if alt is None else alt
    if cover.picture is None:
        return Markup(f'<img src="{_url(cover.url)}" alt="{html.escape(text)}"{LOADING}>')
    return Markup(markup(cover.picture, text, role))


def finish_page(page: str, eager_first: bool = True) -> str:
    """The first picture in the page (the one in view) loads at once, with
    priority; every other one lazily."""
    first, rest = page.partition(LOADING)[::2] if LOADING in page else (page, None)
    if rest is None:
        return page
    lead = ' fetchpriority="high"' if eager_first else ' loading="lazy"'
    return first + lead + rest.replace(LOADING, ' loading="lazy"')


_PICTURE = re.compile(r'<picture><source [^>]*>(<img [^>]*>)</picture>')
_SRC = re.compile(r'src="([^"]*)"')
_SRCSET = re.compile(r' (?:srcset|sizes)="[^"]*"')


def for_print(page: str) -> str:
    """The page for a PDF: each picture as one <img> of its largest size (a
    printer has no srcset), loaded at once."""
    def largest(match: re.Match) -> str:
        img = match.group(0)
        found = re.search(r'srcset="([^"]*)"', img)
        if found:
            biggest = found.group(1).split(", ")[-1].rsplit(" ", 1)[0]
            img = _SRC.sub(lambda _: f'src="{biggest}"', img, count=1)
        return _SRCSET.sub("", img)

    page = _PICTURE.sub(lambda m: m.group(1), page)
    return _IMG.sub(largest, page).replace(LOADING, "")


def rewrite(body: str, pictures: dict[str, Picture]) -> str:
    """Story HTML with every <img> of a published picture made a <picture>, and
    every link to one pointed at its largest size. An <img> whose picture
    could not be made becomes its alt text."""
    def img(match: re.Match) -> str:
        attrs = {k: html.unescape(v or "") for k, v in _ATTR.findall(match.group(1))}
        src = attrs.get("src", "")
        if not src.startswith(BASE):
            return match.group(0)  # an inline data: picture
        address = src[len(BASE):]
        found = pictures.get(address)
        if found is None:
            if not is_raster(address):
                return match.group(0)  # an SVG, copied as it is
            return f'<span class="missing-picture">{html.escape(attrs.get("alt", ""))}</span>'
        extra = "".join(f' {k}="{html.escape(attrs[k])}"' for k in ("class", "title", "id", "lang") if k in attrs)
        return markup(found, attrs.get("alt", ""), "body", attrs.get("width"), extra)

    def link(match: re.Match) -> str:
        found = pictures.get(match.group(1))
        return f'href="{_url(found.largest.address)}' if found else match.group(0)

    return _HREF.sub(link, _IMG.sub(img, body))


def publish(library: Library, pictures: dict[str, Picture], memo: dict) -> Library:
    """The library as published: every story, page, preface and showcase that
    shows a picture gets its HTML rewritten, a cover or banner whose picture
    could not be made dropped, and a digest that includes its pictures' keys,
    so that a page showing a changed picture is rendered again. `memo`: a
    session table, keyed by digests and picture keys."""
    def update(item):
        raster = [a.address for a in item.assets if is_raster(a.address)]
        if not raster:
            return item
        keys = tuple((a, pictures[a].key if a in pictures else None) for a in raster)
        memo_key = (item.digest, keys)
        done = memo.get(memo_key)
        if done is None:
            changes = {"html": rewrite(item.html, pictures),
                       "digest": hashlib.blake2b(repr(memo_key).encode(), digest_size=12).hexdigest()}
            for field in ("cover", "banner"):
                cover: Cover | None = getattr(item, field, None)
                if cover is not None and is_raster(cover.url):
                    found = pictures.get(cover.url)
                    changes[field] = replace(cover, picture=found) if found else None
            done = memo[memo_key] = replace(item, **changes)
        return done

    return replace(library, stories={i: update(s) for i, s in library.stories.items()},
                   pages=tuple(map(update, library.pages)),
                   prefaces={k: update(p) for k, p in library.prefaces.items()},
                   showcases={k: update(s) for k, s in library.showcases.items()})
