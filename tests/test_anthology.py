"""Township anthologies: the book as one page, the list of books, and the
PDF read back (text, fonts, bookmarks, contents page numbers).

The PDFs are set in tests/fonts/gushihui-test-serif.otf, a subset of Noto
Serif CJK SC made by tests/fonts/make_subset.py, so that these tests do not
depend on the fonts of the machine they run on."""
import re
import sys
from pathlib import Path

import pypdf
import pytest

from conftest import make_site, story
from generator.build import Options, build

FONT = Path(__file__).parent / "fonts" / "gushihui-test-serif.otf"
ORG = ("county,county_code,township,township_code,branch,branch_code\n"
       "云和县,331125,浮云街道,331125001,中山村党支部,331125001001\n"
       "云和县,331125,浮云街道,331125001,长汀村党支部,331125001002\n"
       "云和县,331125,紧水滩镇,331125107,石浦村党支部,331125107001\n")
PREFACE = "---\ntitle: 浮云街道党建故事集\neditor: 中共浮云街道工作委员会\nyear: 2024\n---\n\n这本汇编收录了各支部的故事。\n"
BODY = "第一段正文，讲述支部的工作。\n\n## 一、开始\n\n第二段正文。\n\n## 二、结果\n\n" + "这是一段较长的正文，用来占满纸面。" * 40 + "\n"


def site(tmp_path, **extra):
    settings = 'title = "测试站"\ncity = "丽水市"\nbase_url = "/gsh/"\n' \
               f'[anthology]\npaper = "A5"\npdf_font = "{FONT}"\n'
    return make_site(tmp_path, {
        "site.toml": settings, "org.csv": ORG,
        "stories/b.md": story(BODY, title="第二个故事", branch="长汀村党支部", date="2021-02-01", authors="[李四]"),
        "stories/a2.md": story(BODY, title="第一个故事的续篇", date="2021-03-01"),
        "stories/a1.md": story(BODY + "\n![图](/media/x.png)\n", title="第一个故事", date="2021-01-01",
                               authors="[张三]"),
        "stories/other.md": story("别的乡镇。\n", title="别的故事", township="紧水滩镇", branch="石浦村党支部"),
        "anthologies/云和县/浮云街道.md": PREFACE,
        "media/x.png": _png(),
        **extra})


def _png() -> bytes:
    import io

    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(data, "PNG")
    return data.getvalue()


def run(content, **kw):
    return build(Options(content=content, out=content.parent / "out", jobs=1, **kw))


# The book as a web page ---------------------------------------------------------------

def test_the_book_has_cover_preface_contents_stories_and_colophon(tmp_path):
    report = run(site(tmp_path))
    assert report.problems == [], [str(p) for p in report.problems]
    page = (tmp_path / "out/anthologies/yun-he-xian/fu-yun-jie-dao/index.html").read_text(encoding="utf-8")
    assert '<h1 id="book-title" class="book-title">浮云街道党建故事集</h1>' in page
    assert "中共浮云街道工作委员会" in page and "2024年" in page and "这本汇编收录了各支部的故事。" in page
    toc = page[page.index('class="book-toc"'):page.index('class="book-branch"')]
    assert re.findall(r'<span class="toc-title">([^<]+)</span>', toc) == ["第一个故事", "第一个故事的续篇", "第二个故事"]
    assert toc.index("中山村党支部") < toc.index("长汀村党支部")  # branches in org.csv order
    assert "别的故事" not in page  # another township's
    assert page.count("第二段正文。") == 3 and re.search(r'src="/gsh/media/x-40w-[0-9a-f]{10}\.jpg"', page)  # in full
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids)) and 'id="a1--yi-kai-shi"' in page  # headings unique in the book
    assert "收录故事</dt><dd>3 篇（2 个党支部）" in page
    assert "@page { size: A5; @top-center { content: \"浮云街道党建故事集\"; } }" in page  # running header
    assert "anthology.pdf" not in page  # no PDF without --pdf


def test_the_list_and_the_township_link_to_the_books(tmp_path):
    run(site(tmp_path))
    out = tmp_path / "out"
    books = (out / "anthologies/index.html").read_text(encoding="utf-8")
    assert 'href="/gsh/anthologies/yun-he-xian/fu-yun-jie-dao/"' in books and "浮云街道党建故事集" in books
    assert 'href="/gsh/anthologies/yun-he-xian/jin-shui-tan-zhen/"' in books and "紧水滩镇党建好故事汇编" in books
    township = (out / "counties/yun-he-xian/fu-yun-jie-dao/index.html").read_text(encoding="utf-8")
    assert 'href="/gsh/anthologies/yun-he-xian/fu-yun-jie-dao/"' in township
    counties = (out / "counties/index.html").read_text(encoding="utf-8")
    assert 'href="/gsh/anthologies/yun-he-xian/fu-yun-jie-dao/"' in counties


def test_a_preface_for_a_township_not_in_the_registry_is_an_error(tmp_path):
    content = site(tmp_path, **{"anthologies/云和县/浮云镇.md": PREFACE})
    report = run(content)
    assert [(p.code, Path(p.file).name, p.line) for p in report.errors] == [("E322", "浮云镇.md", 1)]
    assert "浮云街道" in report.errors[0].message  # the likely meaning


def test_a_css_string_cannot_end_the_style_element(tmp_path):
    content = site(tmp_path, **{"anthologies/云和县/浮云街道.md": '---\ntitle: "书</style><script>x()</script>"\n---\n'})
    run(content)
    page = (tmp_path / "out/anthologies/yun-he-xian/fu-yun-jie-dao/index.html").read_text(encoding="utf-8")
    style = page[page.index("<style>"):page.index("</style>")]
    assert "<" not in style[1:] and "<script>" not in page


# The PDF -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def book(tmp_path_factory):
    content = site(tmp_path_factory.mktemp("pdf"))
    report = run(content, pdf=True)
    assert report.problems == [], [str(p) for p in report.problems]
    return content.parent / "out/anthologies/yun-he-xian/fu-yun-jie-dao"


def outline(reader):
    entries = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                entries.append((depth, item.title, reader.get_destination_page_number(item) + 1))
    walk(reader.outline, 0)
    return entries


def test_the_pdf_holds_the_stories_in_an_embedded_font(book):
    reader = pypdf.PdfReader(book / "anthology.pdf")
    text = "".join(page.extract_text() for page in reader.pages)
    for title in ("浮云街道党建故事集", "第一个故事", "第一个故事的续篇", "第二个故事", "第二段正文"):
        assert title in text
    fonts, names = set(), set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)["/FontDescriptor"]
            fonts.add(any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")))
            names.add(str(font["/BaseFont"]).partition("+")[2].removesuffix("-Bold"))  # bold: made from it
    assert fonts == {True}
    # The book, running heads and page numbers too, is set in the pdf_font file itself, not in a
    # font that happens to be installed (WeasyPrint ignores @font-face without a FontConfiguration:
    # the book fell back to Noto where it was installed, to DejaVu's empty boxes where not).
    assert names == {"GushihuiPDF"}
    assert reader.metadata.title.startswith("浮云街道党建故事集") and reader.metadata.author == "中共浮云街道工作委员会"


def test_the_pdf_has_a_bookmark_per_branch_and_story(book):
    entries = outline(pypdf.PdfReader(book / "anthology.pdf"))
    stories = [(title, page) for depth, title, page in entries if depth == 1]
    branches = [title for depth, title, _ in entries if depth == 0]
    assert [t for t, _ in stories] == ["第一个故事", "第一个故事的续篇", "第二个故事"]
    assert branches == ["前言", "目录", "中山村党支部", "长汀村党支部"]


def test_the_contents_page_numbers_are_where_the_stories_start(book):
    reader = pypdf.PdfReader(book / "anthology.pdf")
    starts = {title: page for depth, title, page in outline(reader) if depth == 1}
    contents = next(p.extract_text() for p in reader.pages if "目" in p.extract_text() and "第二个故事" in p.extract_text()
                    and "第二段正文" not in p.extract_text())
    listed = {m.group(1): int(m.group(2)) for m in re.finditer(r"(第[^\n.]*?故事[^\n.]*?)[ .]*?(\d+)\s*$", contents, re.M)}
    assert listed == starts and len(set(starts.values())) == 3  # each story starts on a page of its own
    for title, number in starts.items():
        assert title in reader.pages[number - 1].extract_text()


def test_one_story_edited_remakes_only_its_book(tmp_path):
    content = site(tmp_path)
    assert run(content, pdf=True).written
    out = tmp_path / "out/anthologies/yun-he-xian"

    def made():
        return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/anthology.pdf")}

    before = made()
    path = content / "stories/other.md"
    path.write_text(path.read_text(encoding="utf-8").replace("别的乡镇。", "别的乡镇，改过了。"), encoding="utf-8")
    report = run(content, pdf=True)
    after = made()
    assert report.written and sorted(after) == ["fu-yun-jie-dao", "jin-shui-tan-zhen"]
    assert after["fu-yun-jie-dao"] == before["fu-yun-jie-dao"]  # not made again
    assert after["jin-shui-tan-zhen"] != before["jin-shui-tan-zhen"]
    assert "改过了" in pypdf.PdfReader(out / "jin-shui-tan-zhen/anthology.pdf").pages[-2].extract_text() + \
        "".join(p.extract_text() for p in pypdf.PdfReader(out / "jin-shui-tan-zhen/anthology.pdf").pages)


def test_without_weasyprint_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint raises ImportError
    report = run(site(tmp_path), pdf=True)
    assert not report.written and [p.code for p in report.errors] == ["E503"]
    assert "pip install" in report.errors[0].message and "共 2 个页面出错" in report.errors[0].message


def test_a_font_without_the_characters_is_refused_before_writing(tmp_path):
    content = site(tmp_path, **{"stories/odd.md": story("罕见字\U0010fffd。\n", title="第三个故事")})
    report = run(content, pdf=True)
    assert not report.written and [p.code for p in report.errors] == ["E504"]
    assert "\U0010fffd" in report.errors[0].message and "fonts-noto-cjk" in report.errors[0].message


def test_a_font_family_that_is_not_installed_is_named(tmp_path):
    content = site(tmp_path)
    toml = content / "site.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(str(FONT), "没有这种字体"), encoding="utf-8")
    report = run(content, pdf=True)
    assert [p.code for p in report.errors] == ["E504"] and "没有这种字体" in report.errors[0].message


def test_a_preface_in_the_wrong_place_is_named(tmp_path):
    content = site(tmp_path, **{"anthologies/浮云街道.md": PREFACE})
    report = run(content)
    assert [(p.code, Path(p.file).name) for p in report.problems] == [("W325", "浮云街道.md")]
    assert "anthologies/县名/乡镇名.md" in report.problems[0].message
