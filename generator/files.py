"""Which files are published as they are, beside the pages: an allow-list of
types that a browser shows or downloads but never runs as part of the site
(pictures, documents, sound, video), and SVGs only when `svg.unsafe_svg`
finds nothing that could run script or fetch from another host.

An HTML file, a script or an unknown type put in media/ or linked from a
story would be served from the site's own address, with the site's rights.
"""
from __future__ import annotations

import posixpath
from pathlib import Path

from .svg import unsafe_svg

PICTURES = {"jpg", "jpeg", "png", "gif", "webp", "avif", "bmp", "svg"}
DOCUMENTS = {"pdf", "ofd", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "dps",
             "odt", "ods", "odp", "zip", "rar", "7z"}
AUDIO = {"mp3", "m4a", "aac", "wav", "ogg", "oga", "flac"}
VIDEO = {"mp4", "m4v", "webm", "ogv", "mov"}
PUBLISHED = PICTURES | DOCUMENTS | AUDIO | VIDEO
KINDS = "图片、PDF、Word/Excel/PowerPoint/WPS 文档、压缩包、音频和视频"


def extension(name: str) -> str:
    return posixpath.splitext(name)[1][1:].lower()


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
