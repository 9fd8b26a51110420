from generator.config import DEFAULT_STANDARDS, parse_settings

BASE = 'title = "测试"\ncity = "丽水市"\nbase_url = "https://example.org/sub"\n'


def test_defaults_are_the_eight_standards():
    settings, problems = parse_settings(BASE)
    assert problems == []
    assert [s.id for s in settings.standards] == ["story", "image", "service", "green", "archive",
                                                   "discipline", "bastion", "mechanism"]
    assert settings.standard("管好党建基础档案").id == "archive"
    assert settings.standard("archive").name == "管好党建基础档案"
    assert settings.base_url == "https://example.org/sub/"
    assert settings.base_path == "/sub/"
    assert settings.rating.trim_from == 5 and settings.rating.recuse == "county"
    assert len(DEFAULT_STANDARDS) == 8


def test_unknown_key_is_named_with_its_correction_and_line():
    _, problems = parse_settings(BASE + 'fotter = "x"\n')
    assert [(p.code, p.line) for p in problems] == [("W104", 4)]
    assert "footer" in problems[0].message


def test_all_problems_reported_together():
    text = 'title = 3\nbase_url = "ftp://x"\n[coverage]\ntarget = 2\n[rating]\nrecuse = "city"\n'
    settings, problems = parse_settings(text)
    assert settings.rating.recuse == "county"  # the default stands in for the bad value
    got = sorted((p.code, p.line or 0) for p in problems)
    # title wrong type (1), city missing (no line: 0), base_url scheme (2), target range (4), recuse (6)
    assert got == [("E103", 0), ("E103", 1), ("E103", 2), ("E103", 4), ("E103", 6)]


def test_toml_syntax_error_has_line():
    settings, problems = parse_settings('title = "a"\ncity = \n')
    assert settings is None
    assert [(p.code, p.line) for p in problems] == [("E102", 2)]


def test_custom_standards_replace_the_defaults():
    settings, problems = parse_settings(BASE + '[[standards]]\nid = "a"\nname = "甲"\n[[standards]]\nid = "b"\nname = "乙"\n')
    assert problems == []
    assert [(s.id, s.name) for s in settings.standards] == [("a", "甲"), ("b", "乙")]


def test_images_settings_and_their_mistakes():
    settings, problems = parse_settings(BASE + "[images]\nwidths = [960, 320, 960]\nquality = 70\n")
    assert problems == [] and settings.images.widths == (320, 960) and settings.images.quality == 70
    assert parse_settings(BASE)[0].images.widths == (480, 960, 1600)
    text = BASE + "[images]\nwidths = [0, 480]\nquality = 101\nmax_pixles = 5\n"
    settings, problems = parse_settings(text)
    # widths below 16 (line 5), quality above 100 (line 6), a misspelt key with its correction (line 7)
    assert sorted((p.code, p.line) for p in problems) == [("E103", 5), ("E103", 6), ("W104", 7)]
    assert "max_pixels" in [p for p in problems if p.code == "W104"][0].message
    assert settings.images.widths == (480, 960, 1600) and settings.images.quality == 80  # defaults stand in
