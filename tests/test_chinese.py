import datetime as dt

import pytest

from generator.chinese import (count_characters, format_date, join_soft_breaks, parse_date, reading_minutes,
                               slugify, summarize)


@pytest.mark.parametrize("name, slug", [
    ("云和县", "yun-he-xian"),
    ("莲都区", "lian-du-qu"),                      # pypinyin alone says lian-dou
    ("景宁畲族自治县", "jing-ning-she-zu-zi-zhi-xian"),
    ("仙都街道", "xian-du-jie-dao"),
    ("四都乡", "si-du-xiang"),
    ("查田镇", "zha-tian-zhen"),                   # 查 as a place name is zhā
    ("丽水市", "li-shui-shi"),
    ("绿色发展", "lv-se-fa-zhan"),                  # ü written v, ASCII only
    ("2024年度 Party 工作", "2024-nian-du-party-gong-zuo"),
    ("ＡＢＣ１２３", "abc123"),                       # full-width forms folded
    ("fuyun-map", "fuyun-map"),
    ("！？", ""),
])
def test_slugify(name, slug):
    assert slugify(name) == slug


def test_soft_break_between_chinese_is_removed():
    assert join_soft_breaks("群众的\n难事") == "群众的难事"
    assert join_soft_breaks("说：\n“好”") == "说：“好”"


def test_soft_break_next_to_chinese_on_one_side_is_removed():
    assert join_soft_breaks("使用\nPython") == "使用Python"
    assert join_soft_breaks("Python\n编写") == "Python编写"


def test_soft_break_between_latin_words_is_kept():
    assert join_soft_breaks("open\nsource") == "open\nsource"


def test_count_characters_counts_han_and_latin_words():
    assert count_characters("我用 Python 写，") == 3 + 1  # 我 用 写 + one word; punctuation does not count
    assert count_characters("版本 3.11 发布") == 4 + 1
    assert count_characters("党建好故事") == 5


@pytest.mark.parametrize("units, minutes", [(0, 1), (1, 1), (400, 1), (401, 2), (1800, 5)])
def test_reading_minutes(units, minutes):
    assert reading_minutes(units) == minutes


def test_summary_cut_at_last_sentence_end_within_limit():
    text = "第一句。" + "第二句很长" * 5 + "。" + "第三句" * 40 + "。"
    # 4 + 26 = 30 characters up to the second 。; the third sentence runs past 120
    assert summarize(text, limit=120) == "第一句。" + "第二句很长" * 5 + "。"


def test_summary_keeps_closing_quote_after_sentence_end():
    text = "他说：“好。”" + "后" * 200
    assert summarize(text, limit=20) == "他说：“好。”"


def test_summary_without_sentence_end_gets_ellipsis():
    assert summarize("甲" * 200, limit=10) == "甲" * 9 + "……"


def test_short_summary_is_whole_text():
    assert summarize("短文。") == "短文。"


def test_format_date():
    assert format_date(dt.date(2017, 3, 15)) == "2017年3月15日"


@pytest.mark.parametrize("text, day", [
    ("2017-03-15", dt.date(2017, 3, 15)), ("2017-3-5", dt.date(2017, 3, 5)),
    ("2017年3月15日", dt.date(2017, 3, 15)), ("2017年03月05日", dt.date(2017, 3, 5)),
    ("2017 年 3 月 15 日", dt.date(2017, 3, 15)), ("２０１７年３月１５日", dt.date(2017, 3, 15)),
    ("2017/3/15", dt.date(2017, 3, 15)), ("2017/03/15", dt.date(2017, 3, 15)),
    ("2017.3.15", dt.date(2017, 3, 15)), ("2017.03.15", dt.date(2017, 3, 15)),
    (" 2024-02-29 ", dt.date(2024, 2, 29)), ("２０１７－０３－１５", dt.date(2017, 3, 15)),
])
def test_parse_date_accepts_the_forms_offices_write(text, day):
    assert parse_date(text) == day


@pytest.mark.parametrize("text", ["20170315", "2017-03/15", "2017/03.15", "2017年3月15", "3月15日", "17-03-15",
                                  "2017-03-15T10:00", "2017-003-15", "二〇一七年三月十五日", "2017—03—15", ""])
def test_parse_date_rejects_other_text(text):
    assert parse_date(text) is None


@pytest.mark.parametrize("text", ["2023年2月30日", "2023-02-29", "2017/13/1", "2017.4.31", "0000-01-01", "2017-00-10"])
def test_parse_date_of_a_day_that_does_not_exist(text):
    with pytest.raises(ValueError):
        parse_date(text)
