"""site.toml → a typed, frozen Settings value, every problem collected at once."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .encoding import read_text
from .errors import Problem, did_you_mean, excerpt


@dataclass(frozen=True)
class Standard:
    """One of the categories a story belongs to (by default the eight “八个好”)."""

    id: str  #: lowercase ASCII, used in addresses
    name: str  #: shown to readers

    @property
    def url(self) -> str:
        return f"standards/{self.id}/"


@dataclass(frozen=True)
class Criterion:
    id: str
    name: str
    max: int


@dataclass(frozen=True)
class Award:
    name: str
    share: float


DEFAULT_STANDARDS = (
    Standard("story", "讲好党建故事"),
    Standard("image", "亮好党员干部形象"),
    Standard("service", "建好服务群众项目"),
    Standard("green", "创好绿色发展路子"),
    Standard("archive", "管好党建基础档案"),
    Standard("discipline", "落好从严管理措施"),
    Standard("bastion", "筑好基层战斗堡垒"),
    Standard("mechanism", "建好有力推进机制"),
)
DEFAULT_CRITERIA = (
    Criterion("theme", "主题鲜明", 30),
    Criterion("truth", "内容真实", 30),
    Criterion("impact", "感染力强", 20),
    Criterion("writing", "文字流畅", 20),
)
DEFAULT_AWARDS = (Award("一等奖", 0.10), Award("二等奖", 0.20), Award("三等奖", 0.30))


@dataclass(frozen=True)
class Rating:
    criteria: tuple[Criterion, ...] = DEFAULT_CRITERIA
    trim_from: int = 5
    min_judges: int = 3
    recuse: str = "county"
    awards: tuple[Award, ...] = DEFAULT_AWARDS
    publish: bool = True  #: False: scores stay off the public site (check still prints them)


@dataclass(frozen=True)
class Anthology:
    paper: str = "A4"  #: "A4" or "A5"
    pdf_font: str = ""  #: a font file (below the site folder) or a family name; "": a system CJK font


@dataclass(frozen=True)
class Images:
    """How pictures are published (images.py)."""

    widths: tuple[int, ...] = (480, 960, 1600)  #: the sizes made of every picture, never wider than it
    quality: int = 80  #: of WebP and JPEG, 1–100
    max_pixels: int = 200_000_000  #: a picture with more is refused (a decompression bomb, or a mistake)


@dataclass(frozen=True)
class Settings:
    title: str
    city: str
    base_url: str  #: always ends with "/"
    language: str = "zh-CN"
    theme: str = "default"
    description: str = ""
    footer: str = ""
    host: str = ""  #: 主办单位
    organizer: str = ""  #: 承办单位
    contact: str = ""  #: 联系方式
    icp: str = ""  #: ICP 备案号, linked to the national filing site
    police_beian: str = ""  #: 公安机关备案号
    site_code: str = ""  #: 政府网站标识码
    relative_urls: bool = False  #: every address relative to its page, so the output opens from disk
    standards: tuple[Standard, ...] = DEFAULT_STANDARDS
    coverage_target: float = 1.0
    rating: Rating = field(default_factory=Rating)
    anthology: Anthology = field(default_factory=Anthology)
    images: Images = field(default_factory=Images)
    county_urls: tuple[tuple[str, str], ...] = ()  #: [counties.<slug>] base_url: (slug, address of its own site)
    accent: str = ""  #: a standalone county site's colour (from its showcase), "" elsewhere

    @property
    def base_path(self) -> str:
        """The path part of base_url: "/" or e.g. "/dangjian/"."""
        return urlsplit(self.base_url).path or "/"

    def standard(self, key: str) -> Standard | None:
        """A standard by id or by name."""
        for s in self.standards:
            if key in (s.id, s.name):
                return s
        return None


FOOTER_KEYS = ("host", "organizer", "contact", "icp", "police_beian", "site_code")
TOP_KEYS = {"title", "city", "base_url", "language", "theme", "description", "footer", "relative_urls", *FOOTER_KEYS,
            "standards", "coverage", "rating", "anthology", "counties", "images"}
RATING_KEYS = {"criteria", "trim_from", "min_judges", "recuse", "awards", "publish"}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_THEME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class _Checker:
    """Collects problems while reading the TOML document's values."""

    def __init__(self, name: str, text: str):
        self.name, self.lines, self.problems = name, text.split("\n"), []

    def line_of(self, key: str) -> int | None:
        pattern = re.compile(rf"^\s*(\[+\s*)?{re.escape(key)}\s*(=|\]|\.)")
        for i, line in enumerate(self.lines, 1):
            if pattern.match(line):
                return i
        return None

    def problem(self, code: str, key: str, message: str) -> None:
        self.problems.append(Problem(code, message, self.name, self.line_of(key.split(".")[-1])))

    def unknown(self, table: dict, known: set[str], where: str) -> None:
        for key in table:
            if key not in known:
                hint = did_you_mean(key, known) or "，已忽略"
                self.problem("W104", key, f"未知的设置项“{where}{key}”{hint}")

    def string(self, table: dict, key: str, default: str | None = None, where: str = "") -> str:
        value = table.get(key, default)
        if value is None:
            self.problem("E103", key, f"缺少必填设置“{where}{key}”")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.problem("E103", key, f"“{where}{key}”应为非空的文字，现在是 {value!r}")
            return default or ""
        return value.strip()

    def boolean(self, table: dict, key: str, default: bool, where: str = "") -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem("E103", key, f"“{where}{key}”只能是 true 或 false，现在是 {excerpt(repr(value))}")
            return default
        return value

    def number(self, table: dict, key: str, default, lo, hi, where: str = "", integer=False):
        value = table.get(key, default)
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or not lo <= value <= hi:
            kind = "整数" if integer else "数"
            self.problem("E103", key, f"“{where}{key}”应为 {lo} 到 {hi} 之间的{kind}，现在是 {value!r}")
            return default
        return value


def parse_settings(text: str, name: str = "site.toml") -> tuple[Settings | None, list[Problem]]:
    """Pure: the text of site.toml → Settings and problems.

    Settings is None only when the TOML cannot be parsed; with other errors it
    holds defaults in place of the bad values, so that the rest of the site can
    still be checked in the same run. Callers must not build when a problem is
    an error.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        return None, [Problem("E102", f"TOML 语法错误：{exc}", name, int(line.group(1)) if line else None)]
    c = _Checker(name, text)
    c.unknown(doc, TOP_KEYS, "")
    title = c.string(doc, "title")
    city = c.string(doc, "city")
    base_url = c.string(doc, "base_url", "/")
    if base_url and not (base_url.startswith(("http://", "https://", "/"))):
        c.problem("E103", "base_url", f"base_url 应以 http://、https:// 或 / 开头，现在是 {base_url!r}")
    base_url = base_url.rstrip("/") + "/"
    standards = _standards(c, doc.get("standards"))
    coverage = doc.get("coverage", {})
    target = 1.0
    if not isinstance(coverage, dict):
        c.problem("E103", "coverage", "[coverage] 应为一个表")
    else:
        c.unknown(coverage, {"target"}, "coverage.")
        target = c.number(coverage, "target", 1.0, 0, 1, "coverage.")
    rating = _rating(c, doc.get("rating", {}))
    anthology = _anthology(c, doc.get("anthology", {}))
    county_urls = _county_urls(c, doc.get("counties", {}))
    images = _images(c, doc.get("images", {}))
    theme = c.string(doc, "theme", "default")
    if not _THEME.match(theme):  # a path would load templates (code) from anywhere, content/ included
        c.problem("E103", "theme", f"theme 应为 themes/ 下一个文件夹的名字，如 \"default\"，现在是 {excerpt(repr(theme))}")
        theme = "default"
    settings = Settings(
        title=title, city=city, base_url=base_url,
        language=c.string(doc, "language", "zh-CN"), theme=theme,
        description=c.string(doc, "description", "") if "description" in doc else "",
        footer=c.string(doc, "footer", "") if "footer" in doc else "",
        **{key: c.string(doc, key, "") for key in FOOTER_KEYS if key in doc},
        relative_urls=c.boolean(doc, "relative_urls", False),
        standards=standards, coverage_target=float(target), rating=rating, anthology=anthology,
        county_urls=county_urls, images=images,
    )
    return settings, c.problems


def _standards(c: _Checker, value: Any) -> tuple[Standard, ...]:
    if value is None:
        return DEFAULT_STANDARDS
    if not isinstance(value, list) or not value:
        c.problem("E103", "standards", "[[standards]] 应为一个或多个表，每个有 id 和 name")
        return DEFAULT_STANDARDS
    out, seen = [], set()
    for item in value:
        if not isinstance(item, dict):
            c.problem("E103", "standards", "[[standards]] 的每一项应有 id 和 name")
            continue
        c.unknown(item, {"id", "name"}, "standards.")
        sid, name = c.string(item, "id", where="standards."), c.string(item, "name", where="standards.")
        if sid and not _ID.match(sid):
            c.problem("E103", "standards", f"类别 id “{sid}”只能用小写英文字母、数字和连字符")
        for key in (sid, name):
            if key in seen:
                c.problem("E103", "standards", f"类别“{key}”重复")
            seen.add(key)
        out.append(Standard(sid, name))
    return tuple(out)


def _county_urls(c: _Checker, value: Any) -> tuple[tuple[str, str], ...]:
    """[counties.<slug>] base_url = "…": where each county's own site lives."""
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        c.problem("E103", "counties", "[counties.县的拼音] 应为表，如 [counties.yun-he-xian] 下写 base_url = \"https://…/\"")
        return ()
    urls = []
    for slug, table in value.items():
        c.unknown(table, {"base_url"}, f"counties.{slug}.")
        url = table.get("base_url", "")
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "/")):
            c.problem("E103", "base_url", f"counties.{excerpt(slug)}.base_url 应以 http://、https:// 或 / 开头")
            continue
        urls.append((slug, url.rstrip("/") + "/"))
    return tuple(urls)


def _anthology(c: _Checker, value: Any) -> Anthology:
    if not isinstance(value, dict):
        c.problem("E103", "anthology", "[anthology] 应为一个表")
        return Anthology()
    c.unknown(value, {"paper", "pdf_font"}, "anthology.")
    paper = value.get("paper", "A4")
    if paper not in ("A4", "A5"):
        c.problem("E103", "paper", f"anthology.paper 只能是 \"A4\" 或 \"A5\"，现在是 {excerpt(repr(paper))}")
        paper = "A4"
    font = value.get("pdf_font", "")
    if not isinstance(font, str):
        c.problem("E103", "pdf_font", "anthology.pdf_font 应为字体文件的路径或字体名称")
        font = ""
    return Anthology(paper, font.strip())


def _images(c: _Checker, value: Any) -> Images:
    if not isinstance(value, dict):
        c.problem("E103", "images", "[images] 应为一个表")
        return Images()
    c.unknown(value, {"widths", "quality", "max_pixels"}, "images.")
    widths = value.get("widths", list(Images.widths))
    if not (isinstance(widths, list) and widths and len(widths) <= 8 and all(
            isinstance(w, int) and not isinstance(w, bool) and 16 <= w <= 8000 for w in widths)):
        c.problem("E103", "widths", f"images.widths 应为 1 到 8 个 16 到 8000 之间的整数，如 [480, 960, 1600]，"
                  f"现在是 {excerpt(repr(widths))}")
        widths = list(Images.widths)
    return Images(tuple(sorted(set(widths))), c.number(value, "quality", 80, 1, 100, "images.", integer=True),
                  c.number(value, "max_pixels", Images.max_pixels, 1, 10**10, "images.", integer=True))


def _rating(c: _Checker, value: Any) -> Rating:
    if not isinstance(value, dict):
        c.problem("E103", "rating", "[rating] 应为一个表")
        return Rating()
    c.unknown(value, RATING_KEYS, "rating.")
    criteria = DEFAULT_CRITERIA
    if "criteria" in value:
        items = value["criteria"]
        if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
            criteria = tuple(Criterion(c.string(i, "id", where="rating.criteria."), c.string(i, "name", where="rating.criteria."),
                                       c.number(i, "max", 0, 1, 1000, "rating.criteria.", integer=True)) for i in items)
        else:
            c.problem("E103", "criteria", "rating.criteria 应为表的列表，每项有 id、name、max")
    awards = DEFAULT_AWARDS
    if "awards" in value:
        items = value["awards"]
        if isinstance(items, list) and all(isinstance(i, dict) for i in items):
            awards = tuple(Award(c.string(i, "name", where="rating.awards."), float(c.number(i, "share", 0.0, 0, 1, "rating.awards."))) for i in items)
            if sum(a.share for a in awards) > 1 + 1e-9:
                c.problem("E103", "awards", "各奖项的 share 之和不能超过 1")
        else:
            c.problem("E103", "awards", "rating.awards 应为表的列表，每项有 name、share")
    recuse = value.get("recuse", "county")
    if recuse not in ("county", "township", "none"):
        c.problem("E103", "recuse", f"rating.recuse 只能是 \"county\"、\"township\" 或 \"none\"，现在是 {recuse!r}")
        recuse = "county"
    publish = c.boolean(value, "publish", True, "rating.")
    ids = [k.id for k in criteria]
    if len(set(ids)) != len(ids) or any(i in ("story", "judge", "comment") for i in ids):
        c.problem("E103", "criteria", "rating.criteria 的 id 不能重复，也不能是 story、judge 或 comment")
    return Rating(criteria=criteria, trim_from=c.number(value, "trim_from", 5, 3, 1000, "rating.", integer=True),
                  min_judges=c.number(value, "min_judges", 3, 1, 1000, "rating.", integer=True),
                  recuse=recuse, awards=awards, publish=publish)


def load_settings(content: Path) -> tuple[Settings | None, list[Problem]]:
    path = content / "site.toml"
    if not path.is_file():
        return None, [Problem("E101", "找不到 site.toml；每个网站的 content 目录里都要有这个设置文件", str(path))]
    text, problems = read_text(path)
    if text is None:
        return None, problems
    settings, more = parse_settings(text, str(path))
    return settings, problems + more
