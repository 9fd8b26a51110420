import datetime as dt
from dataclasses import replace

from generator import library
from generator.library import build_library
from generator.models import BranchRow, Story
from generator.registry import Registry
from generator.session import Session

ROWS = (BranchRow("云和县", "浮云街道", "中山村党支部"), BranchRow("云和县", "浮云街道", "长汀村党支部"),
        BranchRow("莲都区", "碧湖镇", "堰头村党支部"))
REGISTRY = Registry(ROWS)


def make(id, branch="中山村党支部", township="浮云街道", county="云和县", date=(2020, 1, 1), draft=False, tags=()):
    return Story(id=id, slug=id, title=id, county=county, township=township, branch=branch,
                 date=dt.date(*date), source=f"stories/{id}.md", html="", summary="", characters=0,
                 draft=draft, tags=tags, lines={"id": 3, "county": 4, "township": 5, "branch": 6})


def test_stories_follow_registry_order_then_date():
    stories = [make("c", "堰头村党支部", "碧湖镇", "莲都区"), make("b", "长汀村党支部"),
               make("a2", date=(2021, 1, 1)), make("a1", date=(2019, 1, 1))]
    lib, problems = build_library(REGISTRY, stories, [])
    assert problems == []
    assert list(lib.stories) == ["a1", "a2", "b", "c"]
    town = lib.counties[0].townships[0]
    assert town.url == "counties/yun-he-xian/fu-yun-jie-dao/"
    assert [(b.name, b.story_ids) for b in town.branches] == [("中山村党支部", ("a1", "a2")), ("长汀村党支部", ("b",))]
    assert lib.coverage() == (3, 3)


def test_names_not_in_registry_are_errors_at_the_field_line():
    lib, problems = build_library(REGISTRY, [make("x", branch="中山党支部")], [])
    assert [(p.code, p.line) for p in problems] == [("E307", 6)]
    assert lib.stories == {}


def test_duplicate_id_names_the_first_file():
    a, b = make("same"), make("same", "长汀村党支部")
    b = replace(b, source="stories/z/same.md")
    lib, problems = build_library(REGISTRY, [b, a], [])
    assert [(p.code, p.file, p.line) for p in problems] == [("E308", "stories/z/same.md", 3)]
    assert "stories/same.md" in problems[0].message
    assert list(lib.stories) == ["same"]


def test_drafts_only_with_the_flag():
    stories = [make("a"), make("d", draft=True)]
    assert list(build_library(REGISTRY, stories, [])[0].stories) == ["a"]
    assert list(build_library(REGISTRY, stories, [], drafts=True)[0].stories) == ["a", "d"]


def test_without_registry_the_stories_make_it():
    lib, problems = build_library(None, [make("b", "长汀村党支部"), make("a")], [])
    assert problems == [] and not lib.from_registry
    assert [b.name for b in lib.counties[0].townships[0].branches] == ["中山村党支部", "长汀村党支部"]


def test_tags_sorted_by_pinyin_with_members_in_display_order():
    lib, _ = build_library(REGISTRY, [make("b", "长汀村党支部", tags=("民宿", "党建")), make("a", tags=("民宿",))], [])
    assert [(t.name, t.slug, t.story_ids) for t in lib.tags] == [("党建", "dang-jian", ("b",)),
                                                                ("民宿", "min-su", ("a", "b"))]


def test_county_slug_collision_is_an_error():
    rows = [BranchRow("云和县", "甲镇", "甲"), BranchRow("芸禾县", "乙镇", "乙")]  # both yun-he-xian
    _, problems = build_library(Registry(tuple(rows)), [], [], registry_file="content/org.csv")
    assert [(p.code, p.file) for p in problems] == [("E401", "content/org.csv")]


def test_same_shape_reuses_the_arrangement_with_the_new_stories(monkeypatch):
    arranged = []
    real = library._arrange
    monkeypatch.setattr(library, "_arrange", lambda *a: arranged.append(1) or real(*a))
    session = Session()
    build_library(REGISTRY, [make("a"), make("b", "长汀村党支部")], [], memo=session)
    edited = replace(make("a"), title="新标题", html="<p>新</p>")
    again, problems = build_library(Registry(ROWS), [edited, make("b", "长汀村党支部")], [], memo=session)
    assert problems == [] and len(arranged) == 1  # an equal registry and the same shape: arranged once
    assert again == build_library(REGISTRY, [edited, make("b", "长汀村党支部")], [])[0]
    assert again.stories["a"].title == "新标题" and list(again.stories) == ["a", "b"]
    moved = replace(make("a"), date=dt.date(2030, 1, 1), branch="长汀村党支部")
    third, _ = build_library(REGISTRY, [moved, make("b", "长汀村党支部")], [], memo=session)
    assert len(arranged) == 3 and list(third.stories) == ["b", "a"]  # a story moved: arranged anew
    assert third.neighbours == {"b": (None, "a"), "a": ("b", None)}


def test_story_plans_name_their_own_file():
    """Equal text at the same place in two sites: each plan names its own site's file."""
    from generator.config import parse_settings
    from generator.kinds import plan_pages

    settings, _ = parse_settings('title="t"\ncity="c"\nbase_url="/"\n')
    session = Session()  # one session, as a preview that is pointed at another site
    for site in ("site-a", "site-b"):
        story = replace(make("a"), source=f"{site}/stories/a.md", digest="same")
        lib, _ = build_library(REGISTRY, [story], [], memo=session)
        plan = next(p for p in plan_pages(lib, settings, session) if p.kind == "story")
        assert plan.file == f"{site}/stories/a.md" and site in plan.label
