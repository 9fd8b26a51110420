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
