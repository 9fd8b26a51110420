from generator.encoding import decode
from generator.registry import Names, parse_registry

CSV = "county,county_code,township,township_code,branch,branch_code\n" \
      "云和县,331125,浮云街道,331125001,中山村党支部,331125001001\n" \
      "云和县,331125,紧水滩镇,331125107,石浦村党支部,331125107001\n"


def test_utf8_with_bom_and_gbk_read_the_same():
    plain, p1 = decode(CSV.encode("utf-8"), "org.csv")
    bom, p2 = decode(CSV.encode("utf-8-sig"), "org.csv")
    gbk, p3 = decode(CSV.encode("gbk"), "org.csv")
    assert plain == bom == gbk == CSV
    assert p1 == p2 == []
    assert [p.code for p in p3] == ["W002"]


def test_windows_line_ends_are_normalised():
    text, _ = decode(CSV.replace("\n", "\r\n").encode("gbk"), "org.csv")
    assert text == CSV


def test_undecodable_file_is_an_error_with_its_line():
    text, problems = decode("甲\n乙\n".encode("utf-8") + b"\xff\xff\xff\n", "org.csv")
    assert text is None
    assert [(p.code, p.line) for p in problems] == [("E001", 3)]


def test_rows_in_file_order_with_codes():
    rows, problems = parse_registry(CSV)
    assert problems == []
    assert [(r.township, r.branch, r.branch_code, r.line) for r in rows] == [
        ("浮云街道", "中山村党支部", "331125001001", 2), ("紧水滩镇", "石浦村党支部", "331125107001", 3)]


def test_missing_column_empty_cell_duplicate_and_unknown_column():
    _, problems = parse_registry("county,township\n云和县,浮云街道\n")
    assert [(p.code, p.line) for p in problems] == [("E201", 1)]
    text = "county,township,branch,twonship_code\n云和县,浮云街道,\n云和县,浮云街道,甲\n云和县,浮云街道,甲\n\n"
    rows, problems = parse_registry(text)
    assert [r.branch for r in rows] == ["甲"]
    assert [(p.code, p.line) for p in problems] == [("W204", 1), ("E202", 2), ("E203", 4)]
    assert "township_code" in problems[0].message


def test_cells_are_trimmed():
    rows, _ = parse_registry("county,township,branch\n 云和县 ,浮云街道 , 中山村党支部\n")
    assert (rows[0].county, rows[0].township, rows[0].branch) == ("云和县", "浮云街道", "中山村党支部")


def test_names_suggest_the_likely_name():
    names = Names(parse_registry(CSV)[0])
    assert names.check("云和县", "浮云街道", "中山村党支部") is None
    county = names.check("云和", "浮云街道", "中山村党支部")
    assert (county.field, county.code) == ("county", "E305") and "云和县" in county.message
    town = names.check("云和县", "浮云街", "中山村党支部")
    assert (town.field, town.code) == ("township", "E306") and "浮云街道" in town.message
    branch = names.check("云和县", "紧水滩镇", "石浦党支部")
    assert (branch.field, branch.code) == ("branch", "E307") and "石浦村党支部" in branch.message


def test_township_of_another_county_is_explained():
    rows, _ = parse_registry(CSV + "莲都区,331102,碧湖镇,331102100,堰头村党支部,\n")
    match = Names(rows).check("云和县", "碧湖镇", "堰头村党支部")
    assert match.code == "E306" and "莲都区" in match.message


def test_control_characters_are_removed_with_one_warning():
    story = "---\ntitle: 石浦渔民上岸记\n---\n\n第一段\x0b第二段\x00。\n\x0c\x7f\x85\ufffe完\n"
    text, problems = decode(story.replace("\n", "\r\n").encode("utf-8"), "stories/shipu.md")
    assert text == "---\ntitle: 石浦渔民上岸记\n---\n\n第一段\n第二段。\n\n完\n"
    assert [(p.code, p.file, p.line) for p in problems] == [("W004", "stories/shipu.md", 5)]
    assert "6 个控制字符" in problems[0].message
    tabs = "a\tb\n"
    assert decode(tabs.encode("utf-8"), "x") == (tabs, [])


def test_control_characters_in_a_gbk_file_add_to_its_warning():
    text, problems = decode("county\n云和县\x0b\n".encode("gbk"), "org.csv")
    assert text == "county\n云和县\n\n"
    assert [(p.code, p.line) for p in problems] == [("W002", None), ("W004", 2)]


def test_a_stray_quote_spoils_only_its_own_line():
    text = CSV + '云和县,331125,"紧水滩镇,331125107,坑根村党支部,\n' \
                 '云和县,331125,浮云街道,331125001,"中山村党支部,一组",\n' \
                 '云和县,331125,浮云街道,331125001,"说""好""的",\n'
    text = text.replace("石浦村党支部", '石浦"村党支部')  # line 3
    rows, problems = parse_registry(text)
    assert [(p.code, p.line) for p in problems] == [("E205", 3), ("E205", 4)]
    assert problems[0].message.startswith("第 3 行的引号不成对")
    assert [(r.branch, r.line) for r in rows] == [("中山村党支部", 2), ("中山村党支部,一组", 5), ('说"好"的', 6)]


def test_an_overlong_cell_is_an_error_not_a_traceback():
    for size in (201, 200_000):
        rows, problems = parse_registry(CSV + "云和县,331125,浮云街道,331125001," + "甲" * size + ",\n" + CSV.split("\n")[1])
        assert [(p.code, p.line) for p in problems] == [("E205", 4), ("E203", 5)]
        assert len(problems[0].message) < 120
        assert [r.line for r in rows] == [2, 3]
    _, problems = parse_registry('county,township,branch\n"' + "甲" * 200_000 + '",x,y\n')
    assert [(p.code, p.line) for p in problems] == [("E205", 2)]
