"""Every kind of page: its plans and context on an in-memory library, and,
for all kinds at once, that a page's fingerprint changes whenever anything
the page shows changes (so an incremental build never keeps a stale page)."""
import datetime as dt

import pytest

from conftest import make_site, story
from generator.build import Options, Report, load_site
from generator.config import parse_settings
from generator.formats import FORMATS, write
from generator.incremental import fingerprints
from generator.kinds import BY_KIND, MODULES, home, lists, plan_pages, site_files
from generator.kinds import story as story_kind
from generator.library import build_library
from generator.models import BranchRow, Story
from generator.plan import PER_PAGE, Planning
from generator.registry import Registry
from generator.render import View, make_environment
from generator.session import Session

SETTINGS = parse_settings('title = "测试站"\ncity = "丽水市"\nbase_url = "/"\n')[0]
REGISTRY = Registry((BranchRow("云和县", "浮云街道", "中山村党支部"), BranchRow("云和县", "浮云街道", "长汀村党支部"),
                     BranchRow("莲都区", "碧湖镇", "堰头村党支部")))


def make(id, branch="中山村党支部", township="浮云街道", county="云和县", day=1, **kw):
    return Story(id=id, slug=id, title=f"标题{id}", county=county, township=township, branch=branch,
                 date=dt.date(2020, 1, day), source=f"stories/{id}.md", html=f"<p>{id}</p>", summary="",
                 characters=1, digest=f"digest-{id}", **kw)


def planning(*stories):
    library, problems = build_library(REGISTRY, list(stories), [])
    assert problems == []
    return Planning(library, SETTINGS, Session())


# Each kind on its own ---------------------------------------------------------------

def test_registry_names_every_kind_once():
    kinds = [k for m in MODULES for k in m.KINDS]
    assert len(kinds) == len(set(kinds)) and set(BY_KIND) == set(kinds)
    assert all(callable(m.plans) and callable(m.context) for m in MODULES)


def test_story_pages_depend_on_their_neighbours():
    p = planning(make("a", day=1), make("b", day=2), make("c", day=3))
    plans = {plan.key: plan for plan in story_kind.plans(p)}
    assert plans["b"].address == "stories/b/index.html" and plans["b"].lastmod == "2020-01-02"
    face = {s.id: s.face for s in p.library.stories.values()}  # the neighbours: as listed, not their text
    assert plans["b"].deps[:3] == ("digest-b", face["a"], face["c"])
    assert plans["a"].deps[:3] == ("digest-a", None, face["b"])
    ctx = story_kind.context(plans["b"], View(p.library, SETTINGS))
    assert (ctx["prev"].id, ctx["next"].id, ctx["branch"].url) == ("a", "c", "counties/yun-he-xian/fu-yun-jie-dao/#zhong-shan-cun-dang-zhi-bu")


def test_lists_paginate_and_name_their_stories():
    stories = [make(f"s{i:03d}", day=i % 28 + 1, standard="green") for i in range(PER_PAGE + 1)]
    p = planning(*stories)
    township = [plan for plan in lists.plans(p) if plan.kind == "township" and plan.key == "云和县/浮云街道"]
    assert [(t.address, t.number, t.total, len(t.items)) for t in township] == [
        ("counties/yun-he-xian/fu-yun-jie-dao/index.html", 1, 2, PER_PAGE),
        ("counties/yun-he-xian/fu-yun-jie-dao/page/2/index.html", 2, 2, 1)]
    ctx = lists.context(township[1], View(p.library, SETTINGS))
    assert ctx["pager"]["prev"] == "counties/yun-he-xian/fu-yun-jie-dao/" and ctx["pager"]["next"] is None
    assert [s.id for s in ctx["stories"]] == list(township[1].items)
    green = [plan for plan in lists.plans(p) if plan.kind == "standard" and plan.key == "green"]
    assert green[0].address == "standards/green/index.html" and len(green) == 2


def test_home_counts_and_features():
    p = planning(make("a", featured=True), make("b", "堰头村党支部", "碧湖镇", "莲都区", standard="green"))
    [plan] = home.plans(p)
    ctx = home.context(plan, View(p.library, SETTINGS))
    assert [s.id for s in ctx["featured"]] == ["a"] and ctx["story_count"] == 2 and ctx["branch_count"] == 3
    assert ctx["standard_counts"]["green"] == 1


def test_sitemap_lists_the_pages_planned_before_it():
    p = planning(make("a"))
    p.plans = home.plans(p) + story_kind.plans(p)
    plans = site_files.plans(p)
    sitemap = next(plan for plan in plans if plan.kind == "sitemap")
    assert sitemap.deps == (("", None), ("stories/a/", "2020-01-01"))
    assert site_files.context(sitemap, View(p.library, SETTINGS))["entries"] == sitemap.deps
    assert {plan.format for plan in plans} <= set(FORMATS)


# Dependencies: a changed page must have a changed fingerprint ---------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 8
SITE = {
    "site.toml": 'title = "测试站"\ncity = "丽水市"\nbase_url = "https://example.org/"\ndescription = "说明"\n'
                 'footer = "页脚"\n',
    "org.csv": "county,county_code,township,township_code,branch,branch_code\n"
               "云和县,331125,浮云街道,331125001,中山村党支部,331125001001\n"
               "云和县,331125,浮云街道,331125001,长汀村党支部,331125001002\n"
               "莲都区,331102,碧湖镇,331102100,堰头村党支部,331102100001\n",
    "stories/a.md": story("甲的正文。\n\n![图](/media/x.png)\n", title="甲", tags="[民宿, 党建]", standard="green",
                          featured="true", authors="[张三]", cover="/media/x.png", cover_alt="封面",
                          date="2021-01-01"),
    "stories/b.md": story("乙的正文。\n", title="乙", branch="长汀村党支部", tags="[民宿]", date="2021-02-01"),
    "stories/c.md": story("丙的正文。\n", title="丙", county="莲都区", township="碧湖镇", branch="堰头村党支部",
                          standard="story", date="2021-03-01"),
    "pages/about.md": "---\ntitle: 关于\nmenu: 1\n---\n关于本站。\n",
    "pages/rules.md": "---\ntitle: 评选办法\nmenu: 2\n---\n办法。\n",
    "anthologies/云和县/浮云街道.md": "---\ntitle: 汇编\neditor: 编者\n---\n前言。\n",
    "showcases/云和县.md": "---\naccent: \"#123456\"\n---\n云和县简介。\n",
    "ratings/judges.csv": "id,name,county\nJ1,甲,莲都区\nJ2,乙,\nJ3,丙,\n",
    "ratings/scores.csv": "story,judge,theme,truth,impact,writing\n"
                          "a,J1,20,20,10,10\na,J2,21,20,10,10\na,J3,22,20,10,10\n"
                          "b,J1,25,20,10,10\nb,J2,26,20,10,10\nb,J3,27,20,10,10\n"
                          "c,J1,28,28,18,18\nc,J2,20,20,10,10\nc,J3,21,20,10,10\n",
    "media/x.png": PNG,
}


def replace_in(name, old, new):
    def mutate(content):
        path = content / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return mutate


def without_scores(content, story_id):
    """A story that leaves the review takes its scores with it."""
    path = content / "ratings/scores.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(f"{story_id},")), encoding="utf-8")


MUTATIONS = {
    "story title": replace_in("stories/a.md", "title: 甲", "title: 甲改"),
    "story body": replace_in("stories/b.md", "乙的正文", "乙的新正文"),
    "story date": replace_in("stories/b.md", "2021-02-01", "2020-12-01"),
    "story tags": replace_in("stories/b.md", "tags: [民宿]", "tags: [民宿, 新标签]"),
    "story standard": replace_in("stories/a.md", "standard: green", "standard: archive"),
    "story featured": replace_in("stories/a.md", "featured: true", "featured: false"),
    "story authors": replace_in("stories/a.md", "[张三]", "[李四]"),
    "story cover alt": replace_in("stories/a.md", "cover_alt: 封面", "cover_alt: 新封面"),
    "story summary": replace_in("stories/c.md", "title: 丙", "summary: 摘要\ntitle: 丙"),
    "story branch": replace_in("stories/b.md", "branch: 长汀村党支部", "branch: 中山村党支部"),
    "story draft": lambda c: (replace_in("stories/c.md", "title: 丙", "draft: true\ntitle: 丙")(c),
                              without_scores(c, "c")),
    "story slug": replace_in("stories/c.md", "title: 丙", "slug: bing\ntitle: 丙"),
    "registry order": replace_in("org.csv", "中山村党支部,331125001001\n云和县,331125,浮云街道,331125001,长汀村党支部,331125001002",
                                 "长汀村党支部,331125001002\n云和县,331125,浮云街道,331125001,中山村党支部,331125001001"),
    "registry branch": replace_in("org.csv", "堰头村党支部,331102100001\n", "堰头村党支部,331102100001\n莲都区,331102,碧湖镇,331102100,新村党支部,\n"),
    "settings title": replace_in("site.toml", 'title = "测试站"', 'title = "新站名"'),
    "settings description": replace_in("site.toml", "说明", "新说明"),
    "settings footer": replace_in("site.toml", "页脚", "新页脚"),
    "settings base url": replace_in("site.toml", "https://example.org/", "https://example.org/sub/"),
    "page title": replace_in("pages/about.md", "title: 关于", "title: 关于我们"),
    "page body": replace_in("pages/about.md", "关于本站。", "关于这个网站。"),
    "page menu": replace_in("pages/about.md", "menu: 1", "menu: 3"),
    "preface title": replace_in("anthologies/云和县/浮云街道.md", "title: 汇编", "title: 新汇编"),
    "preface text": replace_in("anthologies/云和县/浮云街道.md", "前言。", "新的前言。"),
    "preface removed": lambda c: (c / "anthologies/云和县/浮云街道.md").unlink(),
    "showcase text": replace_in("showcases/云和县.md", "云和县简介。", "新的简介。"),
    "score changed": replace_in("ratings/scores.csv", "a,J3,22,", "a,J3,29,"),
    "judge's county": replace_in("ratings/judges.csv", "J1,甲,莲都区", "J1,甲,云和县"),
    "ratings hidden": replace_in("site.toml", 'footer = "页脚"\n', 'footer = "页脚"\n[rating]\npublish = false\n'),
    "story added": lambda c: (c / "stories/d.md").write_text(story("丁。\n", title="丁", date="2021-01-15"), "utf-8"),
    "story removed": lambda c: ((c / "stories/b.md").unlink(), without_scores(c, "b")),
}


def rendered(content):
    """address → (fingerprint, bytes) of every page, all in this process."""
    report, session = Report(), Session()
    site = load_site(Options(content=content, jobs=1), report, session)
    assert site is not None and report.errors == [], [str(p) for p in report.problems]
    plans = plan_pages(site.library, site.settings, session)
    prints = fingerprints(site.theme, site.settings, site.library, plans, session)
    env, view = make_environment(site.theme, site.settings), View(site.library, site.settings)
    return {p.address: (prints[p.address], write(env, view, p)) for p in plans}, {p.kind for p in plans}


@pytest.fixture(scope="module")
def before(tmp_path_factory):
    pages, kinds = rendered(make_site(tmp_path_factory.mktemp("before"), SITE))
    assert kinds == set(BY_KIND), "the site must have a page of every kind"
    return pages


@pytest.mark.parametrize("name", MUTATIONS)
def test_a_changed_page_has_a_changed_fingerprint(before, tmp_path, name):
    content = make_site(tmp_path, SITE)
    MUTATIONS[name](content)
    after, _ = rendered(content)
    changed = [a for a in before.keys() & after.keys() if before[a][1] != after[a][1]]
    assert changed or before.keys() != after.keys(), "the mutation must change something a reader sees"
    stale = [a for a in changed if before[a][0] == after[a][0]]
    assert stale == [], f"{name}: these pages changed but kept their fingerprint"


def test_kinds_that_show_no_body_are_planned_again_only_when_a_face_changes():
    """A session keeps the plans of the kinds marked FACES: an edit of a story's
    text reuses them (the same objects), an edit of its title does not."""
    import dataclasses

    session = Session()
    stories = [make("a", day=1), make("b", day=2)]

    def plans(*items):
        library, _ = build_library(REGISTRY, list(items), [])
        return {p.address: p for p in plan_pages(library, SETTINGS, session)}

    first = plans(*stories)
    body = dataclasses.replace(stories[0], html="<p>改过的正文</p>", digest="digest-a2")
    second = plans(body, stories[1])
    assert second["counties/index.html"] is first["counties/index.html"]
    assert second["index.html"] is first["index.html"]
    assert second["stories/a/index.html"].deps != first["stories/a/index.html"].deps
    title = dataclasses.replace(stories[0], title="新标题", digest="digest-a3")
    third = plans(title, stories[1])
    assert third["index.html"] is not first["index.html"]
    assert third["index.html"].deps != first["index.html"].deps
    assert all(getattr(m, "FACES", False) == (m not in (story_kind, site_files) and m.__name__ != "generator.kinds.anthologies")
               for m in MODULES)
