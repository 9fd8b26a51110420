"""parse_story and parse_page are pure: these tests need no disk."""
import datetime as dt
import re

import pytest

from generator.models import BASE
from generator.reader import parse_page, parse_story

HEAD = "---\ntitle: 民情地图\ncounty: 云和县\ntownship: 浮云街道\nbranch: 中山村党支部\ndate: 2017-03-15\n"


def story(extra: str = "", body: str = "正文。", settings=None, location="stories/yh/fuyun-map.md"):
    return parse_story(HEAD + extra + "---\n\n" + body + "\n", "content/" + location, settings, location)


def codes(problems):
    return [(p.code, p.line) for p in problems]


def test_full_frontmatter(settings):
    s, problems = story("authors: [封平, 陈一良]\nstandard: 管好党建基础档案\ntags: [民情地图, 美丽乡村]\n"
                        "featured: true\ncover: /media/a.jpg\ncover_alt: 地图\ncover_caption: 绘制中。\n",
                        settings=settings)
    assert problems == []
    assert (s.id, s.slug, s.url) == ("fuyun-map", "fuyun-map", "stories/fuyun-map/")
    assert s.date == dt.date(2017, 3, 15)
    assert s.authors == ("封平", "陈一良") and s.tags == ("民情地图", "美丽乡村")
    assert s.standard == "archive" and s.featured and not s.draft
    assert (s.cover.url, s.cover.alt, s.cover.caption) == ("media/a.jpg", "地图", "绘制中。")
    assert s.lines["date"] == 6


def test_standard_by_id_and_authors_as_one_string(settings):
    s, problems = story("standard: discipline\nauthors: 封平、陈一良\n", settings=settings)
    assert problems == []
    assert s.standard == "discipline" and s.authors == ("封平", "陈一良")


def test_chinese_file_name_gives_pinyin_slug(settings):
    s, _ = story(settings=settings, location="stories/yh/长汀先锋.md")
    assert (s.id, s.slug) == ("长汀先锋", "chang-ting-xian-feng")


def test_missing_required_fields_each_reported(settings):
    s, problems = parse_story("---\ntitle: 甲\n---\n\n正文\n", "a.md", settings)
    assert s is None
    assert sorted(p.message for p in problems if p.code == "E302") == sorted(
        f"缺少必填字段“{k}”" + ("（格式：2017-03-15）" if k == "date" else "") for k in ("county", "township", "branch", "date"))


@pytest.mark.parametrize("value, code", [("2017-02-30", "E303"), ("2017/03/15", "E303"), ("'20170315'", "E303")])
def test_bad_dates_point_at_the_date_line(settings, value, code):
    text = HEAD.replace("2017-03-15", value) + "---\n正文\n"
    s, problems = parse_story(text, "a.md", settings)
    assert s is None and codes(problems) == [(code, 6)]


def test_unknown_field_is_a_warning_with_correction(settings):
    s, problems = story("featurd: true\n", settings=settings)
    assert s is not None
    assert codes(problems) == [("W315", 7)] and "featured" in problems[0].message


def test_unknown_standard_suggests(settings):
    _, problems = story("standard: 管好党建档案\n", settings=settings)
    assert codes(problems) == [("E309", 7)] and "管好党建基础档案" in problems[0].message


def test_wrong_types(settings):
    _, problems = story("featured: 是\ntags: {a: 1}\n", settings=settings)
    assert sorted(codes(problems)) == [("E304", 7), ("E304", 8)]


def test_no_frontmatter_and_unclosed_frontmatter(settings):
    assert codes(parse_story("正文\n", "a.md", settings)[1]) == [("E301", 1)]
    assert codes(parse_story("---\ntitle: a\n", "a.md", settings)[1]) == [("E301", 1)]


def test_bad_slug(settings):
    _, problems = story("slug: Fu Yun\n", settings=settings)
    assert codes(problems) == [("E314", 7)]


def test_cover_rules(settings):
    _, problems = story("cover: /media/a.jpg\n", settings=settings)
    assert codes(problems) == [("E310", 7)]
    _, problems = story("cover: ../../../x.jpg\ncover_alt: x\n", settings=settings)
    assert codes(problems) == [("E311", 7)]
    _, problems = story("cover: https://cdn.example.com/a.jpg\ncover_alt: x\n", settings=settings)
    assert codes(problems) == [("E313", 7)]
    s, problems = story("cover: pic.jpg\ncover_alt: x\n", settings=settings)
    assert problems == [] and s.cover.url == "stories/fuyun-map/pic.jpg"
    assert [(a.source, a.address) for a in s.assets] == [("stories/yh/pic.jpg", "stories/fuyun-map/pic.jpg")]


def test_images_in_body_follow_the_path_rules_with_lines(settings):
    body = "第一段。\n\n![图](/media/a.jpg)\n\n![近](b.jpg)\n\n![外](http://x.org/c.png)\n\n![坏](../../../d.png)"
    s, problems = story(body=body, settings=settings)
    assert s is None
    # the body starts on line 9 (7 frontmatter lines + closing --- + blank line)
    assert codes(problems) == [("E313", 15), ("E311", 17)]
    s, problems = story(body="![图](/media/a.jpg) ![近](b.jpg)", settings=settings)
    assert f'src="{BASE}media/a.jpg"' in s.html and f'src="{BASE}stories/fuyun-map/b.jpg"' in s.html


def test_links_and_images_get_the_base_path_when_a_page_is_rendered(tmp_path):
    """The parse is the same for every address the site may have; a page gets its site's base path."""
    from conftest import make_site, png
    from conftest import story as story_text
    from generator.build import Options, build

    body = "[关于](/about/) ![图](/media/a.jpg) [外](https://gov.cn/)"
    s, _ = story(body=body)
    assert f'href="{BASE}about/"' in s.html and f'src="{BASE}media/a.jpg"' in s.html
    content = make_site(tmp_path, {"site.toml": 'title="t"\ncity="c"\nbase_url="https://x.org/gsh/"\n',
                                   "stories/s.md": story_text(body), "media/a.jpg": png(fmt="JPEG")})
    assert build(Options(content=content, out=tmp_path / "out", jobs=1)).written
    page = (tmp_path / "out/stories/s/index.html").read_text(encoding="utf-8")
    assert 'href="/gsh/about/"' in page and 'href="https://gov.cn/"' in page
    assert re.search(r'<img src="/gsh/media/a-8w-[0-9a-f]{10}\.jpg"', page)
    assert BASE not in page


@pytest.mark.parametrize("payload, forbidden", [
    ("<script>alert(1)</script>", "<script"),
    ('<img src="/media/a.jpg" onerror="alert(1)">', "onerror"),
    ('<a href="javascript:alert(1)">x</a>', "javascript:"),
    ("[x](javascript:alert(1))", "javascript:"),
    ('<iframe src="https://evil.example.com/"></iframe>', "<iframe"),
    ('<p style="position:fixed">x</p>', "style="),
    ('<div onclick="alert(1)">x</div>', "onclick"),
    ("<svg onload=alert(1)>", "<svg"),
    ('<a href="data:text/html,<script>alert(1)</script>">x</a>', "data:"),
    ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', "data:"),
])
def test_xss_payloads_are_removed(settings, payload, forbidden):
    s, _ = story(body="正文。\n\n" + payload, settings=settings)
    assert forbidden not in s.html.lower()


def test_soft_line_breaks_join_without_space(settings):
    s, _ = story(body="一张手绘地图，把全村的\n情况标得清清楚楚。", settings=settings)
    assert "全村的情况" in s.html


def test_bold_next_to_chinese_punctuation(settings):
    s, _ = story(body="这是**「刻舟求剑」**的反面，**“两山”理念**深入人心。", settings=settings)
    assert "<strong>「刻舟求剑」</strong>" in s.html and "<strong>“两山”理念</strong>" in s.html


def test_heading_anchors_are_readable_and_unique(settings):
    s, _ = story(body="## 一、从地图说起\n\n甲。\n\n## 一、从地图说起\n\n乙。", settings=settings)
    ids = re.findall(r'<h2 id="([^"]+)"', s.html)
    assert ids == ["yi-cong-di-tu-shuo-qi", "yi-cong-di-tu-shuo-qi-2"]


def test_summary_from_text_and_reading_units(settings):
    body = "## 小标题\n\n" + "第一句话。" * 30 + "\n\n> 引用不算摘要。"
    s, _ = story(body=body, settings=settings)
    assert s.summary == "第一句话。" * 24  # 24 × 5 = 120 characters, cut at the last 。 within 120
    assert s.characters == 3 + 4 * 30 + 6  # heading + paragraphs + quote, punctuation not counted


def test_summary_field_wins(settings):
    s, _ = story("summary: 一句话。\n", settings=settings)
    assert s.summary == "一句话。"


def test_free_page(settings):
    page, problems = parse_page("---\ntitle: 关于\nmenu: 1\n---\n\n说明。\n", "content/pages/about.md", settings,
                                "pages/about.md")
    assert problems == [] and (page.slug, page.url, page.menu, page.title) == ("about", "about/", 1, "关于")
    page, problems = parse_page("---\ntitle: 评选办法\n---\n正文\n", "content/pages/评选办法.md", settings,
                                "pages/评选办法.md")
    assert page.slug == "ping-xuan-ban-fa"
    _, problems = parse_page("---\nmenu: 一\n---\n", "p.md", settings)
    assert sorted(codes(problems)) == [("E302", 1), ("E304", 2)]


def test_inline_markup_still_works_where_present(settings):
    body = "纯中文段落，没有任何标记。\n\n见[关于本站](/about/)和`代码`，A&B，<b>粗</b>，第一行  \n第二行。"
    s, _ = story(body=body, settings=settings)
    assert "<p>纯中文段落，没有任何标记。</p>" in s.html
    assert f'<a href="{BASE}about/">关于本站</a>' in s.html and "<code>代码</code>" in s.html
    assert "A&amp;B" in s.html and "<b>粗</b>" in s.html and "<br>" in s.html


def test_pictures_pasted_inline_are_kept(settings):
    png = "data:image/png;base64,iVBORw0KGgo="
    s, problems = story(body=f'<img src="{png}" alt="贴图">', settings=settings)
    assert problems == [] and f'src="{png}"' in s.html


def test_sanitize_alone_drops_data_links():
    from generator.markup import sanitize
    assert "data:" not in sanitize('<a href="data:text/html,x">a</a><q cite="data:,x">b</q>')
    assert 'src="data:image/gif;base64,R0lG"' in sanitize('<img src="data:image/gif;base64,R0lG">')
