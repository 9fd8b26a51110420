"""Which files are published as they are, beside the pages: an allow-list of
types that a browser shows or downloads but never runs as part of the site
(pictures, documents, sound, video), and SVGs only when `svg.unsafe_svg`
finds nothing that could run script or fetch from another host.

An HTML file, a script or an unknown type put in media/ or linked from a
story would be served from the site's own address, with the site's rights.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .errors import Problem
from .svg import unsafe_svg

# Pictures other than SVG are not copied but made anew (images.py): upright, small, without metadata.
RASTER = {"jpg", "jpeg", "png", "gif", "webp", "avif", "bmp", "tif", "tiff", "heic", "heif"}
PICTURES = RASTER | {"svg"}
DOCUMENTS = {"pdf", "ofd", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "dps",
             "odt", "ods", "odp", "zip", "rar", "7z"}
AUDIO = {"mp3", "m4a", "aac", "wav", "ogg", "oga", "flac"}
VIDEO = {"mp4", "m4v", "webm", "ogv", "mov"}
PUBLISHED = PICTURES | DOCUMENTS | AUDIO | VIDEO
KINDS = "图片、PDF、Word/Excel/PowerPoint/WPS 文档、压缩包、音频和视频"


def extension(name: str) -> str:
    return posixpath.splitext(name)[1][1:].lower()


def is_raster(name: str) -> bool:
    """A picture the image pipeline publishes (images.py), not copied as it is."""
    return extension(name) in RASTER


def publishable(name: str) -> bool:
    """A file of this name may be published (an SVG still needs `unsafe_content`)."""
    return extension(name) in PUBLISHED


def unsafe_content(path: Path) -> str | None:
    """Why a publishable file must not be published after all, or None."""
    if extension(path.name) != "svg":
        return None
    try:
        return unsafe_svg(path.read_bytes())
    except OSError as exc:
        return f"无法读取（{exc.strerror or exc}）"


def outside_link(location: str, outside: dict[str, str]) -> str | None:
    """The link that makes `location` lead out of content/, if any."""
    parts = location.split("/")
    for i in range(1, len(parts) + 1):
        link = "/".join(parts[:i])
        if link in outside:
            return link
    return None


class Files(dict):
    """POSIX path → stat of every file found, and its listings by folder, kept by
    `rescan` while no file is added or removed (a preview lists the same 10,000
    stories on every edit)."""

    __slots__ = ("listings",)

    def __init__(self, *args, listings: dict | None = None):
        super().__init__(*args)
        self.listings: dict[str, tuple[str, ...]] = {} if listings is None else listings


def listing(files: dict[str, tuple], folder: str) -> tuple[str, ...]:
    """The paths below `folder` (e.g. "stories/"; "" for all), sorted."""
    known = files.listings if isinstance(files, Files) else {}
    found = known.get(folder)
    if found is None:
        found = known[folder] = tuple(sorted(k for k in files if k.startswith(folder)))
    return found


Copies = dict[str, tuple[Path, str, str | None]]  #: address → (source file, label, referring file)


def static_files(content: Path, theme_files: dict[str, Path], found: Iterable[str],
                 items: Iterable, all_media: bool = True) -> tuple[Copies, list[Problem]]:
    """Everything copied as is: the theme's static files (trusted), then
    media/ and the files stories and pages refer to (`items`), limited to
    publishable types and safe SVGs. `found`: the files of content/;
    `all_media` False: of media/, only what `items` use (a county's own site)."""
    files: Copies = {address: (path, f"主题文件 {address}", None) for address, path in theme_files.items()}
    problems = []
    items = list(items)
    used = {a.address for item in items for a in item.assets}
    for address in [k for k in listing(found, "media/") if all_media or k in used]:
        if is_raster(address):
            continue  # see pictures_used
        if publishable(address):
            files[address] = (content / address, f"文件 {address}", None)
        else:
            problems.append(Problem("W319", f"这种文件不能发布，没有复制；只能发布{KINDS}", str(content / address)))
    for item in items:
        for asset in item.assets:
            if not asset.address.startswith("media/") and not is_raster(asset.address):
                files[asset.address] = (content / asset.source, f"{item.source} 引用的 {asset.source}", item.source)
    for address, (source, _, _) in files.items():
        why = unsafe_content(source) if source != theme_files.get(address) else None
        if why:
            problems.append(Problem("E320", f"这个 SVG 图片{why}，不能发布；请用图像软件另存为 PNG，"
                                    "或删去其中的脚本和外部引用", str(source)))
    return files, problems


@dataclass
class Use:
    """A picture file and where it is published and shown."""

    addresses: set[str] = field(default_factory=set)  #: output addresses it is referred to by
    refs: list[tuple[str, int | None]] = field(default_factory=list)  #: (referring file, line)
    own: bool = False  #: also published at its own address, in its own format (media/ nobody uses)


def pictures_used(found: Iterable[str], items: Iterable, all_media: bool = True) -> dict[str, Use]:
    """source (relative to content/) → its use, for every raster picture the
    stories and pages refer to and, with `all_media`, every one in media/."""
    uses: dict[str, Use] = {}
    for item in items:
        for asset in item.assets:
            if is_raster(asset.source):
                use = uses.setdefault(asset.source, Use())
                use.addresses.add(asset.address)
                use.refs.append((item.source, asset.line))
    if all_media:
        for address in listing(found, "media/"):
            if is_raster(address) and address not in uses:
                uses[address] = Use({address}, [], own=True)
    return uses
