"""Hostile and broken input: each test is an attack or an accident that
once got through (issue 6), with the site it needs written inline."""
import os
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path


from conftest import made, make_site, png, story
from generator import reader
from generator.build import Options, build
from generator.cli import main

PNG = png()
SAFE_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>'
EVIL_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"/>'


def run(content: Path, out: Path | None = None, **kw):
    return build(Options(content=content, out=out or content.parent / "out", jobs=1, **kw))


def codes(report) -> list[tuple[str, str, int | None]]:
    """(code, file name, line) of every problem, sorted."""
    return sorted((p.code, Path(p.file).name if p.file else "", p.line) for p in report.problems)


# Links out of content/ ---------------------------------------------------------

def test_a_link_to_a_file_outside_content_is_an_error_and_nothing_is_published(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": story()})
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    (content / "media").mkdir()
    (content / "media" / "passwd.png").symlink_to(secret)
    report = run(content, keep_going=True)  # not even --keep-going publishes it
    assert codes(report) == [("E317", "passwd.png", None)]
    assert str(secret) in report.problems[0].message
    assert not report.written and not (tmp_path / "out").exists()


def test_a_linked_folder_outside_content_is_not_read(tmp_path):
    elsewhere = make_site(tmp_path / "other", {"stories/x.md": story(title="别处的故事")}) / "stories"
    content = make_site(tmp_path, {"stories/a.md": story()})
    (content / "stories" / "more").symlink_to(elsewhere, target_is_directory=True)
    report = run(content)
    assert codes(report) == [("E317", "more", None)]
    assert not report.written


def test_an_image_reached_through_a_link_names_the_story_line(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": story("第一段。\n\n![图](pics/x.png)\n")})
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "x.png").write_bytes(PNG)
    (content / "stories" / "pics").symlink_to(tmp_path / "pics", target_is_directory=True)
    report = run(content)
    assert ("E317", "a.md", 11) in codes(report)


def test_links_inside_content_are_followed(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": story("![图](/media/y.png)\n"), "media/x.png": PNG})
    (content / "media" / "y.png").symlink_to(content / "media" / "x.png")
    report = run(content)
    page = (tmp_path / "out/stories/a/index.html").read_text(encoding="utf-8")
    assert report.problems == [] and len(made(page, "/media/y")) == 2
    assert all((tmp_path / "out" / address.lstrip("/")).is_file() for address in made(page, "/media/y"))


def test_a_link_loop_inside_content_ends(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": story()})
    (content / "stories" / "loop").symlink_to(content / "stories", target_is_directory=True)
    report = run(content)
    # The loop is walked once more at most: the same story seen twice is a duplicate id, not a hang.
    assert {c for c, _, _ in codes(report)} <= {"E308"}


# What may be published -------------------------------------------------------------

def test_an_html_file_used_as_an_image_is_refused_at_its_line(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": story("正文提到 evil.html 这个名字。\n\n![x](evil.html)\n"),
                                   "stories/evil.html": "<script>alert(1)</script>"})
    report = run(content)
    assert codes(report) == [("E318", "a.md", 11)]
    assert not (tmp_path / "out").exists()


def test_files_in_media_that_cannot_be_published_are_skipped_with_a_warning(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": story(), "media/evil.html": "<script>alert(1)</script>",
                                   "media/ok.png": PNG, "media/table.xlsx": b"PK"})
    report = run(content)
    assert codes(report) == [("W319", "evil.html", None)]
    out = tmp_path / "out"
    assert not (out / "media/evil.html").exists()
    assert (out / "media/ok.png").exists() and (out / "media/table.xlsx").exists()


def test_an_svg_that_runs_script_is_refused(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": story("![标志](logo.svg)\n"), "stories/logo.svg": EVIL_SVG,
                                   "media/safe.svg": SAFE_SVG})
    report = run(content, keep_going=True)
    assert codes(report) == [("E320", "logo.svg", None)] and "onload" in report.problems[0].message
    assert not report.written
    (content / "stories/logo.svg").write_bytes(SAFE_SVG)
    report = run(content)
    assert report.problems == []
    assert (tmp_path / "out/stories/a/logo.svg").read_bytes() == SAFE_SVG
    assert (tmp_path / "out/media/safe.svg").read_bytes() == SAFE_SVG


def test_an_attachment_is_copied_and_linked(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": story("请看[附件](材料.pdf)和[表格](/media/t.xlsx)。\n"),
                                   "stories/材料.pdf": b"%PDF-1.4", "media/t.xlsx": b"PK"})
    report = run(content)
    assert report.problems == []
    out = tmp_path / "out"
    assert (out / "stories/a/材料.pdf").read_bytes() == b"%PDF-1.4"
    page = (out / "stories/a/index.html").read_text(encoding="utf-8")
    assert 'href="/stories/a/材料.pdf"' in page and 'href="/media/t.xlsx"' in page
    (content / "stories/材料.pdf").unlink()
    assert codes(run(content)) == [("E312", "a.md", 9)]


def test_two_pictures_of_one_name_in_two_folders_stay_two(tmp_path):
    from PIL import Image

    colours = {"甲": (255, 0, 0), "乙": (0, 255, 0), "丙": (0, 0, 255), "丁": (255, 255, 0)}
    content = make_site(tmp_path, {
        "stories/s/a.md": story("![甲](a/x.png)\n\n![乙](b/x.png)\n\n![丙](../x.png)\n\n![丁](../other/x.png)\n"),
        "stories/s/a/x.png": png(colour=colours["甲"]), "stories/s/b/x.png": png(colour=colours["乙"]),
        "stories/x.png": png(colour=colours["丙"]), "stories/other/x.png": png(colour=colours["丁"])})
    report = run(content)
    assert report.problems == []
    out = tmp_path / "out"
    page = (out / "stories/a/index.html").read_text(encoding="utf-8")
    shown = re.findall(r'<img src="/(stories/a/[^"]+\.jpg)"[^>]*alt="(.)"', page)
    assert sorted(alt for _, alt in shown) == sorted(colours)  # four pictures, each its own file
    for address, alt in shown:
        with Image.open(out / address) as image:
            got = image.convert("RGB").getpixel((4, 3))
            assert all(abs(a - b) < 10 for a, b in zip(got, colours[alt])), (alt, got)  # JPEG is near, not exact


# Hostile text ------------------------------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def test_a_yaml_alias_bomb_is_one_short_error():
    text = story(**{"title": "*i"}).replace("---\n", "---\n" + BOMB, 1)
    assert len(BOMB.encode()) < 500
    started = time.perf_counter()
    result, problems = reader.parse_story(text, "bomb.md", _settings())
    assert time.perf_counter() - started < 2
    assert result is None and [(p.code, p.line) for p in problems] == [("E301", 1)]
    assert all(len(str(p)) < 300 for p in problems)


def test_values_in_messages_are_short_excerpts():
    huge = "长" * 200_000
    _, problems = reader.parse_story(story(title=f"[{huge}]", date=huge, slug="X" + huge, **{"键" * 500: 1}),
                                     "a.md", _settings())
    assert {p.code for p in problems} == {"E304", "E303", "E314", "W315"}
    assert all(len(p.message) < 200 for p in problems), [len(p.message) for p in problems]


def test_deep_nesting_is_an_error_of_that_story_and_the_rest_is_built(tmp_path):
    deep = "".join("    " * i + "- 层\n" for i in range(300))
    content = make_site(tmp_path, {"stories/deep.md": story(deep), "stories/ok.md": story(title="好的")})
    report = run(content, keep_going=True)
    assert codes(report) == [("E321", "deep.md", None)]
    assert report.written and (tmp_path / "out/stories/ok/index.html").exists()
    assert not (tmp_path / "out/stories/deep").exists()


def test_a_story_that_takes_too_long_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "STORY_SECONDS", 0.3)
    started = time.perf_counter()
    result, problems = reader.parse_story(story("[" * 20_000), "slow.md", _settings())
    assert time.perf_counter() - started < 5  # without the limit: about 40 s
    assert result is None and [p.code for p in problems] == ["E321"]
    fine, problems = reader.parse_story(story("之后的故事照常读取。"), "next.md", _settings())
    assert fine is not None and problems == []


def test_control_characters_are_removed_and_the_feed_stays_xml(tmp_path):
    body = "第一行\x0b第二行\x00。\n"
    content = make_site(tmp_path, {"stories/a.md": story(body, title="标题\x07")})
    report = run(content)
    assert codes(report) == [("W004", "a.md", 2)]  # the title's line: the first of the two
    feed = (tmp_path / "out/feed.xml").read_text(encoding="utf-8")
    ET.fromstring(feed)  # raises on a control character
    assert "<title>标题</title>" in feed


def test_a_quote_cite_cannot_carry_script():
    html = reader.render_markdown('<q cite="javascript:alert(1)">引文</q>').html
    assert "javascript" not in html and "<q>引文</q>" in html


# Themes ----------------------------------------------------------------------------------

def test_a_theme_is_a_name_not_a_path(tmp_path):
    toml = 'title = "t"\ncity = "c"\nbase_url = "/"\ntheme = "../content/media/t"\n'
    content = make_site(tmp_path, {"site.toml": toml, "stories/a.md": story(),
                                   "media/t/templates/base.html": "{{ 7 * 7 }}"})
    report = run(content)
    assert codes(report) == [("E103", "site.toml", 4)]
    assert not report.written


def test_templates_run_in_the_sandbox(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": story()})
    theme = tmp_path / "themes/default/templates"
    theme.mkdir(parents=True)
    (theme / "404.html").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    report = run(content)
    assert [(p.code, Path(p.file).name) for p in report.errors] == [("E502", "404.html")]
    assert "__class__" in report.errors[0].message or "unsafe" in report.errors[0].message


# Files and folders --------------------------------------------------------------------------

def test_story_files_in_upper_case_and_markdown_are_read(tmp_path):
    content = make_site(tmp_path, {"stories/A.MD": story(title="大写"), "stories/b.markdown": story(title="长名"),
                                   "pages/about.Markdown": "---\ntitle: 关于\n---\n关于本站。\n"})
    report = run(content)
    assert report.problems == []
    out = tmp_path / "out"
    assert (out / "stories/a/index.html").exists() and (out / "stories/b/index.html").exists()
    assert (out / "about/index.html").exists()


def test_an_edit_with_the_same_size_and_the_old_mtime_is_seen(tmp_path):
    content = make_site(tmp_path, {"stories/a.md": story("甲乙丙。\n")})
    run(content)
    path = content / "stories/a.md"
    stat = path.stat()
    path.write_text(story("丁戊己。\n"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    report = run(content)
    assert not report.unchanged
    assert "丁戊己" in (tmp_path / "out/stories/a/index.html").read_text(encoding="utf-8")


def test_cleanup_never_takes_a_glob_from_the_output_name(tmp_path):
    content = make_site(tmp_path / "site", {"stories/a.md": story()})
    parent = tmp_path / "parent"
    other = parent / ".site.tmp-keep"  # looks like another output's leftovers
    other.mkdir(parents=True)
    assert run(content, parent / "*").written
    assert other.is_dir() and (parent / "*" / "index.html").exists()


def test_new_story_names_cannot_leave_the_content_folder(tmp_path, capsys):
    content = make_site(tmp_path, {"org.csv": None})
    status = main(["new", "story", "--county", "../../x", "--township", "镇", "--branch", "支部",
                   "--content", str(content), "标题"])
    assert status == 2 and "不能用作文件夹名" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["content", "content/site.toml"]


def _settings():
    from generator.config import parse_settings

    return parse_settings('title = "t"\ncity = "c"\nbase_url = "/"\n')[0]

