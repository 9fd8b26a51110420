"""Whole builds of small sites on disk, through the API and the command line."""
import re
from pathlib import Path

import pytest

from conftest import SITES, tree
from generator.build import Options, build
from generator.cli import main

BROKEN = SITES / "broken"


def run(content: Path, out: Path, **kw):
    return build(Options(content=content, out=out, jobs=1, **kw))


def test_tiny_site_builds(tiny, tmp_path):
    out = tmp_path / "out"
    report = run(tiny, out)
    assert report.problems == [] and report.written
    story = (out / "stories/fuyun-map/index.html").read_text()
    assert 'href="/gsh/counties/yun-he-xian/fu-yun-jie-dao/"' in story  # base path from base_url
    # Pictures are published made anew (test_images.py), not as they are.
    [made] = re.findall(r'<img src="(/gsh/stories/fuyun-map/map-16w-[0-9a-f]{10}\.jpg)"', story)
    assert (out / made[len("/gsh/"):]).is_file()
    assert not (out / "stories/fuyun-map/map.png").exists() and not (out / "media/map.png").exists()
    assert (out / "stories/chang-ting-xian-feng/index.html").exists()
    assert not (out / "stories/shipu").exists()  # a draft
    assert (out / "about/index.html").exists()


def test_drafts_flag_builds_drafts(tiny, tmp_path):
    report = run(tiny, tmp_path / "out", drafts=True)
    assert report.written and (tmp_path / "out/stories/shipu/index.html").exists()


def test_building_twice_gives_identical_bytes(tiny, tmp_path):
    run(tiny, tmp_path / "a")
    run(tiny, tmp_path / "b")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_parallel_reading_gives_identical_output(tiny, tmp_path):
    for i in range(70):  # enough stories for the worker pool to be used
        (tiny / "stories" / f"gen-{i:02d}.md").write_text(
            f"---\ntitle: 故事{i}\ncounty: 云和县\ntownship: 浮云街道\nbranch: 中山村党支部\n"
            f"date: 2020-01-{i % 28 + 1:02d}\n---\n\n第{i}个故事的正文。\n", encoding="utf-8")
    run(tiny, tmp_path / "serial")
    report = build(Options(content=tiny, out=tmp_path / "parallel", jobs=2))
    assert report.written
    assert tree(tmp_path / "serial") == tree(tmp_path / "parallel")


def test_broken_site_reports_every_mistake_with_file_and_line(tmp_path):
    report = run(BROKEN, tmp_path / "out")
    assert not report.written and not (tmp_path / "out").exists()
    got = sorted((Path(p.file).relative_to(BROKEN).as_posix(), p.line, p.code) for p in report.problems)
    assert got == sorted([
        ("org.csv", 3, "E202"),
        ("site.toml", 4, "W104"),
        ("stories/no-title.md", 1, "E302"),
        ("stories/bad-date.md", 6, "E303"),
        ("stories/county-typo.md", 3, "E305"),
        ("stories/branch-typo.md", 5, "E307"),
        ("stories/standard-typo.md", 7, "E309"),
        ("stories/cover-no-alt.md", 7, "E310"),
        ("stories/outside.md", 11, "E311"),
        ("stories/bad-yaml.md", 5, "E301"),
        ("stories/b/same.md", 1, "E308"),
        ("stories/missing-image.md", 11, "E312"),
    ])


def test_failed_build_leaves_previous_output_byte_for_byte(tiny, tmp_path):
    out = tmp_path / "out"
    assert run(tiny, out).written
    before = tree(out)
    (tiny / "stories" / "yantou.md").write_text("---\ntitle: 坏\n---\n", encoding="utf-8")
    report = run(tiny, out)
    assert not report.written and report.errors
    assert tree(out) == before
    assert [p.name for p in tmp_path.glob(".out.*")] == [".out.lock"]  # no staging folder left


def test_template_error_leaves_previous_output(tiny, tmp_path):
    out = tmp_path / "out"
    run(tiny, out)
    before = tree(out)
    theme = tmp_path / "themes" / "default" / "templates"
    theme.mkdir(parents=True)
    (theme / "story.html").write_text("{% extends 'base.html' %}{% block main %}{{ story.nosuch }}{% endblock %}")
    report = run(tiny, out)
    assert [(p.code, Path(p.file).name, p.line) for p in report.errors] == [("E502", "story.html", 1)]
    assert tree(out) == before


def test_site_theme_overrides_a_single_template(tiny, tmp_path):
    theme = tmp_path / "themes" / "default" / "templates"
    theme.mkdir(parents=True)
    (theme / "404.html").write_text("自定义的 404")
    run(tiny, tmp_path / "out")
    assert (tmp_path / "out/404.html").read_text() == "自定义的 404"
    assert "测试站" in (tmp_path / "out/index.html").read_text()  # the rest still from the built-in theme


def test_unknown_theme(tiny, tmp_path):
    (tiny / "site.toml").write_text((tiny / "site.toml").read_text() + 'theme = "defualt"\n', encoding="utf-8")
    report = run(tiny, tmp_path / "out")
    assert [p.code for p in report.errors] == ["E501"] and "default" in report.errors[0].message


def test_two_stories_with_one_slug_name_both(tiny, tmp_path):
    (tiny / "stories" / "other.md").write_text(
        "---\ntitle: 另一个\ncounty: 云和县\ntownship: 浮云街道\nbranch: 中山村党支部\ndate: 2020-01-01\n"
        "slug: fuyun-map\n---\n正文\n", encoding="utf-8")
    report = run(tiny, tmp_path / "out")
    assert [p.code for p in report.errors] == ["E401"]
    assert "fuyun-map.md" in report.errors[0].message and "other.md" in report.errors[0].message
    assert not report.written


def test_tags_with_one_slug_collide(tiny, tmp_path):
    (tiny / "stories" / "other.md").write_text(
        "---\ntitle: 另一个\ncounty: 云和县\ntownship: 浮云街道\nbranch: 中山村党支部\ndate: 2020-01-01\n"
        "tags: [民情 地图]\n---\n正文\n", encoding="utf-8")
    report = run(tiny, tmp_path / "out")
    assert [p.code for p in report.errors] == ["E401"] and "tags/min-qing-di-tu/" in report.errors[0].message
    message, file = report.errors[0].message, report.errors[0].file
    assert "other.md" in message and "fuyun-map.md" in message and file.endswith(("other.md", "fuyun-map.md"))


def test_long_lists_paginate(tiny, tmp_path):
    for i in range(51):
        (tiny / "stories" / f"p{i:02d}.md").write_text(
            f"---\ntitle: 第{i}篇\ncounty: 云和县\ntownship: 紧水滩镇\nbranch: 石浦村党支部\ndate: 2021-02-{i % 28 + 1:02d}\n"
            "standard: green\n---\n正文。\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run(tiny, out).written
    first = (out / "counties/yun-he-xian/jin-shui-tan-zhen/index.html").read_text()
    second = (out / "counties/yun-he-xian/jin-shui-tan-zhen/page/2/index.html").read_text()
    assert first.count('<article class="card') == 50 and second.count('<article class="card') == 1
    assert 'href="/gsh/counties/yun-he-xian/jin-shui-tan-zhen/page/2/"' in first
    assert (out / "standards/green/page/2/index.html").exists()  # 51 + yantou = 52 stories


def test_keep_going_builds_the_rest_and_fails(tiny, tmp_path):
    (tiny / "stories" / "bad.md").write_text("---\ntitle: 坏\ncounty: 云和县\n---\n", encoding="utf-8")
    out = tmp_path / "out"
    assert not run(tiny, out).written
    report = run(tiny, out, keep_going=True)
    assert report.written and report.errors and (out / "stories/fuyun-map/index.html").exists()
    assert main(["build", "--content", str(tiny), "--out", str(out), "--keep-going", "--jobs", "1"]) == 1


def test_strict_makes_warnings_errors(tiny, tmp_path):
    (tiny / "site.toml").write_text((tiny / "site.toml").read_text() + 'fotter = "x"\n', encoding="utf-8")
    assert run(tiny, tmp_path / "a").written
    assert not run(tiny, tmp_path / "b", strict=True).written
    assert main(["build", "--content", str(tiny), "--out", str(tmp_path / "c"), "--strict"]) == 1


def test_gbk_story_is_read_with_a_warning(tiny, tmp_path):
    path = tiny / "stories" / "yantou.md"
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))
    report = run(tiny, tmp_path / "out")
    assert report.written and [p.code for p in report.problems] == ["W002"]
    assert "通济堰边的守护人" in (tmp_path / "out/stories/yantou/index.html").read_text()


def test_cli_exit_codes_and_messages(tiny, tmp_path, capsys):
    assert main(["build", "--content", str(tiny), "--out", str(tmp_path / "out")]) == 0
    assert "个页面" in capsys.readouterr().out
    assert main(["build", "--content", str(BROKEN), "--out", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert f"{BROKEN}/stories/bad-date.md:6: 错误 E303: 日期“2023-02-30”不存在" in err
    assert "构建失败" in err
    assert main(["build", "--content", str(tmp_path / "nope")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["build", "--jobs", "0"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["publish"])
    assert exc.value.code == 2


def test_refuses_to_replace_a_folder_it_did_not_write(tiny, tmp_path):
    precious = tmp_path / "docs"
    precious.mkdir()
    (precious / "report.docx").write_text("x")
    assert main(["build", "--content", str(tiny), "--out", str(precious)]) == 2
    assert (precious / "report.docx").exists()
    assert main(["build", "--content", str(tiny), "--out", str(tiny)]) == 2


def test_check_reports_coverage(tiny, capsys):
    assert main(["check", "--content", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "已讲故事的支部：3/4（75.0%）" in out  # 石浦村's only story is a draft
    assert main(["check", "--content", str(tiny), "--min-coverage", "0.8"]) == 1
    assert main(["check", "--content", str(BROKEN)]) == 1


def test_new_story(tiny, capsys):
    assert main(["new", "story", "--content", str(tiny), "--county", "莲都区", "--township", "碧湖镇",
                 "--branch", "堰头村党支部", "古堰新生: 一个村的十年"]) == 0
    path = tiny / "stories/莲都区/碧湖镇/gu-yan-xin-sheng-yi-ge-cun-de-shi-nian.md"
    assert path.exists()
    assert main(["new", "story", "--content", str(tiny), "--county", "莲都区", "--township", "碧湖镇",
                 "--branch", "堰头村党支部", "古堰新生: 一个村的十年"]) == 1  # never overwrites
    assert main(["new", "story", "--content", str(tiny), "--county", "莲都", "--township", "碧湖镇",
                 "--branch", "堰头村党支部", "标题"]) == 2  # a name not in org.csv is a mistake on the command line
    assert "莲都区" in capsys.readouterr().err
    # the new file is a valid draft: the site still builds, and with --drafts it is published
    report = build(Options(content=tiny, out=tiny.parent / "out", jobs=1, drafts=True))
    assert report.written and report.problems == []
    assert (tiny.parent / "out/stories/gu-yan-xin-sheng-yi-ge-cun-de-shi-nian/index.html").exists()


def test_bad_settings_still_check_every_story(tiny, tmp_path):
    (tiny / "site.toml").write_text('title = "t"\ncity = "c"\nbase_url = "ftp://x"\n', encoding="utf-8")
    (tiny / "stories" / "bad.md").write_text("---\ntitle: 坏\ncounty: 云和县\n---\n", encoding="utf-8")
    (tiny / "ratings").mkdir(exist_ok=True)  # and the judges' scores: read and checked too
    (tiny / "ratings" / "judges.csv").write_text("id,name\nJ1,甲\n", encoding="utf-8")
    (tiny / "ratings" / "scores.csv").write_text("story,judge\nyantou,J1\n", encoding="utf-8")
    report = run(tiny, tmp_path / "out")
    assert not report.written and not (tmp_path / "out").exists()
    assert sorted({p.code for p in report.errors}) == ["E103", "E302", "E330"]


def test_rescan_from_a_watchers_list_equals_a_full_scan(tiny, tmp_path):
    from generator.changes import rescan as _rescan, scan_content

    last = _rescan(tiny, None, None)
    assert last == scan_content(tiny)
    edited, gone = tiny / "stories" / "yantou.md", tiny / "pages" / "about.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n补充。\n", encoding="utf-8")
    gone.unlink()
    (tiny / "media" / "new.png").write_bytes(b"x")
    changed = [str(edited), str(gone), str(tiny / "media" / "new.png"), str(tiny / "stories" / ".x.swp")]
    assert (last := _rescan(tiny, last, changed)) == scan_content(tiny)
    folder = tiny / "stories" / "新文件夹"
    folder.mkdir()
    (folder / "a.md").write_text("x", encoding="utf-8")
    assert (last := _rescan(tiny, last, [str(folder)])) == scan_content(tiny)  # a folder event: everything again
    (tmp_path / "secret.txt").write_text("x")
    (tiny / "media" / "link.png").symlink_to(tmp_path / "secret.txt")
    found = last = _rescan(tiny, last, [str(tiny / "media" / "link.png")])
    assert found == scan_content(tiny) and list(found[1]) == ["media/link.png"]
    import shutil
    shutil.rmtree(tiny / "stories" / "云和县")
    assert _rescan(tiny, last, [str(tiny / "stories" / "云和县")]) == scan_content(tiny)


def test_unwritable_output_is_a_clear_error(tiny, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["build", "--content", str(tiny), "--out", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert "无法写入" in err and "Traceback" not in err


def test_cache_that_cannot_be_saved_is_a_warning(tiny, tmp_path):
    (tmp_path / ".gushihui-cache").write_text("a file where the cache folder should be")
    report = run(tiny, tmp_path / "out")
    assert report.written and [p.code for p in report.problems] == ["W602"]


def test_rendering_workers_fit_the_memory_budget(monkeypatch):
    """Without --jobs, a large main process renders alone: each forked worker would
    come to hold a copy of it. With --jobs, the user's number stands."""
    from generator import workers

    monkeypatch.setattr(workers.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(workers, "_resident", lambda: 100 << 20)
    assert workers.render_jobs(None) == 4  # 100 MB and four copies fit in 1 GB
    monkeypatch.setattr(workers, "_resident", lambda: 300 << 20)
    assert workers.render_jobs(None) == 2  # (1024 - 300) // 300
    monkeypatch.setattr(workers, "_resident", lambda: 600 << 20)
    assert workers.render_jobs(None) == 1  # the main process alone
    assert workers.render_jobs(3) == 3
    monkeypatch.setattr(workers, "_resident", lambda: 0)  # nothing known: one per core
    assert workers.render_jobs(None) == 4


def test_background_work_gives_its_value_its_error_or_worker_died(monkeypatch):
    import os

    from generator import workers
    from generator.workers import Background, WorkerDied

    monkeypatch.setattr(workers, "_resident", lambda: 0)  # this test process, however large, may fork
    assert Background("测试", pow, 2, 10).result() == 1024
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        Background("测试", divmod, 1, 0).result()
    with pytest.raises(WorkerDied):
        Background("测试", os._exit, 3).result()
    slow = Background("测试", __import__("time").sleep, 30)
    slow.cancel()  # stopped at once, not waited for
    assert not slow._process.is_alive()
    parent = os.getpid()
    assert Background("测试", os.getpid).result() != parent  # forked
    monkeypatch.setattr(workers, "_resident", lambda: workers.MEMORY_BUDGET // 2 + 1)
    here = Background("测试", os.getpid)  # a copy would not fit beside this process: called by result()
    assert here._process is None and here.result() == parent
    monkeypatch.setattr(workers, "_resident", lambda: 0)
    monkeypatch.setattr(workers, "_context", lambda: __import__("multiprocessing").get_context("spawn"))
    here = Background("测试", os.getpid)  # where processes cannot be forked: likewise
    assert here.result() == parent
