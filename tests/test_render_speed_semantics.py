"""What the render's shortcuts must not change: cards rendered once are the
cards a story has now, a theme's own macros are its own, the sandbox refuses
what it refused, escaping is escaping, templates changed between builds are
read again, two decimals are exact, and a book's ids are made unique as before."""
from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import SecurityError
from markupsafe import Markup

from generator import render
from generator.kinds.anthologies import _own_ids
from generator.models import Story
from generator.ratings import Result, two_decimals
from generator.render import BUILTIN_THEMES, Theme, View, make_environment


def make(id: str = "a", title: str = "标题", digest: str = "d1", **fields) -> Story:
    return Story(id=id, slug=id, title=title, county="云和县", township="浮云街道", branch="中山村党支部",
                 date=dt.date(2021, 6, 1), source=f"stories/{id}.md", html="<p>正文</p>", summary="摘要",
                 characters=2, digest=digest, **fields)


def theme(*dirs: Path) -> Theme:
    return Theme("default", (*dirs, BUILTIN_THEMES / "default" / "templates"), ())


LIST = '{% from "_macros.html" import story_list %}{{ story_list(stories, level=2) }}'


def test_a_card_is_made_once_and_again_when_the_story_changes(settings):
    env = make_environment(theme(), settings)
    first = env.from_string(LIST).render(stories=[make()])
    assert "标题" in first and len(env.memo) == 1
    assert env.from_string(LIST).render(stories=[make()]) == first and len(env.memo) == 1
    # The same story edited (a new digest): its card shows the edit.
    edited = env.from_string(LIST).render(stories=[make(title="新标题", digest="d2")])
    assert "新标题" in edited and "<h2" in edited
    # Other arguments make other cards.
    other = env.from_string('{% from "_macros.html" import story_card %}{{ story_card(s, false) }}').render(s=make())
    assert "云和县 ·" not in other and "<h3" in other


def test_the_memo_is_bounded(settings, monkeypatch):
    monkeypatch.setattr(render, "MEMO_SIZE", 3)
    env = make_environment(theme(), settings)
    page = env.from_string(LIST).render(stories=[make(str(i), digest=str(i)) for i in range(10)])
    assert len(env.memo) == 3 and page.count("<article") == 10


def test_an_unhashable_argument_is_simply_rendered(settings):
    env = make_environment(theme(), settings)
    out = env.from_string('{% from "_macros.html" import story_card %}{{ story_card(s, [1]) }}').render(s=make())
    assert "标题" in out and env.memo == {}


def test_a_theme_overriding_the_macros_has_its_own_cards(settings, tmp_path):
    own = tmp_path / "templates"
    own.mkdir()
    (own / "_macros.html").write_text(
        (BUILTIN_THEMES / "default" / "templates" / "_macros.html").read_text(encoding="utf-8")
        .replace('<p class="summary">', '<p class="summary mine">'), encoding="utf-8")
    plain = make_environment(theme(), settings).from_string(LIST).render(stories=[make()])
    mine = make_environment(theme(own), settings).from_string(LIST).render(stories=[make()])
    assert "summary mine" in mine and "summary mine" not in plain
    # A theme whose macros do not ask for the memo works as before.
    (own / "_macros.html").write_text('{% macro story_card(story, show_place=true, level=3) %}<i>{{ story.title }}'
                                      '</i>{% endmacro %}{% macro story_list(stories, level=3) %}{% for s in stories %}'
                                      '{{ story_card(s) }}{% endfor %}{% endmacro %}', encoding="utf-8")
    env = make_environment(theme(own), settings)
    assert env.from_string(LIST).render(stories=[make()]) == "<i>标题</i>" and env.memo == {}


def test_a_template_changed_between_builds_is_read_again(settings, tmp_path):
    """A preview's worker keeps its environment; each build has a new view."""
    from generator import formats
    from generator.plan import PagePlan

    own = tmp_path / "templates"
    own.mkdir()
    (own / "404.html").write_text("one", encoding="utf-8")
    env = make_environment(theme(own), settings)
    plan = PagePlan("404.html", "404.html", "notfound", "404")

    class Library:  # what View reads of it
        tags, pages, counties, stories, ratings = (), (), (), {}, None

    view = View(Library(), settings)
    assert formats.write(env, view, plan) == b"one"
    (own / "404.html").write_text("two, longer", encoding="utf-8")
    assert formats.write(env, View(Library(), settings), plan) == b"two, longer"


def test_the_sandbox_still_refuses(settings):
    env = make_environment(theme(), settings)
    story = make()
    for source in ("{{ s.__class__ }}", "{{ s.title.__class__.__mro__ }}"):
        with pytest.raises(SecurityError):
            env.from_string(source + source).render(s=story)  # twice: the second from what was learnt
    with pytest.raises(SecurityError):
        env.from_string('{{ "{0.__class__}".format(s) }}{{ "{0.__class__}".format(s) }}').render(s=story)

    def unsafe():
        return "ran"
    unsafe.unsafe_callable = True
    with pytest.raises(SecurityError):
        env.from_string("{{ f() }}").render(f=unsafe)
    # The memo is out of a template's reach.
    with pytest.raises(SecurityError):
        env.from_string('{% from "_macros.html" import story_card %}{{ story_card._env }}').render()
    # Safe things still work, the short way or not.
    assert env.from_string("{{ s.date.isoformat() }} {{ '{}'.format(1) }} {{ s.title|upper }}").render(s=story) \
        == "2021-06-01 1 标题"


def test_escaping_is_unchanged(settings):
    env = make_environment(theme(), settings)
    out = env.from_string("{{ a }}|{{ b }}|{{ c }}|{{ d }}|{% set x %}<{{ a }}>{% endset %}{{ x }}|{{ m() }}").render(
        a='<a href="x">&\'', b=Markup("<b>ok</b>"), c=3, d=None, m=lambda: Markup("<i>&amp;</i>"))
    assert out == ("&lt;a href=&#34;x&#34;&gt;&amp;&#39;|<b>ok</b>|3|None|"
                   "<&lt;a href=&#34;x&#34;&gt;&amp;&#39;>|<i>&amp;</i>")
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ nothing }}").render()


def test_two_decimals_rounds_half_up_exactly():
    def reference(value: Fraction) -> str:
        with localcontext() as ctx:
            ctx.prec = 60
            return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP))

    values = [Fraction(n, d) for n in range(-300, 301, 7) for d in (1, 2, 3, 4, 6, 7, 8, 40, 200, 400, 1000)]
    values += [Fraction(1, 8), Fraction(-1, 8), Fraction(-1, 1000), Fraction(0), Fraction(99995, 1000)]
    for value in values:
        assert two_decimals(value) == reference(value), value
    assert two_decimals(Fraction(1, 8)) == "0.13" and two_decimals(Fraction(-1, 1000)) == "-0.00"
    result = Result("a", Fraction(2345, 100), 3, 3, False)
    assert result.shown == "23.45" and result.shown is result.shown
    assert Result("b", None, 1, 1, False).shown == ""


def test_a_books_ids_are_made_unique_as_before():
    old = re.compile(r'(\sid="|\shref="#)')
    for html in ('<h2 id="a">x</h2><a href="#a">y</a>', '<p\nid="n">', '<p\u3000id="x">', '<i data-id="k">',
                 'id="start"', '<a\thref="#t" href="/x">', '<code> id="text"</code>'):
        assert _own_ids(html, "s") == old.sub(lambda m: f"{m.group(1)}s--", html), html


def test_view_lookups(settings):
    from generator.models import BranchNode, Township

    town = Township("浮云街道", "fu-yun", "1", "云和县", "yun-he", (BranchNode("甲", "1", ()), BranchNode("乙", "2", ())), ())

    class Library:
        tags, pages, counties, stories, ratings, from_registry = (), (), (), {}, None, False

    view = View(Library(), settings)
    assert view.branch(town, "乙").code == "2" and view.branch(town, "甲").code == "1"
    made = []
    assert view.once("x", lambda: made.append(1) or "v") == view.once("x", lambda: made.append(1) or "w") == "v"
    assert made == [1] and view.coverage is None


def test_a_stored_story_is_known_by_its_digest_not_its_body(settings):
    """A story whose body is in the body store: its card is made without reading it."""
    from generator.models import StoredStory

    stored = StoredStory.of(make(), "no-such-key")  # reading the body would fail
    env = make_environment(theme(), settings)
    assert "标题" in env.from_string(LIST).render(stories=[stored])
    assert any(part == ("story", "a", "d1", "a") for key in env.memo for part in key)
