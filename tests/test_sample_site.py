"""The sample site in content/, built once per session, checked page by page."""
import csv
import re
import xml.etree.ElementTree as ET
from pathlib import Path


from conftest import ROOT, broken_links, parse
from generator.chinese import slugify

CONTENT = ROOT / "content"
ATOM = "{http://www.w3.org/2005/Atom}"


def frontmatter(path: Path) -> dict[str, str]:
    head = path.read_text(encoding="utf-8").split("---\n")[1]
    return dict(line.split(": ", 1) for line in head.splitlines() if ": " in line and not line.startswith(" "))


STORIES = sorted((CONTENT / "stories").rglob("*.md"))
PUBLISHED = [p for p in STORIES if frontmatter(p).get("draft") != "true"]
DRAFTS = [p for p in STORIES if frontmatter(p).get("draft") == "true"]


def slug_of(path: Path) -> str:
    return frontmatter(path).get("slug") or slugify(path.stem)


def test_sample_content_is_as_promised():
    assert len(STORIES) >= 30 and DRAFTS
    fms = [frontmatter(p) for p in STORIES]
    names = {fm.get("standard") for fm in fms}
    standards = {"讲好党建故事": "story", "亮好党员干部形象": "image", "建好服务群众项目": "service",
                 "创好绿色发展路子": "green", "管好党建基础档案": "archive", "落好从严管理措施": "discipline",
                 "筑好基层战斗堡垒": "bastion", "建好有力推进机制": "mechanism"}
    assert {standards.get(n, n) for n in names} == set(standards.values())
    assert sum("cover" in fm for fm in fms) >= 5 and sum(fm.get("featured") == "true" for fm in fms) >= 2
    counties = {r["county"] for r in csv.DictReader(open(CONTENT / "org.csv", encoding="utf-8"))}
    assert len(counties) == 9


def test_every_story_is_300_to_3000_characters():
    for path in STORIES:
        body = path.read_text(encoding="utf-8").split("---\n", 2)[2]
        n = len(re.findall(r"[\u4e00-\u9fff]", body))
        assert 300 <= n <= 3000, (path, n)


def test_every_contract_address_exists(sample):
    expected = ["index.html", "counties/index.html", "feed.xml", "sitemap.xml", "robots.txt", "404.html",
                "about/index.html", "rules/index.html"]
    expected += [f"stories/{slug_of(p)}/index.html" for p in PUBLISHED]
    expected += [f"standards/{s}/index.html" for s in
                 ("story", "image", "service", "green", "archive", "discipline", "bastion", "mechanism")]
    for row in csv.DictReader(open(CONTENT / "org.csv", encoding="utf-8")):
        expected.append(f"counties/{slugify(row['county'])}/{slugify(row['township'])}/index.html")
    tags = {t.strip() for p in PUBLISHED for t in frontmatter(p).get("tags", "[]").strip("[]").split(",")}
    expected += [f"tags/{slugify(t)}/index.html" for t in tags if t]
    expected += ["anthologies/index.html", "ratings/index.html", "ratings/results.csv", "coverage/index.html",
                 "coverage/coverage.csv"]
    counties = {r["county"] for r in csv.DictReader(open(CONTENT / "org.csv", encoding="utf-8"))}
    expected += [f"ratings/{slugify(c)}/index.html" for c in counties] + [f"counties/{slugify(c)}/index.html" for c in counties]
    towns = {(frontmatter(p)["county"], frontmatter(p)["township"]) for p in PUBLISHED}
    expected += [f"anthologies/{slugify(c)}/{slugify(t)}/index.html" for c, t in towns]
    missing = [e for e in expected if not (sample / e).is_file()]
    assert missing == []
    assert len(list(sample.glob("anthologies/*/*/index.html"))) == len(towns)  # only townships with stories
    assert (sample / "counties/jing-ning-she-zu-zi-zhi-xian/he-xi-jie-dao/index.html").exists()
    assert (sample / "counties/lian-du-qu/zi-jin-jie-dao/index.html").exists()


def test_drafts_are_not_published(sample):
    for path in DRAFTS:
        assert not (sample / "stories" / slug_of(path)).exists()
        title = frontmatter(path)["title"]
        assert title not in (sample / "index.html").read_text() and title not in (sample / "feed.xml").read_text()


def test_every_internal_link_resolves(sample):
    assert broken_links(sample) == []
    assert all(parse(page).lang == "zh-CN" for page in sample.rglob("*.html"))


def test_nothing_is_fetched_from_another_host(sample):
    """Images, scripts, styles and icons all come from the site itself."""
    for page in sample.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r'src="(https?:)?//', text), page
        for tag in re.findall(r"<link [^>]+>", text):
            if 'rel="canonical"' not in tag and 'rel="alternate"' not in tag:
                assert re.search(r'href="/', tag), (page, tag)
    for sheet in sample.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8")
        assert "@import" not in text and not re.search(r"url\(\s*['\"]?(https?:)?//", text), sheet


def test_story_page(sample):
    html = (sample / "stories/fuyun-map/index.html").read_text()
    assert "<h1>民情地图绘出干群连心桥</h1>" in html
    assert "2017年3月15日" in html and "封平" in html and "陈一良" in html
    assert 'href="/counties/yun-he-xian/"' in html and 'href="/counties/yun-he-xian/fu-yun-jie-dao/"' in html
    assert 'href="/counties/yun-he-xian/fu-yun-jie-dao/#zhong-shan-cun-dang-zhi-bu"' in html
    assert 'href="/standards/archive/"' in html and 'href="/tags/min-qing-di-tu/"' in html
    assert re.search(r"约 \d+ 分钟读完", html)
    assert "<figcaption>浮云街道干部正在绘制民情地图。</figcaption>" in html
    assert 'rel="prev"' in html or 'rel="next"' in html


def test_no_stray_line_breaks_between_chinese_characters(sample):
    for page in (sample / "stories").rglob("index.html"):
        prose = page.read_text().split('<div class="prose">')[1].split("</div>")[0]
        for para in re.findall(r"<p>(.*?)</p>", prose, re.S):
            assert not re.search(r"[\u4e00-\u9fff，。、；：？！”“]\s*\n\s*[\u4e00-\u9fff，。、；：？！“”]", para), page


def test_legacy_article_is_clean_simplified_chinese(sample):
    html = (sample / "stories/ba-ge-hao/index.html").read_text()
    prose = html.split('<div class="prose">')[1].split("</div>")[0]
    for traditional in "麗黨縣鄉優標準從嚴規範組織設強點檔":
        assert traditional not in prose
    assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", prose)  # no (yōu) pinyin
    assert not re.search(r"[\u4e00-\u9fff],|,[\u4e00-\u9fff]", prose)  # no ASCII comma in Chinese
    assert "◎" not in html
    assert "丽水市从“讲”美丽党建好故事出发" in prose


def test_feed_is_atom_with_absolute_addresses(sample):
    root = ET.parse(sample / "feed.xml").getroot()
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == min(50, len(PUBLISHED))
    dates = [e.find(f"{ATOM}updated").text for e in entries]
    assert dates == sorted(dates, reverse=True)
    for e in entries:
        assert e.find(f"{ATOM}link").get("href").startswith("https://example.org/stories/")


def test_sitemap_and_robots(sample):
    root = ET.parse(sample / "sitemap.xml").getroot()
    locs = [u.find("{http://www.sitemaps.org/schemas/sitemap/0.9}loc").text for u in root]
    assert "https://example.org/" in locs and "https://example.org/stories/fuyun-map/" in locs
    assert all(loc.startswith("https://example.org/") for loc in locs)
    assert "https://example.org/404.html" not in locs
    assert "Sitemap: https://example.org/sitemap.xml" in (sample / "robots.txt").read_text()


def test_home_page(sample):
    html = (sample / "index.html").read_text()
    assert "精选故事" in html and "最新故事" in html
    for name in ("讲好党建故事", "建好有力推进机制", "景宁畲族自治县", "龙泉市"):
        assert name in html
    assert f"<strong>{len(PUBLISHED)}</strong>个故事" in html


def test_accessibility_landmarks(sample):
    html = (sample / "stories/fuyun-map/index.html").read_text()
    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html
    assert '<nav class="site-nav" aria-label="主导航">' in html and "<header" in html and "<footer" in html
    assert 'alt="' in html and 'name="viewport"' in html


def test_every_county_of_the_sample_is_a_site_of_its_own(tmp_path):
    from urllib.parse import urlsplit

    from generator.build import Options, build
    from generator.config import load_settings

    report = build(Options(content=CONTENT, out=tmp_path / "counties", all_counties=True, jobs=1))
    assert report.written and report.problems == [], [str(p) for p in report.problems]
    counties = {r["county"] for r in csv.DictReader(open(CONTENT / "org.csv", encoding="utf-8"))}
    base = urlsplit(load_settings(CONTENT)[0].base_url).path
    for county in counties:
        out = tmp_path / "counties" / slugify(county)
        assert (out / "index.html").is_file() and broken_links(out, f"{base}{slugify(county)}/") == [], county
        others = counties - {county}
        assert not any(other in (out / "index.html").read_text(encoding="utf-8") for other in others)


def test_pictures_are_published_without_metadata_and_with_their_size(sample):
    """content/media/yunhe-fuyun-map.jpg is a phone photo: stored on its side with
    EXIF orientation 6, a camera, a time, GPS, XMP and a comment. No picture
    of the site keeps any of it, and every <img> says how large it is."""
    from PIL import Image

    source = Image.open(CONTENT / "media/yunhe-fuyun-map.jpg")
    assert source.getexif().get(0x0112) == 6 and source.getexif().get_ifd(0x8825)  # the test is real
    pictures = [p for p in sample.rglob("*") if p.suffix in (".jpg", ".jpeg", ".png", ".webp", ".gif")]
    assert len(pictures) >= 15 * 6
    for path in pictures:
        data = path.read_bytes()
        with Image.open(path) as image:
            assert not image.getexif() and not {"exif", "xmp", "icc_profile", "comment"} & set(image.info), path
        for mark in (b"Exif\0\0", b"http://ns.adobe.com/xap/1.0/", b"HUAWEI", b"fuyun street"):
            assert mark not in data, (path, mark)
    # Upright: the 1200×800 map was stored 800×1200 and turned back.
    [largest] = sample.glob("media/yunhe-fuyun-map-1200w-*.jpg")
    assert Image.open(largest).size == (1200, 800)
    for page in sample.rglob("*.html"):
        for img in re.findall(r"<img\b[^>]*>", page.read_text(encoding="utf-8")):
            assert re.search(r' width="\d+"', img) and re.search(r' height="\d+"', img), (page, img)
