"""How each output format is written. A plan names its format; a kind only
makes the context, and the format turns plan and context into bytes. One
kind can so write several files from one context (a web page and its PDF).
"""
from __future__ import annotations

import csv
import io
import posixpath
import re
from typing import Callable

import jinja2

from .models import BASE
from .pictures import LOADING, finish_page, for_print
from .plan import PagePlan
from .render import View

Writer = Callable[[jinja2.Environment, View, PagePlan], bytes]


def _rendered(env: jinja2.Environment, view: View, plan: PagePlan) -> str:
    return env.get_template(plan.template).render(view.build(plan))


def _page(env: jinja2.Environment, view: View, plan: PagePlan) -> str:
    """The plan's template rendered with its context; links in story HTML get
    the site's base path, pictures their loading (pictures.py); with
    relative_urls, every address of the site is made relative to the page."""
    settings = view.settings
    page = finish_page(_rendered(env, view, plan)).replace(BASE, settings.base_path)
    return relative_addresses(page, plan.address, settings.base_path) if settings.relative_urls else page


_ADDRESS = re.compile(r'\b(href|src|srcset|action|poster)="([^"]*)"')


def relative_addresses(page: str, address: str, base_path: str) -> str:
    """Every address of the site in `page` (they start with base_path) made
    relative to the page at `address`, a folder's naming its index.html: a
    browser reading files from a disk, a USB stick or a CD opens no folder."""
    here = posixpath.dirname(address)

    def relative(url: str) -> str:
        if not url.startswith(base_path) or url.startswith("//"):
            return url  # another host, a data: picture, a fragment of this page
        tail = url[len(base_path):]
        cut = min((i for i in (tail.find("#"), tail.find("?")) if i >= 0), default=len(tail))
        path, rest = tail[:cut], tail[cut:]
        if path == "" or path.endswith("/"):
            path += "index.html"
        return posixpath.relpath(path, here or ".") + rest

    def attribute(match: re.Match) -> str:
        name, value = match.groups()
        if name == "srcset":
            value = ", ".join(" ".join([relative(c.split(" ", 1)[0]), *c.split(" ", 1)[1:]])
                              for c in value.split(", "))
        else:
            value = relative(value)
        return f'{name}="{value}"'

    return _ADDRESS.sub(attribute, page)


def _template(env: jinja2.Environment, view: View, plan: PagePlan) -> bytes:
    return _page(env, view, plan).encode("utf-8")


def _xml(env: jinja2.Environment, view: View, plan: PagePlan) -> bytes:
    """A feed's entries carry story HTML: its links and pictures get absolute addresses."""
    page = _rendered(env, view, plan).replace(LOADING, "").replace(BASE, view.settings.base_url)
    return page.encode("utf-8")


def _pdf(env: jinja2.Environment, view: View, plan: PagePlan) -> bytes:
    """The plan's template rendered, then printed to PDF (pdf.py)."""
    from .pdf import make_pdf

    page = for_print(_rendered(env, view, plan)).replace(BASE, view.settings.base_path)
    settings = view.settings
    return make_pdf(page, view.files, settings.base_path, settings.anthology.pdf_font, view.root)


def _csv(env: jinja2.Environment, view: View, plan: PagePlan) -> bytes:
    """The context's rows as CSV for Excel: UTF-8 with a byte-order mark, CRLF line ends."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(view.build(plan)["rows"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


FORMATS: dict[str, Writer] = {"html": _template, "xml": _xml, "text": _template, "pdf": _pdf, "csv": _csv}


def write(env: jinja2.Environment, view: View, plan: PagePlan) -> bytes:
    new_pass = getattr(env, "new_pass", None)
    if new_pass is not None:
        new_pass(view)  # a view is made for each build: its templates are checked on disk once
    return FORMATS[plan.format](env, view, plan)
