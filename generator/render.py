"""The Jinja environment, theme lookup, and the one function that builds a
page's context."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from .chinese import format_date, reading_minutes
from .config import Settings
from .errors import Problem, did_you_mean
from .kinds import BY_KIND, anthologies, coverage, lists, ratings, site_files
from .search import URL as SEARCH
from .models import Library, Story
from .pictures import picture
from .ratings import two_decimals
from .plan import PagePlan

# Addresses of the pages there is one of, for templates: no template spells an address.
ADDRESSES = {"home": "", "counties": lists.URL, "feed": site_files.FEED, "sitemap": site_files.SITEMAP,
             "ratings": ratings.URL, "results_csv": f"{ratings.URL}results.csv",
             "coverage": coverage.URL, "coverage_csv": f"{coverage.URL}coverage.csv", "search": SEARCH}

BUILTIN_THEMES = Path(__file__).resolve().parent.parent / "themes"


@dataclass(frozen=True)
class Theme:
    name: str
    template_dirs: tuple[Path, ...]  #: searched in order: the site's own theme first
    static_dirs: tuple[Path, ...]  #: copied in order: later ones override earlier files


def find_theme(site_root: Path, name: str, settings_file: str = "site.toml") -> tuple[Theme | None, list[Problem]]:
    """A site's themes/<name>/ overrides single files of the built-in theme of
    the same name, and every theme falls back to the built-in default."""
    layers = [d for d in (site_root / "themes" / name, BUILTIN_THEMES / name) if d.is_dir()]
    if layers and name != "default":  # a county's theme inherits the site's own default overrides too
        layers += [d for d in (site_root / "themes" / "default",) if d.is_dir()]
    if not layers:
        known = sorted({p.name for root in (site_root / "themes", BUILTIN_THEMES) if root.is_dir()
                        for p in root.iterdir() if p.is_dir()})
        hint = did_you_mean(name, known) or "；可用的主题：" + "、".join(known)
        return None, [Problem("E501", f"找不到主题“{name}”{hint}", settings_file, None)]
    if BUILTIN_THEMES / "default" not in layers:
        layers.append(BUILTIN_THEMES / "default")
    return Theme(name, tuple(d / "templates" for d in layers if (d / "templates").is_dir()),
                 tuple(d / "static" for d in reversed(layers) if (d / "static").is_dir())), []


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox: a template cannot reach Python internals (no
    `__class__.__mro__`…, no unsafe callables). Whether an attribute is safe
    depends only on the object's type and the name, so the answer is kept:
    that brings the sandbox's cost down from about half a plain render's to a
    quarter (docs/security.md)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._safe: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        try:
            return self._safe[key]
        except KeyError:
            safe = self._safe[key] = super().is_safe_attribute(obj, attr, value)
            return safe


def make_environment(theme: Theme, settings: Settings, templates_cache: Path | None = None) -> jinja2.Environment:
    bytecode = None
    if templates_cache is not None:
        try:
            templates_cache.mkdir(parents=True, exist_ok=True)
            bytecode = jinja2.FileSystemBytecodeCache(str(templates_cache))  # keyed by template source: safe
        except OSError:
            pass  # compiled templates are only a speed-up
    env = _Sandbox(
        loader=jinja2.FileSystemLoader([str(d) for d in theme.template_dirs]), bytecode_cache=bytecode,
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    base_path, base_url = settings.base_path, settings.base_url
    env.globals.update(
        addresses=ADDRESSES,
        url=lambda path="": base_path + path.lstrip("/"),
        abs_url=lambda path="": base_url + path.lstrip("/"),
        picture=picture,
    )
    env.filters.update(cn_date=format_date, reading_minutes=reading_minutes, css_string=css_string,
                       two_decimals=two_decimals)
    return env


def css_string(text: str) -> Markup:
    """Text as a quoted CSS string, safe inside <style>: every character that
    could end the string, the rule or the element is escaped."""
    escaped = "".join(c if c.isalnum() or ord(c) > 127 or c in " -_.,:;!?" else f"\\{ord(c):x} " for c in str(text))
    return Markup(f'"{escaped}"')


def template_fingerprints(env: jinja2.Environment) -> dict[str, str]:
    """name → hash of the template and of every template it extends, includes
    or imports, so that editing one template re-renders only the pages using it.
    A template naming others dynamically depends on all of them."""
    import hashlib

    from jinja2 import meta

    names = env.list_templates()
    sources = {n: env.loader.get_source(env, n)[0] for n in names}
    refs: dict[str, set[str]] = {}
    for name, source in sources.items():
        try:
            found = set(meta.find_referenced_templates(env.parse(source)))
        except jinja2.TemplateSyntaxError:
            found = {None}  # rendering will report it; until then, depend on everything
        refs[name] = set(names) if None in found else {r for r in found if r in sources}

    def closure(name: str) -> set[str]:
        seen, todo = {name}, [name]
        while todo:
            for ref in refs.get(todo.pop(), ()):
                if ref not in seen:
                    seen.add(ref)
                    todo.append(ref)
        return seen

    return {n: hashlib.blake2b(repr(sorted((m, sources[m]) for m in closure(n))).encode(), digest_size=12).hexdigest()
            for n in names}


def site_nav(library: Library, settings: Settings) -> list[tuple[str, str]]:
    """The menu on every page: (label, address)."""
    menu = sorted((p for p in library.pages if p.menu is not None), key=lambda p: (p.menu, p.slug))
    nav = [("首页", ""), ("县（市、区）", lists.URL), ("乡镇汇编", anthologies.URL)]
    if ratings.published(library, settings) is not None:
        nav.append(("展评结果", ratings.URL))
    return nav + [(p.title, p.url) for p in menu] + [("搜索", SEARCH)]


class View:
    """What every page's context is made from: the library, the settings and
    the lookups all kinds use, made once per render. `build(plan)` is the one
    place a page's context is made: what every page has, plus its kind's own."""

    def __init__(self, library: Library, settings: Settings, files: dict[str, Path] | None = None,
                 root: Path | None = None):
        self.library, self.settings = library, settings
        self.files = files or {}  #: address → source of every file copied into the site (for a PDF's images)
        self.root = root  #: the site's folder (content/'s parent), where pdf_font is looked for
        self.tag_by_name = {t.name: t for t in library.tags}
        self.standard_by_id = {s.id: s for s in settings.standards}
        self.townships = {(c.name, t.name): (c, t) for c in library.counties for t in c.townships}
        self.nav = site_nav(library, settings)

    @cached_property
    def standard_counts(self) -> dict[str, int]:
        counts = {s.id: 0 for s in self.settings.standards}
        for story in self.library.stories.values():
            if story.standard:
                counts[story.standard] += 1
        return counts

    def stories(self, ids) -> list[Story]:
        return [self.library.stories[i] for i in ids]

    def build(self, plan: PagePlan) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "site": self.settings, "plan": plan, "nav": self.nav, "page_url": plan.url,
            "standards": self.settings.standards, "standard_by_id": self.standard_by_id,
            "tag_by_name": self.tag_by_name, "title": "", "description": "",
        }
        ctx.update(BY_KIND[plan.kind].context(plan, self))
        return ctx


def template_problem(exc: Exception, plan: PagePlan) -> Problem:
    """A template failure as a problem that names the template file and line."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return Problem("E502", f"模板语法错误：{exc.message}", exc.filename or exc.name, exc.lineno)
    if isinstance(exc, jinja2.TemplateNotFound):
        return Problem("E502", f"主题缺少模板 {exc.name}（生成 /{plan.address} 时需要）")
    return Problem("E502", f"生成 /{plan.address} 时模板出错：{type(exc).__name__}: {exc}",
                   _template_file(exc), _template_line(exc))


def _template_file(exc: Exception) -> str | None:
    tb = exc.__traceback__
    found = None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".html", ".xml", ".txt")):
            found = name
        tb = tb.tb_next
    return found


def _template_line(exc: Exception) -> int | None:
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith((".html", ".xml", ".txt")):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
