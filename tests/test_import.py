"""`gushihui import`: the real web copy of the campaign's founding article, Word files made
here with headings, lists, bold, a table and pictures, saved web pages and Markdown; what the
front matter gets (title, ◎ authors, date, branch) and the TODO that `check` reports (E326)."""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil

import pytest

from conftest import ROOT, make_site, png, story
from generator.cli import main
from generator.fixing import simplify
from generator.documents import Source, read_source
from generator.importing import build_story, byline_names, dates_in, match_branch, restore_dash
from generator.models import BranchRow

# A byte-for-byte copy of ../shared/samples/legacy-article.txt, so that the tests need nothing
# beside the repository (tests/test_fix.py checks the copy against the original when it is there).
SAMPLE = ROOT / "tests" / "samples" / "legacy-article.txt"
TITLE = "优化标准 从严规范——丽水市让基层党建工作具体化有形化"
TODAY = dt.date.today().isoformat()


@pytest.fixture
def legacy(tmp_path):
    copy = tmp_path / "in" / "legacy-article.txt"
    copy.parent.mkdir()
    shutil.copyfile(SAMPLE, copy)
    return copy


def run(argv, capsys) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def head(text: str) -> dict[str, str]:
    """The front matter's lines as key → raw value (comments left out)."""
    front = text.split("\n---\n", 1)[0]
    return dict(re.findall(r"^([a-z_]+): ?(.*)$", front, re.M))


def body(text: str) -> str:
    return text.split("\n---\n", 1)[1].strip()


# The real sample ------------------------------------------------------------------------------

def test_the_legacy_article_becomes_a_story_that_check_accepts(legacy, tmp_path, capsys):
    content = make_site(tmp_path, {})
    status, out, err = run(["import", str(legacy), "--county", "云和县", "--township", "浮云街道",
                            "--branch", "中山村党支部", "--content", str(content)], capsys)
    assert status == 0, err
    written = sorted((content / "stories").rglob("*.md"))
    assert [p.relative_to(content).as_posix() for p in written] == [
        "stories/云和县/浮云街道/you-hua-biao-zhun-cong-yan-gui-fan.md"]
    text = written[0].read_text(encoding="utf-8")
    fields = head(text)
    assert fields["title"] == f'"{TITLE}"'
    assert fields["authors"] == '["封平", "陈一良"]'
    assert (fields["county"], fields["township"], fields["branch"]) == ('"云和县"', '"浮云街道"', '"中山村党支部"')
    assert fields["date"] == TODAY and "# 日期：原文没有写日期，这是导入那天；请改成故事的日期" in text
    story_body = body(text)
    paragraphs = story_body.split("\n\n")
    assert paragraphs[0] == "丽水市委常委、组织部长胡侠在云和县浮云街道调研美丽乡村建设。"  # the caption stays text
    assert paragraphs[1].startswith("去年以来，丽水市对标“浙江省二十条”，提出了以“讲好党建故事、")
    assert len(paragraphs) == 6 and all(p.endswith("。") for p in paragraphs)
    assert simplify(story_body) == story_body and not re.search(r"[(（][a-zāáǎàōóǒòēéěè]+[)）]", story_body)
    assert not re.search("[\u4e00-\u9fff][,;:?!]|[,;:?!][\u4e00-\u9fff]", story_body)
    assert "◎" not in story_body and "优化标准" not in story_body  # byline and title are in the front matter
    # the report says what it did
    assert f"已导入 {legacy} → {written[0]}" in out
    assert f"标题：{TITLE}" in out and "作者：封平、陈一良" in out and "删除拼音 172 处" in out
    assert "待填写" not in out
    # and check accepts it
    status, out, err = run(["check", "--content", str(content)], capsys)
    assert status == 0, err
    assert "检查通过" in out


def test_every_chinese_character_of_the_article_is_in_the_story(legacy, tmp_path, capsys):
    content = make_site(tmp_path, {})
    assert main(["import", str(legacy), "--county", "云和县", "--township", "浮云街道", "--branch", "中山村党支部",
                 "--content", str(content)]) == 0
    text = next((content / "stories").rglob("*.md")).read_text(encoding="utf-8")
    han = lambda s: "".join(re.findall("[\u4e00-\u9fff]", s))  # noqa: E731
    original = simplify(SAMPLE.read_text(encoding="utf-8"))
    # the byline's names are once in authors, the title once in title; all the rest is the body
    rest = original.split("\n", 3)[3]
    assert han(body(text)) == han(rest)
    assert han(head(text)["title"]) == han(original.split("\n")[1])


def test_without_names_the_story_has_todos_that_check_reports_until_filled(legacy, tmp_path, capsys):
    content = make_site(tmp_path, {})
    status, out, _ = run(["import", str(legacy), "--content", str(content)], capsys)
    assert status == 0
    path = content / "stories" / "you-hua-biao-zhun-cong-yan-gui-fan.md"
    text = path.read_text(encoding="utf-8")
    assert head(text)["county"] == '"【待填写】县（市、区）"' and head(text)["branch"] == '"【待填写】党支部"'
    assert "# 党支部：导入时无法确定，请把下一行引号里的字整个换成组织名册里党支部的名称" in text
    assert "待填写：文件里还有 3 处“【待填写】”" in out and "其中 1 个还有待填写的内容" in out
    status, _, err = run(["check", "--content", str(content)], capsys)
    assert status == 1
    errors = [line for line in err.splitlines() if " 错误 " in line]
    assert errors == [
        f"{path}:4: 错误 E326: “county”还没有填写（导入时无法确定）：请把“【待填写】县（市、区）”整个换成组织名册（org.csv）里县（市、区）的名称",
        f"{path}:6: 错误 E326: “township”还没有填写（导入时无法确定）：请把“【待填写】乡镇（街道）”整个换成组织名册里乡镇（街道）的名称",
        f"{path}:8: 错误 E326: “branch”还没有填写（导入时无法确定）：请把“【待填写】党支部”整个换成组织名册里党支部的名称",
    ]
    filled = text.replace("【待填写】县（市、区）", "云和县").replace("【待填写】乡镇（街道）", "浮云街道") \
        .replace("【待填写】党支部", "长汀村党支部")
    path.write_text(filled, encoding="utf-8")
    status, _, err = run(["check", "--content", str(content)], capsys)
    assert status == 0, err


def test_import_never_overwrites(legacy, tmp_path, capsys):
    content = make_site(tmp_path, {})
    argv = ["import", str(legacy), "--county", "云和县", "--township", "浮云街道", "--branch", "中山村党支部",
            "--content", str(content)]
    assert main(argv) == 0
    path = next((content / "stories").rglob("*.md"))
    path.write_text(path.read_text(encoding="utf-8") + "\n编辑改过。\n", encoding="utf-8")
    before = path.read_bytes()
    capsys.readouterr()
    status, out, err = run(argv, capsys)
    assert status == 1 and path.read_bytes() == before
    assert err == f"gushihui: {path} 已存在，没有覆盖它；{legacy} 没有导入（要再导入一次，请先改名或删除那个文件）\n"


def test_to_names_the_folder_and_makes_it(legacy, tmp_path, capsys):
    content = make_site(tmp_path, {})
    target = tmp_path / "新稿" / "第一批"
    assert main(["import", str(legacy), "--county", "云和县", "--township", "浮云街道", "--branch", "中山村党支部",
                 "--content", str(content), "--to", str(target)]) == 0
    assert [p.name for p in target.iterdir()] == ["you-hua-biao-zhun-cong-yan-gui-fan.md"]
    assert not (content / "stories").exists()


# Word files -----------------------------------------------------------------------------------

def word_file(path, *, title="民情地圖繪出幹群連心橋", property_title="", alt=True):
    """A .docx as Word makes it: a Title, a byline, headings, bold, a list, a table, two pictures
    (one with alt text), a caption; in traditional characters with ASCII punctuation."""
    from docx import Document
    from docx.shared import Inches

    doc = Document()
    doc.core_properties.title = property_title
    if title:
        doc.add_heading(title, 0)
    doc.add_paragraph("◎封 平 陳一良")
    doc.add_heading("一、背景", 1)
    p = doc.add_paragraph("2017年3月15日,浮雲街道中山村黨支部")
    p.add_run("開始繪製").bold = True
    p.add_run("民情地圖.")
    doc.add_paragraph("第一項,入戶走訪", style="List Bullet")
    doc.add_paragraph("第二項:繪製地圖", style="List Bullet")
    doc.add_heading("二、數據", 1)
    doc.add_heading("(一)戶數", 2)
    table = doc.add_table(rows=3, cols=2)
    for i, row in enumerate([("村名", "戶數"), ("中山村", "120"), ("長汀村", "98")]):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    doc.add_picture(io.BytesIO(png(40, 30)), width=Inches(1))
    if alt:
        doc.inline_shapes[0]._inline.docPr.set("descr", "民情地圖的一角")
    doc.add_picture(io.BytesIO(png(40, 30, (20, 30, 200), "JPEG")), width=Inches(1))
    doc.add_paragraph("圖為幹部正在繪製地圖。")
    doc.save(path)
    return path


def test_a_word_file_keeps_headings_lists_bold_tables_and_pictures(tmp_path, capsys):
    content = make_site(tmp_path, {})
    source = word_file(tmp_path / "民情地图.docx")
    status, out, err = run(["import", str(source), "--county", "云和县", "--township", "浮云街道",
                            "--content", str(content)], capsys)
    assert status == 0, err
    path = content / "stories" / "云和县" / "浮云街道" / "min-qing-di-tu-hui-chu-gan-qun-lian-xin-qiao.md"
    text = path.read_text(encoding="utf-8")
    fields = head(text)
    assert fields["title"] == '"民情地图绘出干群连心桥"' and fields["authors"] == '["封平", "陈一良"]'
    assert fields["branch"] == '"中山村党支部"'  # the one branch of org.csv the text names
    assert fields["date"] == "2017-03-15"  # the date the text names
    assert body(text) == (
        "## 一、背景\n\n"
        "2017年3月15日，浮云街道中山村党支部**开始绘制**民情地图。\n\n"
        "- 第一项，入户走访\n- 第二项：绘制地图\n\n"
        "## 二、数据\n\n"
        "### （一）户数\n\n"
        "| 村名 | 户数 |\n|---|---|\n| 中山村 | 120 |\n| 长汀村 | 98 |\n\n"
        "![民情地图的一角](/media/min-qing-di-tu-hui-chu-gan-qun-lian-xin-qiao-1.png)\n\n"
        "![【待填写】图片说明](/media/min-qing-di-tu-hui-chu-gan-qun-lian-xin-qiao-2.jpg)\n\n"
        "图为干部正在绘制地图。")
    media = content / "media"
    assert sorted(p.name for p in media.iterdir()) == ["min-qing-di-tu-hui-chu-gan-qun-lian-xin-qiao-1.png",
                                                       "min-qing-di-tu-hui-chu-gan-qun-lian-xin-qiao-2.jpg"]
    assert (media / "min-qing-di-tu-hui-chu-gan-qun-lian-xin-qiao-1.png").read_bytes() == png(40, 30)
    assert "日期：2017-03-15（取自原文“2017年3月15日”，请核对）" in out
    assert "组织：云和县 浮云街道 中山村党支部（正文里提到了这个支部，请核对）" in out
    assert "图片：2 张" in out
    # the picture without alt text is the one thing check reports, until it has one
    status, _, err = run(["check", "--content", str(content)], capsys)
    line = text.split("\n").index("![【待填写】图片说明](/media/min-qing-di-tu-hui-chu-gan-qun-lian-xin-qiao-2.jpg)") + 1
    assert status == 1
    assert [e for e in err.splitlines() if " 错误 " in e] == [
        f"{path}:{line}: 错误 E326: 图片 /media/min-qing-di-tu-hui-chu-gan-qun-lian-xin-qiao-2.jpg 还没有说明文字："
        "请把方括号里的“【待填写】图片说明”改成一句话，说明图上是什么（供视障读者使用）"]
    path.write_text(text.replace("【待填写】图片说明", "干部在绘制地图"), encoding="utf-8")
    assert main(["check", "--content", str(content)]) == 0


def test_an_imported_word_file_builds(tmp_path, capsys):
    content = make_site(tmp_path, {})
    source = word_file(tmp_path / "a.docx", alt=True)
    assert main(["import", str(source), "--county", "云和县", "--township", "浮云街道", "--branch", "中山村党支部",
                 "--content", str(content)]) == 0
    path = next((content / "stories").rglob("*.md"))
    path.write_text(path.read_text(encoding="utf-8").replace("【待填写】图片说明", "干部在绘制地图"), encoding="utf-8")
    out = tmp_path / "output"
    assert main(["build", "--content", str(content), "--out", str(out), "--jobs", "1"]) == 0, capsys.readouterr()
    page = (out / "stories" / "min-qing-di-tu-hui-chu-gan-qun-lian-xin-qiao" / "index.html").read_text(encoding="utf-8")
    assert "<table>" in page and "<th>村名</th>" in page and "<strong>开始绘制</strong>" in page
    assert 'alt="民情地图的一角"' in page and 'id="yi-bei-jing"' in page and "<li>第一项，入户走访</li>" in page


def test_a_word_file_s_title_property_or_first_line_is_the_title(tmp_path):
    with_property = read_source(word_file(tmp_path / "a.docx", title="", property_title="屬性裡的標題"))
    assert build_story(with_property, "a.docx").title == "属性里的标题"
    without = read_source(word_file(tmp_path / "b.docx", title="", property_title="Microsoft Word - b.doc"))
    made = build_story(without, "b.docx")
    assert made.title == "" and made.todo[0] == "title"  # the first line is a byline, then a heading: no title
    assert 'title: "【待填写】标题"' in made.text


def test_a_damaged_word_file_is_reported_and_the_others_imported(tmp_path, capsys, legacy):
    content = make_site(tmp_path, {})
    bad = tmp_path / "坏.docx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    status, out, err = run(["import", str(bad), str(legacy), "--county", "云和县", "--township", "浮云街道",
                            "--branch", "中山村党支部", "--content", str(content)], capsys)
    assert status == 1
    assert err.startswith(f"gushihui: {bad}：不是有效的 Word 文件（.docx），可能已损坏；请用 Word 或 WPS 打开后另存为 .docx")
    assert "共导入 1 个故事" in out


# Other formats -------------------------------------------------------------------------------

def test_a_saved_web_page_with_its_pictures(tmp_path, capsys):
    content = make_site(tmp_path, {})
    page = tmp_path / "网页" / "文章.html"
    (page.parent / "文章_files").mkdir(parents=True)
    (page.parent / "文章_files" / "a.jpg").write_bytes(png(30, 20, fmt="JPEG"))
    page.write_text(
        '<!DOCTYPE html><html><head><title>网站 - 标题</title><script>var a = "<p>x</p>";</script></head>'
        '<body><nav>首页 | 新闻</nav><h1 class="rich_media_title" id="activity-name">\n  長汀村:黨員“先鋒指數”\n</h1>'
        '<div id="js_content"><section><p><img data-src="https://mmbiz.qpic.cn/abc.jpg"></p>'
        '<p>\u3000\u3000長汀村黨支部推行<strong>先鋒指數</strong>考評,</p><p>黨員們積極參與。</p>'
        '<p><img src="文章_files/a.jpg" alt="長汀村全景"></p><p>詳見 <a href="https://example.org/a">原文</a>。</p>'
        '<ol><li>第一步,摸底</li><li>第二步,培訓<ul><li>廚師培訓</li></ul></li></ol>'
        '<table><tr><td colspan="2">合併</td></tr><tr><td>甲</td><td>乙</td></tr></table>'
        '</section></div><footer>版權所有</footer></body></html>', encoding="utf-8")
    status, out, err = run(["import", str(page), "--content", str(content)], capsys)
    assert status == 0, err
    path = content / "stories" / "云和县" / "浮云街道" / "chang-ting-cun-dang-yuan-xian-feng-zhi-shu.md"
    text = path.read_text(encoding="utf-8")
    assert head(text)["title"] == '"长汀村：党员“先锋指数”"' and head(text)["branch"] == '"长汀村党支部"'
    assert body(text) == (
        "【待填写】原文这里有一张图片（https://mmbiz.qpic.cn/abc.jpg），导入时无法取得：请把图片存进 content/media/，"
        "把这一行改成 ![图片说明](/media/文件名)\n\n"
        "长汀村党支部推行**先锋指数**考评，党员们积极参与。\n\n"  # a paragraph broken after a comma: joined
        "![长汀村全景](/media/chang-ting-cun-dang-yuan-xian-feng-zhi-shu-1.jpg)\n\n"
        "详见 [原文](https://example.org/a)。\n\n"
        "1. 第一步，摸底\n2. 第二步，培训\n    - 厨师培训\n\n"
        '<table>\n<tr><td colspan="2">合并</td></tr>\n<tr><td>甲</td><td>乙</td></tr>\n</table>')
    assert "首页" not in text and "版权" not in text and "var a" not in text
    status, _, err = run(["check", "--content", str(content)], capsys)
    assert status == 1 and err.count("E326") == 1 and "导入时无法处理的内容：原文这里有一张图片" in err


def test_a_markdown_file_keeps_its_front_matter_and_gets_the_rest(tmp_path, capsys):
    content = make_site(tmp_path, {})
    source = tmp_path / "旧.md"
    source.write_text("---\ntitle: 民情地圖\ntags: [民情地圖]\nsource: 麗水日報\n---\n\n◎封 平\n\n"
                      "## 小標題\n\n2018年5月4日,中山村黨支部\n繪製地圖。\n", encoding="utf-8")
    status, _, err = run(["import", str(source), "--content", str(content)], capsys)
    assert status == 0, err
    path = content / "stories" / "云和县" / "浮云街道" / "min-qing-di-tu.md"
    text = path.read_text(encoding="utf-8")
    fields = head(text)
    assert (fields["title"], fields["tags"], fields["source"]) == ('"民情地图"', '["民情地图"]', '"丽水日报"')
    assert fields["date"] == "2018-05-04" and fields["authors"] == '["封平"]' and fields["branch"] == '"中山村党支部"'
    assert body(text) == "## 小标题\n\n2018年5月4日，中山村党支部绘制地图。"
    assert main(["check", "--content", str(content)]) == 0


def test_a_gbk_text_file(tmp_path, capsys):
    content = make_site(tmp_path, {})
    source = tmp_path / "旧稿.txt"
    source.write_bytes("長汀村的故事\r\n長汀村黨支部,帶領村民致富.\r\n".encode("gbk"))
    status, out, err = run(["import", str(source), "--content", str(content)], capsys)
    assert status == 0 and "W002" in err
    text = (content / "stories" / "云和县" / "浮云街道" / "chang-ting-cun-de-gu-shi.md").read_text(encoding="utf-8")
    assert head(text)["title"] == '"长汀村的故事"' and body(text) == "长汀村党支部，带领村民致富。"


# The command line -----------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--county", "云和"], "命令行参数 --county：组织名册（{org}）里没有“云和”，是不是“云和县”？"),
    (["--county", "云和县", "--township", "浮云"], "命令行参数 --township：组织名册（{org}）里云和县没有“浮云”，是不是“浮云街道”？"),
    (["--township", "浮云"], "命令行参数 --township：组织名册（{org}）里没有“浮云”，是不是“浮云街道”？"),
    (["--branch", "中山村"], "命令行参数 --branch：组织名册（{org}）里没有“中山村”，是不是“中山村党支部”？"),
    (["--county", "云和县", "--township", "浮云街道", "--branch", "中山"],
     "命令行参数 --branch：组织名册（{org}）里云和县浮云街道没有“中山”，是不是“中山村党支部”？"),
])
def test_a_name_not_in_the_roster_is_a_command_line_error(tmp_path, capsys, argv, message):
    content = make_site(tmp_path, {})
    source = tmp_path / "a.txt"
    source.write_text("标题\n正文。\n", encoding="utf-8")
    status, out, err = run(["import", str(source), "--content", str(content), *argv], capsys)
    assert status == 2 and out == ""
    assert err == f"gushihui: {message.format(org=content / 'org.csv')}\n"
    assert not (content / "stories").exists()


def test_a_township_or_branch_alone_names_its_county(tmp_path, capsys):
    content = make_site(tmp_path, {})
    source = tmp_path / "a.txt"
    source.write_text("标题\n正文。\n", encoding="utf-8")
    assert main(["import", str(source), "--content", str(content), "--branch", "长汀村党支部"]) == 0
    text = (content / "stories" / "云和县" / "浮云街道" / "biao-ti.md").read_text(encoding="utf-8")
    assert (head(text)["county"], head(text)["township"], head(text)["branch"]) == \
        ('"云和县"', '"浮云街道"', '"长汀村党支部"')


@pytest.mark.parametrize("name, message", [
    ("旧稿.doc", "不能直接导入 {path}：请在 Word 或 WPS 里打开它，另存为“Word 文档（.docx）”后再导入"),
    ("旧稿.wps", "不能直接导入 {path}：请在 Word 或 WPS 里打开它，另存为“Word 文档（.docx）”后再导入"),
    ("旧稿.xlsx", "不能导入 {path}：只能导入 Word 文件（.docx）、文字文件（.txt）、Markdown 文件（.md）和保存的网页（.html）"),
    ("没有.txt", "找不到文件 {path}"),
    ("a.txt", "找不到内容目录 {content}；请在网站的文件夹里运行，或用 --content 指明内容目录"),
])
def test_what_cannot_be_imported_is_a_command_line_error(tmp_path, capsys, name, message):
    content = make_site(tmp_path, {}) if name != "a.txt" else tmp_path / "没有这个目录"
    path = tmp_path / name
    if not name.startswith("没有"):
        path.write_bytes(b"x")
    status, out, err = run(["import", str(path), "--content", str(content)], capsys)
    assert status == 2 and err == f"gushihui: {message.format(path=path, content=content)}\n"
    assert not (tmp_path / "content" / "stories").exists()


# The parts ------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, names", [
    ("◎封 平 陈一良", ["封平", "陈一良"]),
    ("◎ 陈一良 封 平", ["陈一良", "封平"]),
    ("◎封\u3000平", ["封平"]),
    ("文/张三、李四", ["张三", "李四"]),
    ("作者：王 五", ["王五"]),
    ("◎本报记者 张三 通讯员 李四", ["张三", "李四"]),
    ("◎这是一句很长的话，不是署名。", None),
    ("封 平 陈一良", None),
])
def test_bylines(line, names):
    assert byline_names(line) == names


def test_dates_the_text_names():
    text = "2016年3月，……2017年4月20日，全市推行；2023年2月30日不存在；2018/5/4 和 2019.6.7；二〇二〇年十月一日。"
    assert dates_in(text) == [(dt.date(2017, 4, 20), "2017年4月20日"), (dt.date(2018, 5, 4), "2018/5/4"),
                              (dt.date(2019, 6, 7), "2019.6.7"), (dt.date(2020, 10, 1), "二〇二〇年十月一日")]


def test_the_date_is_the_latest_the_text_names_up_to_today():
    source = read_text_source("标题\n2016年3月1日，开始。2017年4月20日，完成。2099年1月1日，规划。\n")
    made = build_story(source, "a.txt", today=dt.date(2020, 1, 1))
    assert (made.date, made.date_from) == (dt.date(2017, 4, 20), "2017年4月20日")
    dated = read_text_source("标题\n发布时间：2016-03-01\n2017年4月20日，完成。\n")
    assert build_story(dated, "a.txt", today=dt.date(2020, 1, 1)).date == dt.date(2016, 3, 1)
    undated = build_story(read_text_source("标题\n完成。\n"), "a.txt", today=dt.date(2020, 1, 1))
    assert (undated.date, undated.date_from) == (dt.date(2020, 1, 1), "")


def read_text_source(text: str) -> Source:
    from generator.documents import Block

    return Source([Block("p", line) for line in text.split("\n")])


ROWS = [BranchRow("云和县", "浮云街道", "中山村党支部", "", "", "", 2),
        BranchRow("云和县", "浮云街道", "长汀村党支部", "", "", "", 3),
        BranchRow("云和县", "紧水滩镇", "中山村党支部", "", "", "", 4),
        BranchRow("莲都区", "碧湖镇", "堰头村党支部", "", "", "", 5)]


@pytest.mark.parametrize("text, given, found", [
    ("长汀村党支部带领村民", {}, ("云和县", "浮云街道", "长汀村党支部")),
    ("长汀村党支部和堰头村党支部", {}, None),  # two branches: cannot tell
    ("长汀村党支部和堰头村党支部", {"county": "莲都区"}, ("莲都区", "碧湖镇", "堰头村党支部")),
    ("中山村党支部", {}, None),  # in two townships
    ("紧水滩镇中山村党支部", {}, ("云和县", "紧水滩镇", "中山村党支部")),
    ("中山村党支部", {"township": "浮云街道"}, ("云和县", "浮云街道", "中山村党支部")),
    ("浮云街道的故事", {}, None),  # a township is not a branch
])
def test_the_one_branch_the_text_names(text, given, found):
    row = match_branch(ROWS, text, **given)
    assert (row and (row.county, row.township, row.branch)) == found


@pytest.mark.parametrize("title, expected", [
    ("优化标准 从严规范丽水市让基层党建工作具体化有形化", TITLE),
    ("优化标准 从严规范——丽水市让基层党建工作具体化有形化", TITLE),  # already there
    ("丽水市让基层党建工作具体化有形化", "丽水市让基层党建工作具体化有形化"),  # no headline before it
    ("优化标准 规范丽水市的工作", "优化标准 规范丽水市的工作"),  # phrases of different lengths
    ("民情地图绘出干群连心桥", "民情地图绘出干群连心桥"),
])
def test_the_lost_dash_is_put_back_only_before_a_place_after_a_parallel_headline(title, expected):
    assert restore_dash(title, ["丽水市", "云和县", "浮云街道"]) == expected


def test_importing_a_story_file_of_the_sample_site_keeps_it(tmp_path, capsys):
    """A finished story imported again: its front matter and text as they were."""
    content = make_site(tmp_path, {})
    source = tmp_path / "a.md"
    source.write_text(story("第一段。\n\n第二段，“引号”。\n", title="一个故事", authors="[封平]", tags="[甲, 乙]"),
                      encoding="utf-8")
    assert main(["import", str(source), "--content", str(content)]) == 0
    text = (content / "stories" / "云和县" / "浮云街道" / "yi-ge-gu-shi.md").read_text(encoding="utf-8")
    assert head(text) | {"date": ""} == {"title": '"一个故事"', "county": '"云和县"', "township": '"浮云街道"',
                                         "branch": '"中山村党支部"', "date": "", "authors": '["封平"]',
                                         "tags": '["甲", "乙"]'}
    assert head(text)["date"] == "2021-06-01" and body(text) == "第一段。\n\n第二段，“引号”。"


def test_a_subtitle_line_joins_the_title_and_a_long_first_line_is_no_title():
    made = build_story(read_text_source("扎根山区三十年\n——记中山村党支部书记张三\n正文。"), "a.txt")
    assert made.title == "扎根山区三十年——记中山村党支部书记张三" and body(made.text) == "正文。"
    long = "去年以来，丽水市对标“浙江省二十条”，提出了以“讲好党建故事、亮好党员干部形象、建好服务群众项目”等作为标准。"
    made = build_story(read_text_source(long), "a.txt")
    assert made.title == "" and "title" in made.todo and body(made.text) == long


def test_a_picture_a_web_page_cannot_show_is_a_todo():
    from generator.documents import Block, Picture

    source = Source([Block("p", "标题"), Block("picture", "\ue0000\ue001"), Block("p", "正文。")],
                    [Picture(b"\x01\x00\x00\x00", "emf", "", "图片 1")])
    made = build_story(source, "a.docx")
    assert made.pictures[0].name == ""  # not written to media/
    assert body(made.text).split("\n\n")[0] == (
        "【待填写】原文这里有一张 EMF 格式的图片，网页不能显示：请在原文件里把它另存为 PNG 或 JPG，"
        "放进 content/media/，把这一行改成 ![图片说明](/media/文件名)")
    assert "body" in made.todo
