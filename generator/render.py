"""The Jinja environment, theme lookup, and the one function that builds a
page's context."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import BuiltinMethodType
from typing import Any

import jinja2
from jinja2.compiler import CodeGenerator
from jinja2.runtime import Macro
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import internalcode
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


_FORMAT = ("format", "format_map")

try:
    from markupsafe._speedups import _escape_inner
except ImportError:  # markupsafe without its C extension
    from markupsafe._native import _escape_inner


def _escaped_text(value: Any) -> str:
    """What markupsafe.escape returns, as a plain str: for the text a template
    writes out with {{ … }}, which is only ever joined into the page (or a
    macro's or block's output, made Markup as a whole). Making each piece a
    Markup first costs more than escaping it."""
    if type(value) is str:
        return _escape_inner(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return _escape_inner(str(value))


class _CodeGenerator(CodeGenerator):
    """Jinja's compiler, with one change: text written out is escaped by
    `_escaped_text` (same characters, no Markup object for each piece)."""

    def _output_child_pre(self, node, frame, finalize) -> None:
        if frame.eval_ctx.autoescape and not frame.eval_ctx.volatile:
            self.write("environment.escaped_text(")
            if finalize.src is not None:
                self.write(finalize.src)
        else:
            super()._output_child_pre(node, frame, finalize)


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates, named apart from plain Jinja's (ours are compiled by `_CodeGenerator`)."""

    def __init__(self, directory: str):
        super().__init__(directory, "__gushihui_1_%s.cache")


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox: a template cannot reach Python internals (no
    `__class__.__mro__`…, no unsafe callables). Whether an attribute is safe
    depends only on the object's type and the name, so the answer is kept:
    that brings the sandbox's cost down from about half a plain render's to a
    quarter (docs/security.md). The checks are the sandbox's own, only
    answered once: `getattr` and `call` below take a short way for what has
    been found safe before, and the sandbox's way for everything else."""

    code_generator_class = _CodeGenerator

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.escaped_text = _escaped_text
        self._safe: dict[tuple[type, str], bool] = {}
        self._fast: set[tuple[type, str]] = set()  #: safe, and not a str.format that must be wrapped
        #: functions of ours in the globals: plain, safe, taking no context
        self._plain_callables: set[int] = set()
        #: templates checked for changes on disk in this pass (see `new_pass`)
        self._checked: dict[str, jinja2.Template] = {}
        self._pass: object = None
        #: (macro, its arguments) → its output, for macros marked with `memoized` (bounded)
        self.memo: dict[tuple, Markup] = {}

    def make_globals(self, d):
        """A template's globals as a plain dict, not Jinja's ChainMap over the
        environment's: every render copies them twice, and a ChainMap copies
        slowly. make_environment sets every global before a template loads."""
        return {**self.globals, **(d or {})}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        try:
            return self._safe[key]
        except KeyError:
            safe = self._safe[key] = super().is_safe_attribute(obj, attr, value)
            if safe and attr not in _FORMAT:
                self._fast.add(key)
            return safe

    def getattr(self, obj: Any, attribute: str) -> Any:
        # What the sandbox would return, for an attribute found safe before:
        # the value itself (a str.format method is never in _fast: it is wrapped).
        if (type(obj), attribute) in self._fast:
            try:
                return getattr(obj, attribute)
            except AttributeError:
                pass  # the sandbox tries obj[attribute], then gives an undefined
        return super().getattr(obj, attribute)

    @internalcode
    def call(__self, __context, __obj, *args, **kwargs):  # Jinja's own signature
        # Our own functions, macros and builtin methods (a date's isoformat…)
        # are safe and take no context: call them as Context.call would.
        kind = type(__obj)
        if kind is Macro or kind is _Memoized or id(__obj) in __self._plain_callables or (
                kind is BuiltinMethodType and __obj.__name__ not in _FORMAT):
            kwargs.pop("_loop_vars", None)
            kwargs.pop("_block_vars", None)
            try:
                return __obj(*args, **kwargs)
            except StopIteration:
                return __self.undefined("value was undefined because a callable raised a StopIteration exception")
        return super().call(__context, __obj, *args, **kwargs)

    def plain_globals(self, **functions) -> None:
        """Add plain functions (no pass_context, nothing unsafe) to the globals."""
        self.globals.update(functions)
        self._plain_callables.update(id(f) for f in functions.values())

    def new_pass(self, token: object) -> None:
        """A new render pass (a build): templates are checked for changes on
        disk once in a pass, not once a page (a stat of each template a page
        extends or imports costs a tenth of a story page)."""
        if token is not self._pass:
            self._pass = token
            self._checked = {}

    def _load_template(self, name, globals):
        if not globals:
            template = self._checked.get(name)
            if template is not None:
                return template
        template = super()._load_template(name, globals)
        if self._pass is not None and not globals:
            self._checked[name] = template
        return template


MEMO_SIZE = 20_000  # outputs kept per environment: a card and its key take about 0.9 kB (18 MB in all)


class _Memoized:
    """A macro whose output depends only on its arguments (a macro imported
    without context sees nothing else), rendered once for each distinct call
    in an environment (a worker process keeps its environment for a preview's
    life). A story is known by its id, digest (its text, place and pictures)
    and slug, never by its body; other arguments by type and value, and when
    one is unhashable the macro is simply called. The key holds the macro
    itself: a template changed on disk is loaded as new macros."""

    __slots__ = ("_env", "_macro")  # underscored: out of a template's reach

    def __init__(self, env: _Sandbox, macro: Macro):
        self._env, self._macro = env, macro

    def __call__(self, *args, **kwargs):
        try:
            key = (self._macro,
                   *(("story", a.id, a.digest, a.slug) if isinstance(a, Story) else (type(a), a) for a in args),
                   *((k, type(v), v) for k, v in sorted(kwargs.items())))
            found = self._env.memo.get(key)
        except TypeError:  # an unhashable argument
            return self._macro(*args, **kwargs)
        if found is None:
            found = self._macro(*args, **kwargs)
            memo = self._env.memo
            if len(memo) >= MEMO_SIZE:
                del memo[next(iter(memo))]  # the oldest
            memo[key] = found
        return found


def _memoized(env: _Sandbox):
    """For templates: `{% set story_card = memoized(story_card) %}` after a
    macro makes each distinct call of it render once (`_Memoized`)."""
    def memoized(macro):
        return _Memoized(env, macro) if type(macro) is Macro else macro

    return memoized


def make_environment(theme: Theme, settings: Settings, templates_cache: Path | None = None) -> jinja2.Environment:
    bytecode = None
    if templates_cache is not None:
        try:
            templates_cache.mkdir(parents=True, exist_ok=True)
            bytecode = _BytecodeCache(str(templates_cache))  # keyed by template source: safe
        except OSError:
            pass  # compiled templates are only a speed-up
    env = _Sandbox(
        loader=jinja2.FileSystemLoader([str(d) for d in theme.template_dirs]), bytecode_cache=bytecode,
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    base_path, base_url = settings.base_path, settings.base_url
    env.globals.update(addresses=ADDRESSES)
    env.plain_globals(
        url=lambda path="": base_path + path.lstrip("/"),
        abs_url=lambda path="": base_url + path.lstrip("/"),
        picture=picture,
        memoized=_memoized(env),
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
        self._once: dict[str, Any] = {}

    @cached_property
    def standard_counts(self) -> dict[str, int]:
        counts = {s.id: 0 for s in self.settings.standards}
        for story in self.library.stories.values():
            if story.standard:
                counts[story.standard] += 1
        return counts

    @cached_property
    def coverage(self):
        """Who has told a story (coverage.py), on the pages that show it; None without org.csv."""
        from .coverage import coverage as report

        return report(self.library) if self.library.from_registry else None

    def once(self, name: str, make):
        """A value every page of some kind reads, made by `make()` once per
        view (per build and worker): e.g. the ranking grouped by county."""
        try:
            return self._once[name]
        except KeyError:
            value = self._once[name] = make()
            return value

    def branch(self, town, name: str):
        """The township's branch of that name."""
        branches = self.once("branches", dict)
        try:
            return branches[(town.county, town.name, name)]
        except KeyError:
            for b in town.branches:
                branches[(town.county, town.name, b.name)] = b
            return branches[(town.county, town.name, name)]

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
