"""The coverage report: which branches have told a story and which have not,
city → county → township → branch, and coverage.csv for Excel. Only with org.csv."""
from __future__ import annotations

from .. import charts
from ..coverage import rows
from ..plan import PagePlan, Planning

KINDS = ("coverage", "coverage_csv")
FACES = True  # shows no story's body (kinds/__init__.py)
URL = "coverage/"


def shape(library) -> tuple:
    """What the report shows: each branch's story count and newest date (with the registry)."""
    return tuple(tuple(r[6:]) for r in rows(library)[1:])


def plans(planning: Planning) -> list[PagePlan]:
    lib = planning.library
    if not lib.from_registry:
        return []
    deps = (lib.registry_digest, shape(lib))
    return [PagePlan(f"{URL}index.html", "coverage.html", "coverage", "讲故事情况", deps=deps),
            PagePlan(f"{URL}coverage.csv", "", "coverage_csv", "讲故事情况表", "csv", deps=deps, in_sitemap=False)]


def context(plan: PagePlan, view) -> dict:
    if plan.kind == "coverage_csv":
        return dict(rows=rows(view.library))
    report = view.coverage
    target = view.settings.coverage_target
    return dict(report=report, target=target, title="讲故事情况",
                description=f"{view.settings.city}各县（市、区）、乡镇（街道）的党支部讲故事情况：已讲 "
                            f"{report.share.told} 个，共 {report.share.total} 个；还没有讲故事的支部名单。",
                chart=charts.stacked([(c.county.name, [c.share.told, c.share.total - c.share.told])
                                      for c in report.counties], ["已讲故事", "还没有讲"], "各县（市、区）讲故事的支部"))
