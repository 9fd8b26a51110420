"""Coverage: which branches have told a story, on the page, in the CSV and in
`check`; and the commands that start a site or a story."""
import csv
import json

from conftest import ROOT, make_site
from generator.build import Options, build
from generator.cli import main

CONTENT = ROOT / "content"
# Hand-counted from content/org.csv and the sample's stories: 39 branches; 莲都区 has 5 (two of 碧湖镇's
# without a story), 龙泉市 6, every other county 4 with one branch silent; 10 silent in all.
COUNTIES = {"莲都区": (3, 5), "青田县": (3, 4), "缙云县": (3, 4), "遂昌县": (3, 4), "松阳县": (3, 4), "云和县": (3, 4),
            "庆元县": (3, 4), "景宁畲族自治县": (3, 4), "龙泉市": (5, 6)}


def test_check_prints_the_sample_coverage_and_the_chase_list(capsys):
    assert main(["check", "--content", str(CONTENT)]) == 0
    out = capsys.readouterr().out
    assert "已讲故事的支部：29/39（74.4%），目标 100%。" in out
    for county, (told, total) in COUNTIES.items():
        assert f"{county}" in out and f"{told}/{total}" in out
    assert "  莲都区 碧湖镇：新合村党支部（331102100002）、下南山村党支部（331102100003）" in out
    assert out.count("党支部（") == 10


def test_the_page_and_the_csv_show_the_same_numbers(sample):
    page = (sample / "coverage/index.html").read_text(encoding="utf-8")
    assert "全市 39 个党支部中，29 个已经讲了故事（74.4%）" in page
    for county, (told, total) in COUNTIES.items():
        assert f"{county}</a>\n    <small>{told}/{total}" in page
    assert "新合村党支部（331102100002）、下南山村党支部（331102100003）" in page
    data = (sample / "coverage/coverage.csv").read_bytes()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    assert len(rows) == 40 and sum(1 for r in rows[1:] if r[6] == "0") == 10
    assert ["莲都区", "331102", "碧湖镇", "331102100", "新合村党支部", "331102100002", "0", ""] in rows
    home = (sample / "index.html").read_text(encoding="utf-8")
    assert "已讲故事的支部 29/39（74.4%）" in home
    showcase = (sample / "counties/long-quan-shi/index.html").read_text(encoding="utf-8")
    assert "已讲故事的支部 5/6（83.3%）" in showcase
    township = (sample / "counties/lian-du-qu/bi-hu-zhen/index.html").read_text(encoding="utf-8")
    assert "还没有讲故事的支部" in township and "新合村党支部、下南山村党支部" in township


def test_check_as_json_for_one_county_and_below_the_minimum(capsys):
    assert main(["check", "--content", str(CONTENT), "--county", "lian-du-qu", "--format", "json",
                 "--min-coverage", "0.5"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "gushihui-check-1" and data["ok"] and data["errors"] == []
    assert [c["name"] for c in data["coverage"]["counties"]] == ["莲都区"]
    assert data["coverage"]["told"] == 3 and data["coverage"]["total"] == 5
    bihu = next(t for t in data["coverage"]["counties"][0]["townships"] if t["name"] == "碧湖镇")
    assert bihu["missing"] == [{"name": "新合村党支部", "code": "331102100002"},
                               {"name": "下南山村党支部", "code": "331102100003"}]
    assert main(["check", "--content", str(CONTENT), "--min-coverage", "0.8"]) == 1
    assert "覆盖率 74.4% 低于要求的 80.0%" in capsys.readouterr().err


def test_new_story_refuses_a_twin_and_its_placeholder_cannot_be_published(tmp_path, capsys):
    content = make_site(tmp_path, {})
    args = ["new", "story", "--content", str(content), "--county", "云和县", "--township", "浮云街道",
            "--branch", "中山村党支部", "民情地图"]
    assert main(args) == 0
    [path] = list((content / "stories").rglob("*.md"))
    text = path.read_text(encoding="utf-8")
    assert "draft: true" in text and "# standard: " in text and "管好党建基础档案" in text
    assert main(args) == 1 and "已经有一个故事叫“民情地图”" in capsys.readouterr().err
    path.write_text(text.replace("draft: true", "draft: false"), encoding="utf-8")
    report = build(Options(content=content, out=tmp_path / "out", jobs=1))
    assert [(p.code, p.line) for p in report.errors] == [("E324", 14)]  # 12 lines of frontmatter, a blank line


def test_init_makes_a_site_that_builds_at_once(tmp_path, capsys):
    assert main(["init", str(tmp_path / "site")]) == 0
    content = tmp_path / "site" / "content"
    report = build(Options(content=content, out=tmp_path / "site" / "output", jobs=1))
    assert report.written and report.problems == [], [str(p) for p in report.problems]
    assert (tmp_path / "site/output/stories/yi-zhang-min-qing-di-tu/index.html").is_file()
    assert main(["init", str(tmp_path / "site")]) == 2  # never over an existing folder
    (tmp_path / "a-file").write_text("x")
    assert main(["init", str(tmp_path / "a-file")]) == 2 and "不是空的" in capsys.readouterr().err
