"""County showcases on the city site, and each county as a standalone site."""
from pathlib import Path

import pytest

from conftest import broken_links, made, make_site, png, story, tree
from generator import reading
from generator.build import Options, build
from generator.cli import main

ORG = ("county,county_code,township,township_code,branch,branch_code\n"
       "云和县,331125,浮云街道,331125001,中山村党支部,331125001001\n"
       "云和县,331125,浮云街道,331125001,长汀村党支部,331125001002\n"
       "云和县,331125,紧水滩镇,331125107,石浦村党支部,331125107001\n"
       "莲都区,331102,碧湖镇,331102100,堰头村党支部,331102100001\n")
SHOWCASE = "---\nbanner: /media/yunhe.png\nbanner_alt: 云和梯田\naccent: \"#0b5394\"\n---\n\n云和县是童话世界。\n"


def site(tmp_path, **extra):
    return make_site(tmp_path, {
        "site.toml": 'title = "丽水市党建好故事展评"\ncity = "丽水市"\nbase_url = "https://city.example/"\n'
                     '[counties.yun-he-xian]\nbase_url = "https://yunhe.example/"\n',
        "org.csv": ORG,
        "stories/a.md": story("甲。\n\n![图](/media/a.png)\n", title="云和的故事甲", featured="true", standard="green",
                              tags="[梯田, 共同]", date="2021-01-01"),
        "stories/b.md": story("乙。\n", title="云和的故事乙", branch="长汀村党支部", tags="[共同]", date="2021-02-01"),
        "stories/c.md": story("丙。\n", title="云和的故事丙", township="紧水滩镇", branch="石浦村党支部", date="2021-03-01"),
        "stories/d.md": story("丁。\n\n![图](/media/d.png)\n", title="莲都的故事丁", county="莲都区", township="碧湖镇",
                              branch="堰头村党支部", tags="[共同, 古堰]", date="2021-04-01"),
        "showcases/云和县.md": SHOWCASE,
        "media/yunhe.png": png(colour=(0, 90, 200)), "media/a.png": png(colour=(10, 10, 10)),
        "media/d.png": png(colour=(200, 200, 0)),
        **extra})


def run(content, out=None, **kw):
    report = build(Options(content=content, out=out or content.parent / "out", jobs=1, **kw))
    assert report.written and report.errors == [], [str(p) for p in report.problems]
    return report


def text_of(out: Path) -> str:
    return "".join(data.decode("utf-8", "replace") for data in tree(out).values())


def test_the_city_site_has_a_showcase_per_county(tmp_path):
    content = site(tmp_path)
    run(content)
    out = tmp_path / "out"
    page = (out / "counties/yun-he-xian/index.html").read_text(encoding="utf-8")
    assert "云和县是童话世界。" in page and 'alt="云和梯田"' in page
    assert [p.rsplit(".")[-1] for p in made(page, "/media/yunhe")] == ["jpg", "webp"]
    assert page.index("精选故事") < page.index("云和的故事甲") < page.index("最新故事")
    assert 'href="/anthologies/yun-he-xian/fu-yun-jie-dao/"' in page and 'href="/counties/yun-he-xian/jin-shui-tan-zhen/"' in page
    assert 'href="/counties/yun-he-xian/fu-yun-jie-dao/#zhong-shan-cun-dang-zhi-bu"' in page
    assert "创好绿色发展路子" in page and "莲都" not in page
    assert (out / "counties/lian-du-qu/index.html").is_file()  # a county without an introduction
    story_page = (out / "stories/c/index.html").read_text(encoding="utf-8")
    assert 'href="/counties/yun-he-xian/"' in story_page  # the breadcrumb leads to the showcase
    assert 'href="/counties/yun-he-xian/"' in (out / "index.html").read_text(encoding="utf-8")
    assert "--red: #0b5394" not in page  # the colour is the county site's own
    assert broken_links(out) == []


@pytest.mark.parametrize("name", ["云和县", "yun-he-xian"])
def test_a_county_site_holds_that_county_alone(tmp_path, name):
    content = site(tmp_path)
    out = tmp_path / "yunhe"
    run(content, out, county=name)
    files = tree(out)
    everything = text_of(out)
    for other in ("莲都", "碧湖", "堰头", "古堰", "media/d"):
        assert other not in everything, other
    assert "stories/d/index.html" not in files and not any(f.startswith("media/d") for f in files)
    assert len(made(files["stories/a/index.html"].decode(), "/media/a")) == 2
    home = files["index.html"].decode()
    assert "云和县是童话世界。" in home and "<title>云和县党建好故事</title>" in home
    assert "--red: #0b5394" in home
    assert "<id>https://yunhe.example/</id>" in files["feed.xml"].decode()
    sitemap = files["sitemap.xml"].decode()
    assert "<loc>https://yunhe.example/</loc>" in sitemap and "stories/d/" not in sitemap
    tag = files["tags/gong-tong/index.html"].decode()
    assert "云和的故事甲" in tag and "莲都的故事丁" not in tag
    assert broken_links(out) == []
    assert "about/index.html" not in files  # free pages speak for the city


def test_the_command_line_base_url_wins(tmp_path):
    content = site(tmp_path)
    run(content, tmp_path / "yunhe", county="云和县", base_url="https://intranet.example/yh/")
    assert broken_links(tmp_path / "yunhe", "/yh/") == []
    assert "<loc>https://intranet.example/yh/</loc>" in (tmp_path / "yunhe/sitemap.xml").read_text(encoding="utf-8")
    run(content, tmp_path / "liandu", county="莲都区")  # no [counties] entry: the city's address + slug
    assert "<loc>https://city.example/lian-du-qu/</loc>" in (tmp_path / "liandu/sitemap.xml").read_text(encoding="utf-8")


def test_an_unknown_county_is_a_command_line_error(tmp_path, capsys):
    content = site(tmp_path)
    assert main(["build", "--content", str(content), "--out", str(tmp_path / "x"), "--county", "云和"]) == 2
    assert "命令行参数 --county：组织名册里没有“云和”，是不是“云和县”" in capsys.readouterr().err
    assert main(["check", "--content", str(content), "--county", "云和"]) == 2
    assert "命令行参数 --county：组织名册里没有“云和”" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_all_counties_read_each_story_once_and_equal_single_builds(tmp_path, monkeypatch):
    content = site(tmp_path)
    parsed = []
    real = reading.read_stories
    monkeypatch.setattr(reading, "read_stories", lambda paths, *a: parsed.extend(paths) or real(paths, *a))
    report = run(content, tmp_path / "all", all_counties=True)
    assert sorted(p.name for p in parsed) == ["a.md", "b.md", "c.md", "d.md"]
    assert sorted(p.name for p in (tmp_path / "all").iterdir() if not p.name.startswith(".")) == \
        ["lian-du-qu", "yun-he-xian"]
    for name, slug in (("云和县", "yun-he-xian"), ("莲都区", "lian-du-qu")):
        single = tmp_path / f"single-{slug}"
        run(content, single, county=name)
        together, alone = tree(tmp_path / "all" / slug), tree(single)
        together.pop(".gushihui-output"), alone.pop(".gushihui-output")
        assert together == alone, slug
    again = run(content, tmp_path / "all", all_counties=True)
    assert again.rendered == 0 and report.pages == again.pages


def test_a_county_theme_overrides_single_templates(tmp_path):
    content = site(tmp_path, **{"showcases/云和县.md": "---\ntheme: yunhe\n---\n介绍。\n"})
    theme = tmp_path / "themes/yunhe/templates"
    theme.mkdir(parents=True)
    (theme / "404.html").write_text("云和自己的 404")
    run(content, tmp_path / "yunhe", county="云和县")
    assert (tmp_path / "yunhe/404.html").read_text(encoding="utf-8") == "云和自己的 404"
    assert "云和县党建好故事" in (tmp_path / "yunhe/index.html").read_text(encoding="utf-8")  # the rest inherited
    run(content)  # the city site keeps its own theme
    assert "云和自己的" not in (tmp_path / "out/404.html").read_text(encoding="utf-8")


def test_showcase_mistakes_are_reported(tmp_path):
    content = site(tmp_path, **{"showcases/云和.md": "介绍。\n",
                                "showcases/云和县.md": '---\naccent: "red;} body{display:none"\n---\n介绍。\n'})
    report = build(Options(content=content, out=tmp_path / "out", jobs=1))
    got = sorted((p.code, Path(p.file).name, p.line) for p in report.errors)
    assert got == [("E304", "云和县.md", 2), ("E323", "云和.md", 1)]
    assert "云和县" in next(p for p in report.errors if p.code == "E323").message


def test_a_county_address_for_no_county_is_a_warning(tmp_path):
    content = site(tmp_path)
    toml = content / "site.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("[counties.yun-he-xian]", "[counties.yun-he]"),
                    encoding="utf-8")
    report = build(Options(content=content, out=tmp_path / "out", jobs=1))
    assert [(p.code, Path(p.file).name) for p in report.problems] == [("W105", "site.toml")]
    assert "yun-he-xian" in report.problems[0].message
