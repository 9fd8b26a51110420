"""`gushihui fix`: traditional → simplified, pinyin after characters, full-width punctuation,
spaces and broken lines in Chinese text; on the real web copy of the campaign's founding
article, and on each rule's edge: what it must change and what it must leave alone."""
from __future__ import annotations

import re
import shutil

import pytest

from conftest import ROOT
from generator.cli import main
from generator.fixing import Changes, clean, fix_markdown, fix_plain, fix_text, joinable, simplify

# A byte-for-byte copy of ../shared/samples/legacy-article.txt, so that the tests need nothing
# beside the repository (tests/test_fix.py checks the copy against the original when it is there).
SAMPLE = ROOT / "tests" / "samples" / "legacy-article.txt"
REFERENCE = ROOT / "content" / "stories" / "云和县" / "浮云街道" / "ba-ge-hao.md"
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
PINYIN = re.compile(r"[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü ]+[)）]")


def han(text: str) -> str:
    return "".join(HAN.findall(text))


@pytest.fixture(scope="module")
def legacy() -> str:
    return SAMPLE.read_text(encoding="utf-8")


def test_the_copy_of_the_sample_is_the_sample():
    original = ROOT.parent / "shared" / "samples" / "legacy-article.txt"
    if not original.is_file():
        pytest.skip(f"{original} is not there to compare the copy with (shared/ beside the repository)")
    assert SAMPLE.read_bytes() == original.read_bytes()


# The real sample ------------------------------------------------------------------------------

def test_fix_on_the_legacy_article_keeps_every_character_and_sentence(legacy, tmp_path, capsys):
    copy = tmp_path / "legacy-article.txt"
    shutil.copyfile(SAMPLE, copy)
    assert main(["fix", str(copy)]) == 0
    out = capsys.readouterr().out
    fixed = copy.read_text(encoding="utf-8")
    assert out.startswith(f"{copy}：繁体字改为简体 ") and "删除拼音 172 处" in out and "标点改为全角" in out
    # simplified: OpenCC has nothing left to convert, and the characters are the original's, converted
    assert simplify(fixed) == fixed and fixed != legacy
    assert "優" not in fixed and "黨" not in fixed and "优化标准" in fixed
    # every Chinese character kept, in order: pinyin is Latin, so the counts must be equal
    assert len(han(fixed)) == len(han(legacy))
    assert han(fixed) == simplify(han(legacy))
    # no pinyin, no ASCII punctuation next to Chinese, the same sentences and clauses
    assert not PINYIN.search(fixed)
    assert not re.search(f"{HAN.pattern}[,;:?!]|[,;:?!]{HAN.pattern}", fixed)
    assert fixed.count("。") == legacy.count("。")
    assert fixed.count("，") == legacy.count(",") + legacy.count("，")
    assert "县（市、区）" in fixed and "乡镇（街道）" in fixed and "党（工）委" in fixed
    assert "1-2个" in fixed and "60%" in fixed  # numbers as they were
    # the lines are the original's lines: nothing was joined or dropped
    assert len(fixed.split("\n")) == len(legacy.split("\n"))
    # the headline keeps the space between its two phrases; the byline keeps its padded name
    assert fixed.split("\n")[:3] == ["◎封 平 陈一良", "优化标准 从严规范丽水市让基层党建工作具体化有形化", "◎封 平 陈一良"]


def test_every_sentence_of_the_hand_cleaned_version_is_in_the_fixed_text(legacy):
    """The sample site's ba-ge-hao.md was cleaned by an editor: fix gives the same sentences."""
    fixed, _ = fix_text(legacy, markdown=False)
    body = REFERENCE.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    sentences = [s for para in body.split("\n\n") if para.strip() and not para.startswith("#")
                 for s in re.findall("[^。！？]+[。！？]", para.strip())]
    assert len(sentences) > 10
    assert [s for s in sentences if s not in fixed] == []


def test_fix_twice_changes_nothing_the_second_time(legacy):
    once, changes = fix_text(legacy, markdown=False)
    twice, again = fix_text(once, markdown=False)
    assert changes.total > 500 and twice == once and again.total == 0 and again.notes == []


def test_dry_run_shows_a_diff_and_leaves_the_file(legacy, tmp_path, capsys):
    copy = tmp_path / "旧稿.txt"
    shutil.copyfile(SAMPLE, copy)
    assert main(["fix", "--dry-run", str(copy)]) == 0
    out = capsys.readouterr().out
    assert copy.read_text(encoding="utf-8") == legacy
    assert f"--- {copy}（原文）\n+++ {copy}（修改后）\n" in out
    assert "\n-◎封 平 陳一良\n" in out and "\n+◎封 平 陈一良\n" in out  # the last line too ends its line
    assert "\n+优化标准 从严规范丽水市让基层党建工作具体化有形化\n" in out
    assert "（预览，文件没有改动）" in out


# Pinyin -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("優(yōu)化", "优化"),
    ("長(zhǎng)", "长"),  # any of the character's readings
    ("長(cháng)城", "长城"),
    ("銀行(háng)", "银行"),
    ("我們(men)", "我们"),  # the neutral tone has no mark
    ("黨建(dǎng jiàn)", "党建"),  # a word's syllables, spaced
    ("黨建(dǎngjiàn)", "党建"),  # or run together
    ("優（yōu）化", "优化"),  # full-width brackets
    ("優(you1)化", "优化"),  # tone numbers
])
def test_pinyin_that_is_the_character_s_reading_is_removed(text, expected):
    changes = Changes()
    assert clean(text, changes) == expected and changes.pinyin == 1


@pytest.mark.parametrize("text, expected", [
    ("文件(2016)第3号", "文件(2016)第3号"), ("办法(试行)", "办法（试行）"), ("大(da)家", "大(da)家"),
    ("中国(China)", "中国(China)"), ("英雄(Hero)", "英雄(Hero)"), ("优(yòu)", "优(yòu)"),
    ("长(zhòng)城", "长(zhòng)城"), ("`優(yōu)`", "`優(yōu)`"),  # code stays as it is
])
def test_what_is_not_the_character_s_pinyin_stays(text, expected):
    changes = Changes()
    assert clean(text, changes) == expected and changes.pinyin == 0


def test_a_wrong_reading_in_tone_marks_is_noted():
    changes = Changes()
    assert clean("优(yòu)秀", changes, line=7) == "优(yòu)秀"
    assert changes.notes == [(7, "“优(yòu)”括号里像是拼音，但不是“优”的读音，没有删除")]


# Punctuation and spaces ----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("去年以来,丽水市对标", "去年以来，丽水市对标"),
    ("他说:\"我们来了!\"然后走了.", "他说：“我们来了！”然后走了。"),
    ("为什么?!", "为什么？！"),
    ("时间:9:30,地点:会议室", "时间：9:30,地点：会议室"),  # after a number: cannot be judged
    ("截至今年,60%的乡镇", "截至今年，60%的乡镇"),
    ("建设 , 全市推行", "建设，全市推行"),
    ("县(市、区)集中宣传", "县（市、区）集中宣传"),
    ("文件(2016)第3号", "文件(2016)第3号"),
    ("共有10,000人", "共有10,000人"),
    ("Hello, world. 中文, English", "Hello, world. 中文, English"),
    ("等等...", "等等..."),
    ("一.加强学习", "一.加强学习"),  # an enumeration: cannot be judged
    ("他说“你好\"。", "他说“你好”。"),
    ("他说\"你好。", "他说\"你好。"),  # a lone quote: left alone
    ("这是**重点**,然后", "这是**重点**，然后"),
])
def test_ascii_punctuation_in_chinese_text(text, expected):
    assert clean(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("见 https://www.gov.cn/a,b.html,谢谢", "见 https://www.gov.cn/a,b.html,谢谢"),
    ("看[链接,好](http://example.com/a,b)和`代码,码`。", "看[链接，好](http://example.com/a,b)和`代码,码`。"),
    ("<span title=\"标题,一\">文字</span>,好", "<span title=\"标题,一\">文字</span>,好"),
    ("邮件 a,b@example.org,谢谢", "邮件 a,b@example.org,谢谢"),
    ("![图片,一](/media/a,b.png)", "![图片，一](/media/a,b.png)"),
])
def test_markdown_syntax_urls_and_code_are_left_alone(text, expected):
    assert clean(text) == expected


def test_spaces_between_chinese_characters():
    assert clean("中 文 之 间 有 空 格，这是句子。") == "中文之间有空格，这是句子。"
    assert clean("\u3000\u3000去年以来，我们 。") == "去年以来，我们。"
    assert clean("一、 讲好党建故事", heading=True) == "一、讲好党建故事"
    # a headline's phrases, a byline's padded name, table cells: not running text
    assert clean("优化标准 从严规范", heading=True) == "优化标准 从严规范"
    assert clean("◎封 平 陈一良") == "◎封 平 陈一良"
    assert clean("| 封 平 | 党 员 |", table=True) == "| 封 平 | 党 员 |"
    assert clean("共 60 个村") == "共 60 个村"  # spaces around numbers are a matter of taste


# Line breaks ---------------------------------------------------------------------------------

def test_breaks_inside_a_sentence_are_joined_and_others_kept():
    assert joinable("丽水市委常委、组织部长胡侠在云和县，", "浮云街道调研。")
    assert not joinable("调研美丽乡村建设。", "去年以来，丽水市")  # a sentence ends: a paragraph may
    assert not joinable("优化标准 从严规范丽水市让基层党建工作具体化有形化", "◎封 平 陈一良")
    assert not joinable("◎封 平 陈一良", "优化标准")  # a byline stands alone
    assert not joinable("优化标准", "去年以来，丽水市")  # a short line without a mark: a title
    assert not joinable("要求如下：", "一是讲好党建故事")
    assert not joinable("It is a", "fine day")
    assert joinable("他们在", "全村推行", wrapped_at=10)  # hard-wrapped text: a full line goes on


def test_plain_text_wrapped_at_a_width_is_joined_into_paragraphs():
    text = ("优化标准 从严规范\n"
            "去年以来，丽水市对标“浙江省二十条”，提出了以“八\n"
            "个好”作为衡量基层党建工作的具体标准，确保丽水美丽\n"
            "党建可听、可看、可感、可学。\n"
            "一是讲好党建故事，亮出党员干部好形象。丽水市从“讲\n"
            "”美丽党建好故事出发，深入挖掘身边典型。")
    fixed, changes = fix_plain(text)
    assert fixed.split("\n") == [
        "优化标准 从严规范",
        "去年以来，丽水市对标“浙江省二十条”，提出了以“八个好”作为衡量基层党建工作的具体标准，确保丽水美丽党建可听、可看、可感、可学。",
        "一是讲好党建故事，亮出党员干部好形象。丽水市从“讲”美丽党建好故事出发，深入挖掘身边典型。"]
    assert changes.joined == 3


def test_markdown_paragraph_lines_are_joined_and_a_missing_blank_line_is_noted():
    body = "## 标题\n\n第一段,这是\n第二行的内容。\n第三行。\n\n- 列表,项目\n- 第二项:完成\n"
    fixed, changes = fix_markdown(body, first_line=10)
    assert fixed == "## 标题\n\n第一段，这是第二行的内容。\n第三行。\n\n- 列表，项目\n- 第二项：完成\n"
    assert changes.joined == 1
    assert changes.notes == [(14, "和上一行之间没有空行，在网页上是同一段；如果要分段，请在中间空一行")]


def test_a_story_file_keeps_its_keys_code_and_structure():
    story = ("---\ntitle: 優(yōu)化標準,從嚴\nauthors: [封平, 陳一良]\ntags:\n  - 黨建\n"
             "cover: /media/a,b.jpg\ndate: 2017-04-20\n---\n\n## 標題 一\n\n這是,測試.\n\n"
             "```\n代碼,不動(yōu)\n```\n\n| 名稱 | 數量 |\n|---|---|\n| 黨 員 | 10 |\n\n[注]: https://a.b/c,d\n")
    fixed, changes = fix_text(story)
    assert fixed == ("---\ntitle: 优化标准，从严\nauthors: [封平, 陈一良]\ntags:\n  - 党建\n"
                     "cover: /media/a,b.jpg\ndate: 2017-04-20\n---\n\n## 标题 一\n\n这是，测试。\n\n"
                     "```\n代碼,不動(yōu)\n```\n\n| 名称 | 数量 |\n|---|---|\n| 党 员 | 10 |\n\n[注]: https://a.b/c,d\n")
    assert changes.pinyin == 1


def test_the_sample_site_needs_no_fixing():
    """Every file of content/ was cleaned by hand: fix finds nothing to change in any of them but
    the line breaks a preface has inside its paragraphs (which the site joins as well)."""
    for path in sorted((ROOT / "content").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        fixed, changes = fix_text(text)
        assert changes.total == changes.joined, (path, changes.describe())
        assert {note for _, note in changes.notes} <= {"和上一行之间没有空行，在网页上是同一段；如果要分段，请在中间空一行"}
        assert fixed.replace("\n", "") == text.replace("\n", ""), path


# The command --------------------------------------------------------------------------------

def test_fix_keeps_a_bom_and_windows_line_ends_and_saves_gbk_as_utf8(tmp_path, capsys):
    bom = tmp_path / "bom.md"
    bom.write_bytes("\ufeff---\ntitle: 測試\n---\n\n這是,測試.\r\n".replace("\n", "\r\n").replace("\r\r", "\r")
                    .encode("utf-8"))
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("這是,測試.\n".encode("gbk"))
    clean_file = tmp_path / "clean.md"
    clean_file.write_text("这是测试。\n", encoding="utf-8")
    before = clean_file.stat().st_mtime_ns
    assert main(["fix", str(bom), str(gbk), str(clean_file)]) == 0
    out, err = capsys.readouterr()
    assert bom.read_bytes() == "\ufeff---\r\ntitle: 测试\r\n---\r\n\r\n这是，测试。\r\n".encode("utf-8")
    assert gbk.read_bytes() == "这是，测试。\n".encode("utf-8")
    assert f"{gbk}：繁体字改为简体 3 个，标点改为全角 2 处；已改存为 UTF-8 编码" in out
    assert f"{clean_file}：没有需要修改的地方" in out and clean_file.stat().st_mtime_ns == before
    assert "W002" in err


@pytest.mark.parametrize("name, message", [
    ("a.docx", "不能整理 {path}：只能整理故事文件（.md）和文字文件（.txt）；Word 文件请用 gushihui import 导入"),
    ("missing.md", "找不到文件 {path}"),
])
def test_fix_on_what_it_cannot_fix_is_a_command_line_error(tmp_path, capsys, name, message):
    path = tmp_path / name
    if name.endswith(".docx"):
        path.write_bytes(b"PK")
    assert main(["fix", str(path)]) == 2
    assert capsys.readouterr().err == f"gushihui: {message.format(path=path)}\n"


def test_indented_code_stays_and_a_byline_keeps_its_spaces_in_markdown():
    body = ("◎封 平 陈一良\n丽水市委常委、组织部长胡侠在云和县浮云街道调研。\n\n"
            "    縮進代碼,不動\n    第二行,不動\n\n"
            "1. 第一,項\n\n    列表裡的段落,改\n")
    fixed, changes = fix_markdown(body)
    assert fixed == ("◎封 平 陈一良\n丽水市委常委、组织部长胡侠在云和县浮云街道调研。\n\n"
                     "    縮進代碼,不動\n    第二行,不動\n\n"
                     "1. 第一，项\n\n    列表里的段落，改\n")
    assert changes.joined == 0
