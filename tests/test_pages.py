"""What readers and editors see on the pages (issue 13): list order, page
numbers, headings, descriptions, the story page's words, the footer of a
government site, and a site that opens from a disk (relative_urls)."""
import html
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from conftest import ROOT, SITE_TOML, make_site, parse, story
from generator.build import Options, build
from generator.plan import PER_PAGE


def run(content: Path, out: Path | None = None):
    report = build(Options(content=content, out=out or content.parent / "out", jobs=1))
    assert report.written and report.errors == [], [str(p) for p in report.problems]
    return out or content.parent / "out"


def text(out: Path, address: str) -> str:
    return (out / address).read_text(encoding="utf-8")


def titles(page: str, level: int = 0) -> list[str]:
    """The card titles of a list page, in order (of heading level `level`, if given)."""
    tag = f"h{level}" if level else r"h\d"
    return re.findall(rf'<{tag} class="card-title"><a href="[^"]*">([^<]+)</a>', page)


# Lists -------------------------------------------------------------------------------

def dated(n: int, day: str, **fields) -> str:
    return story(f"第{n}个故事。\n", title=f"故事{n}", date=day, **fields)


def test_tag_and_standard_lists_are_newest_first_and_townships_newest_first_in_each_branch(tmp_path):
    content = make_site(tmp_path, {
        "stories/1.md": dated(1, "2020-01-05", tags="[民宿]", standard="green"),
        "stories/2.md": dated(2, "2022-03-01", tags="[民宿]", standard="green", branch="长汀村党支部"),
        "stories/3.md": dated(3, "2021-07-09", tags="[民宿]", standard="green"),
        "stories/4.md": dated(4, "2019-12-31", tags="[民宿]", standard="green", branch="长汀村党支部"),
    })
    out = run(content)
    newest = ["故事2", "故事3", "故事1", "故事4"]  # 2022, 2021, 2020, 2019
    assert titles(text(out, "tags/min-su/index.html")) == newest
    assert titles(text(out, "standards/green/index.html")) == newest
    # org.csv lists 中山村 before 长汀村: 中山村's 3 (2021) and 1 (2020), then 长汀村's 2 (2022) and 4 (2019)
    assert titles(text(out, "counties/yun-he-xian/fu-yun-jie-dao/index.html")) == ["故事3", "故事1", "故事2", "故事4"]


def test_a_lists_later_pages_say_their_number_and_every_page_its_own_description(tmp_path):
    n = PER_PAGE + 3  # two pages: 50 and 3
    content = make_site(tmp_path, {f"stories/{i}.md": dated(i, f"2020-01-{i % 28 + 1:02d}", tags="[民宿]")
                                   for i in range(n)})
    out = run(content)
    first, second = text(out, "tags/min-su/index.html"), text(out, "tags/min-su/page/2/index.html")
    assert "<title>标签：民宿 - 测试站</title>" in first and "第 1 页" not in first
    assert "<title>标签：民宿（第 2 页） - 测试站</title>" in second
    assert re.search(r"<h1[^>]*>.*第 2 页.*</h1>", second)
    described = {}
    for page in out.rglob("index.html"):
        found = re.search(r'<meta name="description" content="([^"]*)"', page.read_text(encoding="utf-8"))
        described.setdefault(found.group(1), []).append(page.relative_to(out).as_posix())
    # Only the home page shows the site's own description; no two pages share one.
    assert {k: v for k, v in described.items() if len(v) > 1} == {}
    assert f"标签为“民宿”的{n}个故事，最新的在前（第 2 页）" in second


def test_cards_under_a_pages_h1_are_h2_and_under_an_h2_are_h3(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": dated(1, "2020-01-01", tags="[民宿]", standard="green")})
    out = run(content)
    for address in ("tags/min-su/index.html", "standards/green/index.html"):
        page = text(out, address)
        assert titles(page, 2) == ["故事1"] and "<h3" not in page, address
    home = text(out, "index.html")
    assert titles(home, 3) and '<h2 id="newest-title"' in home


# Words ------------------------------------------------------------------------------

def test_story_page_labels_its_authors_and_says_prev_next_stay_in_the_township(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": dated(1, "2020-01-01", authors="[封平, 陈一良]", source="丽水日报",
                                                         editor="李明"),
                                   "stories/b.md": dated(2, "2021-01-01")})
    out = run(content)
    first, second = text(out, "stories/a/index.html"), text(out, "stories/b/index.html")
    assert "<span>来源：丽水日报</span>" in first and "<span>作者：封平、陈一良</span>" in first
    assert first.index("来源") < first.index("作者") < first.index('class="prose"') < first.index("（责任编辑：李明）")
    assert "来源" not in second and "责任编辑" not in second
    assert '<span>浮云街道下一篇</span>故事2' in first and '<span>浮云街道上一篇</span>故事1' in second


def test_a_long_first_sentence_is_the_summary_not_cut_in_a_word(tmp_path):
    """The sample's ba-ge-hao opens with a sentence of 153 characters: more than
    the 120 a summary aims at, less than 180, so it is the summary, whole."""
    out = ROOT / "content/stories/云和县/浮云街道/ba-ge-hao.md"
    body = out.read_text(encoding="utf-8").split("---\n", 2)[2].strip().split("\n")[0]
    content = make_site(tmp_path, {"stories/a.md": story(body + "\n\n第二段。\n")})
    page = text(run(content), "index.html")
    [summary] = re.findall(r'<p class="summary">([^<]*)</p>', page)
    assert html.unescape(summary) == body and len(body) == 153


def test_curly_quotes_use_the_readers_chinese_font():
    """“” ‘’ — … and · come from a face made of the reader's own CJK fonts
    (local(), nothing fetched), first in the font stack."""
    css = (ROOT / "themes/default/static/css/site.css").read_text(encoding="utf-8")
    faces = re.findall(r"@font-face \{[^}]*\}", css)
    assert faces and all("url(" not in f and "local(" in f for f in faces)
    assert all("U+2018-2019, U+201C-201D" in f for f in faces)
    assert re.search(r'--sans: "CJK Punctuation",', css) and re.search(r'--serif: "CJK Punctuation Serif",', css)
    printed = css[css.index("@media print"):]
    assert "@page { size: A4;" in printed  # a story printed from the browser is on A4


# The footer of a government site ----------------------------------------------------

FACTS = ('host = "中共丽水市委组织部"\norganizer = "丽水市党员教育中心"\ncontact = "0578-2123456"\n'
         'icp = "浙ICP备12345678号"\npolice_beian = "浙公网安备 33110202000123号"\nsite_code = "3311000012"\n')


def test_every_page_shows_the_footer_facts(tmp_path):
    content = make_site(tmp_path, {"site.toml": SITE_TOML + FACTS, "stories/a.md": story()})
    out = run(content)
    pages = list(out.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for fact in ("主办单位：中共丽水市委组织部", "承办单位：丽水市党员教育中心", "联系方式：0578-2123456",
                     '<a href="https://beian.miit.gov.cn/" rel="noopener" target="_blank">浙ICP备12345678号</a>',
                     'href="https://beian.mps.gov.cn/#/query/webSearch?code=33110202000123"',
                     "网站标识码：3311000012"):
            assert fact in html, (page, fact)


def test_without_footer_facts_there_is_no_empty_line_for_them(tmp_path):
    out = run(make_site(tmp_path, {"stories/a.md": story()}))
    assert "site-facts" not in text(out, "index.html")


# Phones ------------------------------------------------------------------------------

def test_the_home_page_leads_to_counties_and_standards_before_the_cards(tmp_path):
    out = run(make_site(tmp_path, {"stories/a.md": dated(1, "2020-01-01", featured="true")}))
    home = text(out, "index.html")
    jump = home.index('class="jump"')
    assert jump < home.index('class="card') and 'href="#counties-title"' in home and 'href="#standards-title"' in home
    assert 'id="counties-title"' in home and 'id="standards-title"' in home


# Opening the output from a disk -------------------------------------------------------

def test_relative_urls_make_a_site_that_opens_from_disk(tmp_path):
    """Every address of every page leads to a file (never a folder) relative to
    the page; nothing starts with "/"; the feed and canonical links stay absolute."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    toml = content / "site.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('base_url = "https://example.org/"',
                                                              'base_url = "https://example.org/gsh/"\nrelative_urls = true'),
                    encoding="utf-8")
    out = run(content)
    checked = 0
    for page in out.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        urls = parse(page).urls + [c.strip().split(" ")[0] for s in re.findall(r'srcset="([^"]*)"', html)
                                   for c in s.split(",")]
        for url in urls:
            if url.startswith(("https://", "http://", "mailto:", "tel:", "data:", "#")):
                continue
            assert not url.startswith("/"), (page, url)
            target = (page.parent / unquote(url.split("#")[0].split("?")[0])).resolve()
            assert target.is_file(), (page.relative_to(out), url)
            checked += 1
        assert '<link rel="canonical" href="https://example.org/gsh/' in html or page.name == "404.html"
    assert checked > 2000
    assert 'href="https://example.org/gsh/stories/' in text(out, "feed.xml")


@pytest.mark.parametrize("page, link, expected", [
    ("index.html", "/counties/", "counties/index.html"),
    ("stories/a/index.html", "/", "../../index.html"),
    ("stories/a/index.html", "/stories/b/#top", "../b/index.html#top"),
    ("tags/x/page/2/index.html", "/media/a b.jpg", "../../../../media/a b.jpg"),
])
def test_relative_addresses(page, link, expected):
    from generator.formats import relative_addresses

    assert relative_addresses(f'<a href="{link}">', page, "/") == f'<a href="{expected}">'
