"""HTML → PDF with WeasyPrint, an optional extra (`pip install -e '.[pdf]'`).

Before anything is written, the font is checked: every character of the
book must be in the chosen CJK font or in another font installed on this
machine, so a PDF never shows empty boxes. Every file the page uses comes
from the site's own files; nothing is fetched from anywhere else.
"""
from __future__ import annotations

import functools
import html as htmllib
import mimetypes
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

from .errors import ContentError, Problem, excerpt

ORIGIN = "http://gushihui.invalid"  # the site's own address inside WeasyPrint; never fetched
DEFAULT_FAMILIES = ("Noto Serif CJK SC", "Noto Sans CJK SC", "Source Han Serif SC", "Source Han Sans SC")
FONT_FILES = (".ttf", ".otf", ".ttc", ".otc")
_TAG = re.compile(r"<[^>]*>")
_HEAD = re.compile(r"<head>.*?</head>", re.S)
INSTALL = "请安装中文字体：Debian/Ubuntu 上运行 apt-get install fonts-noto-cjk，或在 site.toml 的 [anthology] 里用 pdf_font 指定字体文件"


def make_pdf(page: str, files: dict[str, Path], base_path: str, font: str, root: Path | None) -> bytes:
    """The PDF of an HTML page of this site. `files`: the site's copied files
    (address → source); `font`: site.toml's pdf_font; `root`: where a relative
    font file is found. ContentError (E503, E504) when it cannot be made well."""
    try:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import URLFetcher, URLFetcherResponse
    except ImportError as exc:
        raise ContentError([Problem("E503", f"生成 PDF 需要 WeasyPrint（{exc}）；请运行 python3 -m pip install -e '.[pdf]'，"
                                    "并安装 Pango（Debian/Ubuntu：apt-get install libpango-1.0-0 libpangoft2-1.0-0）")])
    family, path, index = _font(font, root)
    family = family.replace('"', "").replace("\\", "")  # it goes into a CSS string below
    text = htmllib.unescape(_TAG.sub("", _HEAD.sub("", page)))
    _check_coverage(text, path, index, family)
    prefix = ORIGIN + base_path

    class SiteFiles(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url == f"{ORIGIN}/.gushihui-font" and path is not None:
                return URLFetcherResponse(url, body=path.read_bytes())
            source = files.get(unquote(url[len(prefix):].split("#")[0].split("?")[0])) if url.startswith(prefix) else None
            if source is None:
                raise ValueError(f"not a file of this site: {url}")  # nothing from other hosts
            kind = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=source.read_bytes(), headers={"Content-Type": kind})

    fonts = FontConfiguration()  # without it WeasyPrint ignores @font-face and falls back to installed fonts
    face = (f'@font-face {{ font-family: "{family}"; src: url("{ORIGIN}/.gushihui-font"); font-weight: 100 900; }}\n'
            if font_is_file(font) else "")  # one file for every weight: bold is made from it
    set_in = f'font-family: "{family}", serif !important;'  # the text, the running head and the page numbers
    css = weasyprint.CSS(string=f'{face}html, html * {{ {set_in} }} '
                                f'@page {{ @top-center {{ {set_in} }} @bottom-center {{ {set_in} }} }}',
                         url_fetcher=SiteFiles(), font_config=fonts)
    document = weasyprint.HTML(string=page, base_url=prefix, url_fetcher=SiteFiles())
    return document.write_pdf(stylesheets=[css], font_config=fonts, pdf_variant=None, uncompressed_pdf=False)


def font_is_file(font: str) -> bool:
    return font.lower().endswith(FONT_FILES)


def _font(font: str, root: Path | None) -> tuple[str, Path | None, int]:
    """(family, font file, index in a collection) of the font the book is set in."""
    if font_is_file(font):
        path = Path(font) if Path(font).is_absolute() or root is None else root / font
        if not path.is_file():
            raise ContentError([Problem("E504", f"找不到 pdf_font 指定的字体文件 {excerpt(str(path), 200)}")])
        return "GushihuiPDF", path, 0
    for family in ([font] if font else DEFAULT_FAMILIES):
        found = _match(family)
        if found is not None:
            return family, *found
    wanted = f"字体“{excerpt(font)}”" if font else "中文字体（如思源宋体 Noto Serif CJK）"
    raise ContentError([Problem("E504", f"这台电脑上没有{wanted}，PDF 会显示成方框；{INSTALL}")])


@functools.lru_cache(maxsize=16)
def _match(family: str) -> tuple[Path, int] | None:
    """The file fontconfig gives for a family, if that family is installed."""
    if shutil.which("fc-match") is None:
        return None
    out = subprocess.run(["fc-match", "-f", "%{family}|%{file}|%{index}", family], capture_output=True, text=True)
    families, _, rest = out.stdout.partition("|")
    file, _, index = rest.partition("|")
    if out.returncode != 0 or family.lower() not in [f.strip().lower() for f in families.split(",")]:
        return None
    return Path(file), int(index or 0)


@functools.lru_cache(maxsize=16)
def _cmap(path: Path, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap())


@functools.lru_cache(maxsize=4096)
def _elsewhere(char: str) -> bool:
    """Some installed font has this character (WeasyPrint falls back to it)."""
    if shutil.which("fc-list") is None:
        return False
    out = subprocess.run(["fc-list", f":charset={ord(char):x}", "family"], capture_output=True, text=True)
    return bool(out.stdout.strip())


def _check_coverage(text: str, path: Path | None, index: int, family: str) -> None:
    covered = _cmap(path, index) if path is not None else frozenset()
    chars = {c for c in set(text) if not c.isspace() and ord(c) >= 0x20}
    missing = sorted(c for c in chars if ord(c) not in covered and not _elsewhere(c))
    if missing:
        shown = "".join(missing[:20]) + ("……" if len(missing) > 20 else "")
        raise ContentError([Problem("E504", f"字体“{family}”和本机其他字体都没有这些字：{shown}；PDF 里会是方框。"
                                    f"{INSTALL}，或改用常用字")])
