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


def test_a_list_typed_with_chinese_commas_is_still_a_list(settings):
    """[民情地图，美丽乡村] is one YAML item (the comma is full-width): two tags were meant."""
    s, problems = story("tags: [民情地图，美丽乡村、两山理论]\nauthors: [封平；陈一良]\n", settings=settings)
    assert problems == [] and s.tags == ("民情地图", "美丽乡村", "两山理论") and s.authors == ("封平", "陈一良")


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


@pytest.mark.parametrize("value, wrong", [
    ("2017-02-30", "不存在"), ("2023年2月30日", "不存在"), ("2023/2/29", "不存在"), ("2017.13.01", "不存在"),
    ("'20170315'", "格式不对"), ("2017/03-15", "格式不对"), ("2017年3月15", "格式不对"), ("三月十五日", "格式不对"),
    ("2017-03-15 10:00", "格式不对"),
])
def test_bad_dates_point_at_the_date_line(settings, value, wrong):
    text = HEAD.replace("2017-03-15", value) + "---\n正文\n"
    s, problems = parse_story(text, "a.md", settings)
    assert s is None and codes(problems) == [("E303", 6)]
    assert wrong in problems[0].message


@pytest.mark.parametrize("value", ["2017-03-15", "2017-3-15", "2017年3月15日", "2017年03月15日", "2017 年 3 月 15 日",
                                   "2017/3/15", "2017/03/15", "2017.3.15", "2017.03.15", "２０１７年３月１５日"])
def test_dates_in_the_forms_offices_write_them(settings, value):
    s, problems = parse_story(HEAD.replace("2017-03-15", value) + "---\n正文\n", "a.md", settings)
    assert problems == [] and s.date == dt.date(2017, 3, 15)


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


def test_an_empty_body_has_no_summary_and_no_characters_even_after_another_story(settings):
    """Python-Markdown returns at once for an empty text: nothing of the story before may stay."""
    full, _ = story(body="第一句话。" * 3, settings=settings)
    assert (full.summary, full.characters) == ("第一句话。" * 3, 12)
    empty, problems = story(body="", settings=settings)
    assert (empty.summary, empty.characters, empty.html) == ("", 0, "")
    assert [p.code for p in problems] == ["W316"]


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


def test_source_and_editor(settings):
    s, problems = story("source: 丽水日报\neditor: 李明\n", settings=settings)
    assert problems == []
    assert (s.origin, s.editor) == ("丽水日报", "李明")
    assert s.source == "content/stories/yh/fuyun-map.md"  # still the file
    s, _ = story(settings=settings)
    assert (s.origin, s.editor) == ("", "")


def test_source_and_editor_must_be_text(settings):
    s, problems = story("source: [丽水日报, 云和新闻]\neditor: {name: 李明}\n", settings=settings)
    assert s is None and codes(problems) == [("E304", 7), ("E304", 8)]
    assert "“source”应为一段文字" in problems[0].message


# A broken frontmatter: HEAD is lines 1–6 (--- and five fields); `extra` starts on line 7.
@pytest.mark.parametrize("replace, line", [
    # a full-width colon on the first line (PyYAML notices it on the next), in the middle, at the end
    ("title: 民情地图", 2), ("township: 浮云街道", 4), ("date: 2017-03-15", 6),
])
def test_full_width_colon_after_a_key(settings, replace, line):
    key, value = replace.split(": ")
    text = HEAD.replace(replace, f"{key}：{value}") + "---\n正文\n"
    s, problems = parse_story(text, "a.md", settings)
    assert s is None and codes(problems) == [("E301", line)]
    message = problems[0].message
    assert f"第 {line} 行“{key}：{value}”" in message
    assert "冒号要用英文半角的 : ，后面加一个空格" in message and f"应写成“{key}: {value}”" in message


@pytest.mark.parametrize("extra, line, said", [
    ("cover:/media/a.jpg\ncover_alt: 图\n", 7,
     "冒号后面缺少空格。冒号要用英文半角的 : ，后面加一个空格，应写成“cover: /media/a.jpg”"),
    ("summary: “民情地图: 连心桥”\n", 7, '的值两边是中文引号，在文件头里不起引号的作用。要加引号请用英文半角的 "，'
                                  '应写成“summary: "民情地图: 连心桥"”'),
    ("tags:\n\t- 民情地图\n", 8, "用了 Tab 键（制表符）。文件头里缩进和冒号后面都只能用空格"),
    ("tags: [民情地图, 美丽乡村\nfeatured: true\n", 7, "的方括号 [ 没有配对的 ]。列表要在同一行写完并以 ] 结尾"),
    ("tags: [民情地图, 美丽乡村】\n", 7,
     "结尾的方括号用了中文的 】 ，要用英文半角的 ]，应写成“tags: [民情地图, 美丽乡村]”"),
    ('summary: "一张地图\nfeatured: true\n', 7, '开头的英文引号 " 没有配对的结尾引号'),
    ('summary: "一张地图”\n', 7, '结尾的引号用了中文的 ” ，要用英文半角的 "，应写成“summary: "一张地图"”'),
    ('summary: "两山"理念深入人心\n', 7,
     "引号后面又有文字。标题里的引号请用中文引号，应写成「summary: “两山”理念深入人心」"),
    ("summary: @民情地图\n", 7,
     '的值以“@”开头，这个符号在文件头里有特殊用途。请把整个值用英文半角引号括起来，应写成“summary: "@民情地图"”'),
    ("summary: `民情地图`\n", 7, "的值以“`”开头"),
    ("summary: %民情地图\n", 7, "的值以“%”开头"),
    ("summary: *民情地图\n", 7, "的值以“*”开头"),
    ("summary: &民情地图\n", 7, "的值以“&”开头"),
    ("summary: !民情地图\n", 7, "的值以“!”开头"),
    ("summary: |民情地图\n", 7, "的值以“|”开头"),
    ("summary: >民情地图\n", 7, "的值以“>”开头"),
    ("summary: - 民情地图\n", 7, "的值以“-”开头"),
    ("authors: [@封平, 陈一良]\n", 7,
     '的列表里“@封平”以“@”开头，这个符号在文件头里有特殊用途。请给这一项加上英文半角引号，写成 "@封平"'),
    ("authors:\n  - @封平\n", 8, '的值以“@”开头'),
    ("summary: 一句话\n  featured: true\n", 8, "开头多了空格。每个字段都要顶格写，前面不留空格"),
    ("summary: 民情地图: 干群连心桥\n", 7, "的值里有英文冒号加空格，会被当成又一个字段。请把这个冒号改成中文的“：”，"
                                   "应写成“summary: 民情地图：干群连心桥”"),
])
def test_yaml_mistakes_are_explained_in_chinese_at_their_line(settings, extra, line, said):
    s, problems = story(extra, settings=settings)
    assert s is None and codes(problems) == [("E301", line)]
    assert problems[0].message.startswith(f"文件头有误：第 {line} 行") and said in problems[0].message


def test_an_unknown_yaml_mistake_falls_back_to_a_chinese_message_with_an_excerpt(settings):
    # summary: | wants the text below it indented: 正文 (line 8) is where PyYAML stops
    s, problems = story("summary: |\n正文\nfeatured: true\n", settings=settings)
    assert s is None and codes(problems) == [("E301", 8)]
    message = problems[0].message
    assert message.startswith("文件头有误：第 8 行“正文”附近不符合格式。每个字段一行，写成“字段: 值”")
    assert "（YAML 的说明：" in message and "expected" in message and len(message) < 200


def test_a_head_that_is_not_fields(settings):
    for head, said in (("title：民情地图\n", "用了中文冒号“：”"), ("民情地图\n", "不是“字段: 值”的形式")):
        s, problems = parse_story(f"---\n{head}---\n正文\n", "a.md", settings)
        assert s is None and codes(problems) == [("E301", 2)] and said in problems[0].message


def test_lines_count_blank_lines_after_the_opening_dashes(settings):
    text = "---\n\n" + HEAD[4:].replace("2017-03-15", "2017-02-30") + "---\n正文\n"
    assert codes(parse_story(text, "a.md", settings)[1]) == [("E303", 7)]
    text = "---\n\n" + HEAD[4:] + "tags: [甲\n---\n正文\n"
    assert codes(parse_story(text, "a.md", settings)[1]) == [("E301", 8)]


def test_a_required_field_hidden_by_a_wrong_colon_is_named(settings):
    # indented, "county：云和县" continues the title's value: YAML finds no county
    text = HEAD.replace("county: 云和县", "  county：云和县") + "---\n正文\n"
    s, problems = parse_story(text, "a.md", settings)
    assert s is None and codes(problems) == [("E302", 3)]
    assert problems[0].message.startswith("缺少必填字段“county”：第 3 行“county：云和县”用了中文冒号")


@pytest.mark.parametrize("body", [
    "第一段。\n第二行。\n\n第二段。",  # plain paragraphs: the fast path
    "标题\n===\n\n正文。",  # a setext heading under Chinese text
    "小标题\n---\n正文。",
    "姓名 | 职务\n--- | ---\n张三 | 书记",  # a table without leading pipes
    "正文。\n- 一项\n- 两项",  # a list right after a paragraph line
    "- 第一项\n\n  第一项的第二段\n\n第二段。",  # a loose list, then a paragraph
    "> 引文。\n继续引文。\n\n正文。",
    "正文[^1]。\n\n[^1]: 脚注。\n\n    脚注的第二段。",
    "正文。\n[链接]: https://example.org\n\n见[链接]。",
    "　　全角空格开头的段落。\n　　第二行。",
    "“引号开头”的段落。\n# 不是标题",
])
def test_plain_paragraph_shortcut_changes_nothing(body, monkeypatch):
    """Blocks of plain Chinese text skip Markdown's block processors; what
    they give must be exactly what the full parse gives."""
    from generator import markup

    fast = markup.render_markdown(body)
    markup.forget_markdown()
    monkeypatch.setattr(markup._PlainParagraph, "test", lambda self, parent, block: False)
    slow = markup.render_markdown(body)
    markup.forget_markdown()
    assert fast == slow
