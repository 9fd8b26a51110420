"""Scoring by hand-computed cases: recusal, trimming, not rated, ties in score
and at an award's edge, exact decimals; and the CSV files' mistakes."""
import re
from fractions import Fraction

from generator.config import Rating
from generator.ratings import Judge, Score, parse_judges, parse_scores, rate, two_decimals

RUBRIC = Rating()  # theme 30, truth 30, impact 20, writing 20; trim from 5, at least 3, recuse county, 10/20/30 %
JUDGES = [Judge("J1", "甲", "云和县"), Judge("J2", "乙", "莲都区"), Judge("J3", "丙", "青田县"),
          Judge("J4", "丁"), Judge("J5", "戊"), Judge("J6", "己")]
STORIES = {f"s{i}": (county, "某镇", False) for i, county in
           enumerate(["", "云和县", "莲都区", "青田县", "莲都区", "云和县", "庆元县", "庆元县"]) if i}
STORIES["draft"] = ("庆元县", "某镇", True)


def score(story, judge, *values, line=2):
    return Score(story, judge, tuple(Fraction(str(v)) for v in values), line)


SCORES = [
    # s1 (云和县): J1 recused; five valid totals 90 80 85 70 95 → drop 95 and 70 → (90+80+85)/3 = 85
    score("s1", "J1", 30, 30, 20, 20), score("s1", "J2", 27, 27, 18, 18), score("s1", "J3", 24, 24, 16, 16),
    score("s1", "J4", 25, 26, 17, 17), score("s1", "J5", 21, 21, 14, 14), score("s1", "J6", 29, 28, 19, 19),
    # s2 (莲都区): J2 recused; J1 J3 J4 → 80 81 82, untrimmed → 81
    score("s2", "J2", 30, 30, 20, 20), score("s2", "J1", 24, 24, 16, 16), score("s2", "J3", 24, 25, 16, 16),
    score("s2", "J4", 25, 25, 16, 16),
    # s3: two valid scores < 3 → not rated
    score("s3", "J1", 20, 20, 10, 10), score("s3", "J4", 20, 20, 10, 10),
    # s4 (莲都区): J1 J3 J4 J5 all 85 → 85, tied with s1
    *(score("s4", j, 25, 25, 17, 18) for j in ("J1", "J3", "J4", "J5")),
    # s5 (云和县): J2 J3 J4 → 70 71 72 → 71
    score("s5", "J2", 20, 20, 15, 15), score("s5", "J3", 21, 20, 15, 15), score("s5", "J4", 21, 21, 15, 15),
    # s6: 80 80 81 → 241/3 = 80.333… → 80.33
    score("s6", "J2", 24, 24, 16, 16), score("s6", "J3", 24, 24, 16, 16), score("s6", "J4", 25, 24, 16, 16),
    # s7: 80.005 three times → 80.005 exactly → 80.01 (half up; binary floats give 80.00)
    *(score("s7", j, "24.005", 24, 16, 16) for j in ("J2", "J3", "J4")),
]


def test_scores_ranks_and_awards_match_hand_computation():
    ratings, problems = rate(JUDGES, SCORES, STORIES, RUBRIC)
    assert problems == []
    got = {i: (r.shown, r.rank, r.award, r.valid, r.counted, r.trimmed) for i, r in ratings.results.items()}
    # six rated: quotas 0.1×6 → 1, 0.2×6 → 1, 0.3×6 → 2 (half up); s4 ties s1 and shares its first prize
    assert got == {
        "s1": ("85.00", 1, "一等奖", 5, 3, True),
        "s4": ("85.00", 1, "一等奖", 4, 4, False),
        "s2": ("81.00", 3, "二等奖", 3, 3, False),
        "s6": ("80.33", 4, "三等奖", 3, 3, False),
        "s7": ("80.01", 5, "三等奖", 3, 3, False),
        "s5": ("71.00", 6, None, 3, 3, False),
        "s3": ("", None, None, 2, 0, False),
    }
    assert list(ratings.results) == ["s1", "s4", "s2", "s6", "s7", "s5", "s3"]
    s1 = ratings.results["s1"]  # counted: J2 (27 27 18 18), J3 (24 24 16 16), J4 (25 26 17 17)
    assert s1.criteria == (Fraction(76, 3), Fraction(77, 3), 17, 17) and s1.recused == ("J1",)
    assert ratings.recusals == (("s1", "J1"), ("s2", "J2"))
    assert dict((j.id, n) for j, n in ratings.judges) == {"J1": 3, "J2": 4, "J3": 6, "J4": 7, "J5": 2, "J6": 1}


def test_trimming_drops_one_of_each_extreme_even_when_shared():
    totals = [90, 90, 80, 70, 70]
    scores = [score("s1", f"J{i + 1}", t - 40, 20, 10, 10) for i, t in enumerate(totals)]
    result = rate(JUDGES, scores, {"s1": ("", "", False)}, RUBRIC)[0].results["s1"]
    assert result.score == 80 and result.counted == 3  # (90 + 80 + 70) / 3


def test_a_tie_at_an_award_edge_keeps_the_award_and_pushes_the_next_one_down():
    scores = [score(s, j, *v, 20, 20) for s, v in (("s1", (30, 30)), ("s2", (29, 29)), ("s3", (29, 29)),
                                                  ("s4", (28, 28)), ("s5", (10, 10)))
              for j in ("J4", "J5", "J6")]
    stories = {f"s{i}": ("", "", False) for i in range(1, 6)}
    ratings, _ = rate(JUDGES, scores, stories, Rating(awards=Rating().awards[:2]))
    # five rated: first prize 0.1×5 = 0.5 → 1; second 0.2×5 = 1 → 1 place, but s2 and s3 tie → both
    assert [(i, r.rank, r.award) for i, r in ratings.results.items()] == [
        ("s1", 1, "一等奖"), ("s2", 2, "二等奖"), ("s3", 2, "二等奖"), ("s4", 4, None), ("s5", 5, None)]


def test_two_decimals_round_half_up():
    assert [two_decimals(Fraction(x)) for x in ("80.005", "80.004999", "0.125", "99.995")] == \
        ["80.01", "80.00", "0.13", "100.00"]


def test_file_mistakes_are_named_with_their_lines():
    judges, problems = parse_judges("id,name,county\nJ1,甲,云和县\nJ1,重复,\n,无名,\n", "judges.csv")
    assert [j.id for j in judges] == ["J1"] and [(p.code, p.line) for p in problems] == [("E336", 3), ("E336", 4)]
    text = ("story,judge,theme,truth,impact,writing,comment\n"
            "s1,J1,30,30,20,20,好\n"
            "s1,J1,1,1,1,1,\n"          # the same pair again
            "s2,J1,31,30,20,20,\n"      # over the maximum
            "s3,J1,二十,30,20,20,\n"    # not a number
            "s9,J1,1,1,1,1,\n"          # no such story
            "draft,J1,1,1,1,1,\n"       # a draft
            "s4,J9,1,1,1,1,\n")         # no such judge
    scores, problems = parse_scores(text, RUBRIC.criteria, "scores.csv")
    assert [(p.code, p.line) for p in problems] == [("E334", 3), ("E333", 4), ("E333", 5)]
    _, more = rate(judges, scores, STORIES, RUBRIC, "scores.csv")
    assert [(p.code, p.line) for p in more] == [("E331", 6), ("E335", 7), ("E332", 8)]
    _, problems = parse_scores("story,judge,theme,truth\n", RUBRIC.criteria, "scores.csv")
    assert [(p.code, p.line) for p in problems] == [("E330", 1)] and "impact、writing" in problems[0].message


# The same review as a site: the pages, the scorecards, the CSV and the committee's check -------------

def review_site(tmp_path, publish=True):
    from conftest import make_site, story

    counties = {"云和县": ("浮云街道", "中山村党支部"), "莲都区": ("碧湖镇", "堰头村党支部"),
                "青田县": ("方山乡", "龙现村党支部"), "庆元县": ("屏都街道", "城东社区党支部")}
    org = "county,county_code,township,township_code,branch,branch_code\n" + "".join(
        f"{c},,{t},,{b},\n" for c, (t, b) in counties.items())
    files = {"org.csv": org,
             "site.toml": 'title = "测试站"\ncity = "丽水市"\nbase_url = "/"\n'
                          + ("" if publish else "[rating]\npublish = false\n"),
             "ratings/judges.csv": "id,name,county\n" + "".join(f"{j.id},{j.name},{j.county}\n" for j in JUDGES),
             "ratings/scores.csv": "story,judge,theme,truth,impact,writing\n" + "".join(
                 f"{s.story},{s.judge},{','.join(str(float(v)) if v.denominator != 1 else str(v) for v in s.values)}\n"
                 for s in SCORES)}
    for sid, (county, _, _) in STORIES.items():
        if sid != "draft":
            county = county or "庆元县"
            township, branch = counties[county]
            files[f"stories/{sid}.md"] = story(title=f"故事{sid}", county=county, township=township, branch=branch)
    return make_site(tmp_path, files)


def test_the_pages_show_the_hand_computed_numbers(tmp_path):
    import csv

    from generator.build import Options, build

    content = review_site(tmp_path)
    report = build(Options(content=content, out=tmp_path / "out", jobs=1))
    assert report.written and report.problems == [], [str(p) for p in report.problems]
    out = tmp_path / "out"
    page = (out / "ratings/index.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr><td>(\d+)</td><td><a [^>]+>(故事s\d)</a></td><td>[^<]*</td><td>[^<]*</td><td>[^<]*</td>"
                      r'<td class="num">([\d.]+)</td><td>([^<]*)</td></tr>', page)
    assert rows == [("1", "故事s1", "85.00", "一等奖"), ("1", "故事s4", "85.00", "一等奖"), ("3", "故事s2", "81.00", "二等奖"),
                    ("4", "故事s6", "80.33", "三等奖"), ("5", "故事s7", "80.01", "三等奖"), ("6", "故事s5", "71.00", "")]
    assert "故事s3</a>（2 个有效评分）" in page and "去掉一个最高分和一个最低分后取平均" in page
    card = (out / "stories/s1/index.html").read_text(encoding="utf-8")
    assert "<strong>85.00</strong> 分 · 第 1 名 · 一等奖" in card and "25.33" in card and "25.67" in card
    assert "1 个评分因回避作废" in card and "取 3 个的平均" in card
    data = (out / "ratings/results.csv").read_bytes()
    assert data.startswith("\ufeff".encode()) and b"\r\n" in data
    table = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    assert [r[0] for r in table[1:]] == ["1", "1", "3", "4", "5", "6", "未评定"] and table[1][5] == "85.00"


def test_unpublished_results_stay_off_the_site_but_check_prints_them(tmp_path, capsys):
    from generator.build import Options, build
    from generator.cli import main

    content = review_site(tmp_path, publish=False)
    assert build(Options(content=content, out=tmp_path / "out", jobs=1)).written
    out = tmp_path / "out"
    assert not (out / "ratings").exists()
    everything = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.html"))
    assert "85.00" not in everything and "展评结果" not in everything and "一等奖" not in everything
    assert main(["check", "--content", str(content)]) == 0
    printed = capsys.readouterr().out
    assert "1\t85.00\t一等奖\t故事s1" in printed and "未评定\t-\t-\t故事s3" in printed


def test_the_blind_packet_hides_whose_story_it_is(tmp_path):
    import io

    from PIL import Image

    from conftest import make_site, story
    from generator.cli import main

    exif = Image.Exif()
    exif[0x013B] = "摄影：浮云街道宣传员"  # Artist
    photo = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 0, 0)).save(photo, "JPEG", exif=exif)
    content = make_site(tmp_path, {
        "stories/a.md": story("正文甲。\n\n![浮云街道的图](fuyun.jpg)\n", title="标题甲", authors="[张三]",
                              cover="fuyun.jpg", cover_alt="浮云街道封面", cover_caption="中山村党员合影"),
        "stories/fuyun.jpg": photo.getvalue(),
        "stories/b.md": story("正文乙。\n", title="标题乙", branch="长汀村党支部", authors="[李四]")})
    out = tmp_path / "packet"
    assert main(["build", "--content", str(content), "--out", str(out), "--blind"]) == 0
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == ["0001.html", "0002.html", "index.html"]
    text = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.html"))
    for secret in ("云和县", "浮云街道", "中山村党支部", "长汀村党支部", "张三", "李四", "中山村党员合影", "fuyun"):
        assert secret not in text, secret
    assert "正文甲" in text and "标题乙" in text
    [picture] = list((out / "img").iterdir())
    with Image.open(picture) as image:
        assert 0x013B not in image.getexif()
    sheet = (out / "scores-template.csv").read_text(encoding="utf-8-sig").splitlines()
    assert sheet[0] == "story,judge,theme,truth,impact,writing,comment" and sorted(sheet[1:]) == ["0001,,,,,,", "0002,,,,,,"]
    key = (tmp_path / "packet-key.csv").read_text(encoding="utf-8-sig")
    assert "a,标题甲,云和县,浮云街道,中山村党支部" in key and not list(out.glob("*key*"))


def test_results_survive_the_cache_exactly():
    from generator.ratings import pack, unpack

    ratings, _ = rate(JUDGES, SCORES, STORIES, RUBRIC)
    assert unpack(pack(ratings)) == ratings
