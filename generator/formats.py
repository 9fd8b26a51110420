"""How each output format is written. A plan names its format; a kind only
makes the context, and the format turns plan and context into bytes. One
kind can so write several files from one context (a web page and its PDF).
"""
from __future__ import annotations

from typing import Callable

import jinja2

from .plan import PagePlan
from .render import View

Writer = Callable[[jinja2.Environment, View, PagePlan], bytes]


def _template(env: jinja2.Environment, view: View, plan: PagePlan) -> bytes:
    """The plan's template rendered with its context, as UTF-8."""
    return env.get_template(plan.template).render(view.build(plan)).encode("utf-8")


def _pdf(env: jinja2.Environment, view: View, plan: PagePlan) -> bytes:
    """The plan's template rendered, then printed to PDF (pdf.py)."""
    from .pdf import make_pdf

    page = env.get_template(plan.template).render(view.build(plan))
    settings = view.settings
    return make_pdf(page, view.files, settings.base_path, settings.anthology.pdf_font, view.root)


FORMATS: dict[str, Writer] = {"html": _template, "xml": _template, "text": _template, "pdf": _pdf}


def write(env: jinja2.Environment, view: View, plan: PagePlan) -> bytes:
    return FORMATS[plan.format](env, view, plan)
