"""The build cache: after every kind of edit, an incremental build gives
exactly the bytes of a fresh build without cache, and does less work."""
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import tree
from generator.build import Options, build
from generator.cache import cache_path

STORY = "---\ntitle: {title}\ncounty: 云和县\ntownship: 浮云街道\nbranch: 长汀村党支部\ndate: 2021-06-01\ntags: [新标签]\n---\n\n正文。\n"


@pytest.fixture
def site(tiny, tmp_path):
    out = tmp_path / "out"

    def rebuild():
        """Incremental build into out; a fresh --no-cache build beside it; both must be equal."""
        report = build(Options(content=tiny, out=out, jobs=1))
        assert report.written, [str(p) for p in report.problems]
        fresh = tmp_path / "fresh"
        if fresh.exists():
            shutil.rmtree(fresh)
        assert build(Options(content=tiny, out=fresh, jobs=1, use_cache=False)).written
        assert tree(out) == tree(fresh)
        return report

    first = rebuild()
    assert first.rendered == first.pages
    return tiny, out, rebuild


def touch_later(path):
    """Make sure an edit changes the mtime even on coarse file systems."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_no_change_does_nothing(site):
    tiny, out, rebuild = site
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    report = rebuild()
    assert report.unchanged and report.files == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_touched_but_unchanged_story_is_not_parsed_again(site):
    tiny, out, rebuild = site
    touch_later(tiny / "stories" / "yantou.md")
    report = rebuild()
    assert report.rendered == 0 and report.files == 0


def test_edit_story(site):
    tiny, out, rebuild = site
    index = out / "index.html"
    untouched = out / "about" / "index.html"
    mtime = untouched.stat().st_mtime_ns
    path = tiny / "stories" / "yantou.md"
    path.write_text(path.read_text(encoding="utf-8").replace("通济堰边的守护人", "通济堰边的守护者"), encoding="utf-8")
    touch_later(path)
    report = rebuild()
    assert "通济堰边的守护者" in (out / "stories/yantou/index.html").read_text()
    assert "通济堰边的守护者" in index.read_text()
    assert 0 < report.rendered < report.pages
    assert untouched.stat().st_mtime_ns == mtime  # unchanged files are not rewritten


def test_add_and_delete_story(site):
    tiny, out, rebuild = site
    new = tiny / "stories" / "new-one.md"
    new.write_text(STORY.format(title="新来的故事"), encoding="utf-8")
    rebuild()
    assert (out / "stories/new-one/index.html").exists() and (out / "tags/xin-biao-qian/index.html").exists()
    new.unlink()
    before = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    report = rebuild()
    assert not (out / "stories/new-one").exists() and not (out / "tags/xin-biao-qian").exists()
    gone = before - {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    # Its page and its tag's; its county's search index is made again without it (search.py).
    assert sorted(a for a in gone if not a.startswith("search/")) == [
        "stories/new-one/index.html", "tags/xin-biao-qian/index.html"]
    assert report.removed == len(gone) and report.search.made == ["yun-he-xian"]


def test_edit_template(site, tmp_path):
    tiny, out, rebuild = site
    theme = tmp_path / "themes" / "default" / "templates"
    theme.mkdir(parents=True)
    (theme / "page.html").write_text("{% extends 'base.html' %}{% block main %}<p>改过的页面 {{ page.title }}</p>{% endblock %}")
    report = rebuild()
    assert "改过的页面 关于" in (out / "about/index.html").read_text()
    assert report.rendered == 1


def test_edit_base_template_rebuilds_the_whole_site(site, tmp_path):
    tiny, out, rebuild = site
    theme = tmp_path / "themes" / "default" / "templates"
    theme.mkdir(parents=True)
    from generator.render import BUILTIN_THEMES
    base = (BUILTIN_THEMES / "default/templates/base.html").read_text()
    (theme / "base.html").write_text(base.replace("本站由故事汇生成", "本站由某某生成"))
    report = rebuild()
    # 21 of 24 pages extend base.html (not feed.xml, sitemap.xml, robots.txt): with most pages
    # changed, everything is staged and swapped in rather than moved file by file.
    assert report.rendered == report.pages
    assert "本站由某某生成" in (out / "index.html").read_text()


def test_edit_settings(site):
    tiny, out, rebuild = site
    path = tiny / "site.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("测试站", "新名字"), encoding="utf-8")
    touch_later(path)
    report = rebuild()
    assert report.rendered == report.pages and "新名字" in (out / "index.html").read_text()


def test_edit_registry(site):
    tiny, out, rebuild = site
    path = tiny / "org.csv"
    path.write_text(path.read_text(encoding="utf-8") + "莲都区,331102,碧湖镇,331102100,新合村党支部,331102100002\n",
                    encoding="utf-8")
    touch_later(path)
    rebuild()
    assert "2 个支部" in (out / "counties/index.html").read_text()


def test_the_registry_is_read_again_only_when_org_csv_changed(site, monkeypatch):
    from generator import registry

    tiny, out, rebuild = site
    read = []
    parse = registry.parse_registry
    monkeypatch.setattr(registry, "parse_registry", lambda *a: read.append(1) or parse(*a))
    path = tiny / "stories" / "yantou.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n又一段。\n", encoding="utf-8")
    touch_later(path)
    build(Options(content=tiny, out=out, jobs=1))  # a new process would do the same: the session is new
    assert read == []  # the rows came from the cache
    path = tiny / "org.csv"
    path.write_text(path.read_text(encoding="utf-8") + "莲都区,331102,碧湖镇,331102100,新合村党支部,331102100002\n",
                    encoding="utf-8")
    touch_later(path)
    rebuild()  # equal to a fresh build
    assert read and "2 个支部" in (out / "counties/index.html").read_text()


def test_a_damaged_registry_in_the_cache_is_read_again_from_org_csv(site, monkeypatch):
    import pickle

    from generator import registry

    tiny, out, rebuild = site
    with sqlite3.connect(cache_path(out)) as db:
        key, _ = pickle.loads(db.execute("SELECT value FROM meta WHERE key = 'registry'").fetchone()[0])
        wrong = pickle.dumps((key, pickle.dumps(((1, 2), ()))))  # rows that are not rows, under the right key
        db.execute("UPDATE meta SET value = ? WHERE key = 'registry'", (wrong,))
    read = []
    parse = registry.parse_registry
    monkeypatch.setattr(registry, "parse_registry", lambda *a: read.append(1) or parse(*a))
    path = tiny / "stories" / "yantou.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n又一段。\n", encoding="utf-8")
    touch_later(path)
    rebuild()  # written, equal to a fresh build
    assert read


def test_edit_free_page(site):
    tiny, out, rebuild = site
    path = tiny / "pages" / "about.md"
    path.write_text("---\ntitle: 关于我们\nmenu: 1\n---\n\n新的说明。\n", encoding="utf-8")
    touch_later(path)
    report = rebuild()
    assert "关于我们" in (out / "stories/yantou/index.html").read_text()  # the menu is on every page
    assert report.rendered == report.pages


def test_edit_image(site):
    """A changed picture is made again under new names, the old ones leave the
    output, and only the pages showing it are rendered again."""
    tiny, out, rebuild = site
    from PIL import Image
    before = sorted(p.name for p in (out / "media").iterdir())
    assert [re.sub(r"-[0-9a-f]{10}\.", ".", n) for n in before] == ["map-16w.jpg", "map-16w.webp"]
    Image.new("RGB", (32, 18), (0, 90, 0)).save(tiny / "media" / "map.png")
    touch_later(tiny / "media" / "map.png")
    report = rebuild()
    after = sorted(p.name for p in (out / "media").iterdir())
    assert [re.sub(r"-[0-9a-f]{10}\.", ".", n) for n in after] == ["map-32w.jpg", "map-32w.webp"]
    assert report.images == 1 and report.removed == 2
    assert after[0] in (out / "stories/fuyun-map/index.html").read_text()
    assert 0 < report.rendered < report.pages
    assert before[0] not in (out / "index.html").read_text()


def test_corrupt_cache_is_discarded_with_a_warning(site):
    tiny, out, rebuild = site
    cache_path(out).write_bytes(b"this is not a database")
    report = build(Options(content=tiny, out=out, jobs=1))
    assert report.written and [p.code for p in report.problems] == ["W601"]
    assert report.rendered == report.pages


def test_foreign_cache_is_discarded(site):
    tiny, out, rebuild = site
    with sqlite3.connect(cache_path(out)) as db:
        db.execute("UPDATE meta SET value = 'someone-else' WHERE key = 'schema'")
    report = build(Options(content=tiny, out=out, jobs=1))
    assert [p.code for p in report.problems] == ["W601"]


def test_cache_refuses_foreign_objects(site):
    import pickle
    tiny, out, rebuild = site

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with sqlite3.connect(cache_path(out)) as db:
        db.execute("UPDATE stories SET blob = ?", (pickle.dumps(Evil()),))
        db.execute("UPDATE meta SET value = 'x' WHERE key = 'inputs'")
    report = build(Options(content=tiny, out=out, jobs=1))
    assert report.written and "W601" in [p.code for p in report.problems]


def test_output_changed_by_another_build_is_rebuilt_whole(site, tmp_path):
    tiny, out, rebuild = site
    shutil.rmtree(out)
    report = rebuild()
    assert report.rendered == report.pages and (out / "index.html").exists()


def test_every_option_that_shapes_the_output_defeats_the_quick_check():
    """A new option is covered by default: only fields marked output=False are left out."""
    import dataclasses

    base = Options(content=Path("content"), out=Path("a"))
    values = {"content": Path("other"), "drafts": True, "strict": True, "keep_going": True,
              "base_url": "https://x.example/", "jobs": 3, "out": Path("b"), "use_cache": False, "pdf": True,
              "county": "云和县", "all_counties": True, "blind": True, "index_later": True}
    assert set(values) == {f.name for f in dataclasses.fields(Options)}, "give the new option a value here"
    for name, value in values.items():
        changed = dataclasses.replace(base, **{name: value}).shaping() != base.shaping()
        assert changed == (name not in ("jobs", "out", "use_cache", "index_later")), name


def test_a_new_folder_of_inputs_is_seen(site):
    tiny, out, rebuild = site
    (tiny / "ratings").mkdir()
    (tiny / "ratings" / "judges.csv").write_text("id,name\nJ1,甲\n", encoding="utf-8")
    (tiny / "ratings" / "scores.csv").write_text("story,judge,theme,truth,impact,writing\n", encoding="utf-8")
    report = rebuild()
    assert not report.unchanged and (out / "ratings/index.html").is_file()
    (tiny / "ratings" / "scores.csv").write_text("story,judge,theme,truth,impact,writing\nyantou,J1,30,30,20,20\n",
                                                 encoding="utf-8")
    assert not rebuild().unchanged  # an edit of the scores is seen too, and the pages equal a fresh build



PINYIN_DRIVER = """
import sys
from pathlib import Path
from generator.build import Options, build

report = build(Options(content=Path(sys.argv[1]), out=Path(sys.argv[2]), jobs=int(sys.argv[3])))
assert report.written, [str(p) for p in report.problems]
print("pypinyin" in sys.modules)
"""


@pytest.mark.parametrize("jobs", [1, 2])
def test_editing_a_story_does_not_load_pinyin_again(tmp_path, jobs):
    """Every slug made during a build, in the main process or in a worker
    (headings, branch anchors, places, tags), is kept in the cache: a build
    after an edit that brings no new name does not load pypinyin."""
    import subprocess
    import sys

    from conftest import make_site, story

    files = {f"stories/s{i:02}.md": story(f"## 民情地图说明\n\n正文{i}。\n", title=f"故事{i}", tags="[美丽乡村]")
             for i in range(70)}  # more than MIN_PARALLEL: with jobs=2, parsed in workers
    content = make_site(tmp_path, files)
    out = tmp_path / "out"

    def build_loads_pinyin() -> bool:
        run = subprocess.run([sys.executable, "-c", PINYIN_DRIVER, str(content), str(out), str(jobs)],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        return run.stdout.split()[-1] == "True"

    # The first build makes every slug: with jobs=2 in the workers that parse the stories,
    # the registry's names too (the branch without a story has an anchor on its township's
    # page), so that the main process, which renders these few pages, never loads pypinyin.
    assert build_loads_pinyin() == (jobs == 1)
    path = content / "stories" / "s05.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n又一段。\n", encoding="utf-8")
    assert not build_loads_pinyin()
    path.write_text(path.read_text(encoding="utf-8") + "\n## 新的小标题\n", encoding="utf-8")
    assert build_loads_pinyin()  # a new heading: its slug must be made


def test_a_text_edit_below_the_summary_renders_only_the_pages_showing_the_text(tmp_path):
    """Lists, rankings, neighbours' links and the home page show a story's
    face (title, place, summary…), not its text: they stay as they are."""
    from conftest import make_site, story
    from generator.build import Options, build
    from generator.cache import Cache, cache_path

    long = "这一段写村里的党员怎样带着大家修路、种茶、办民宿，" * 6  # longer than a summary
    files = {f"stories/s{i}.md": story(f"第{i}个故事的第一句。{long}。\n\n后面的话。\n", title=f"故事{i}",
                                       date=f"2021-06-0{i + 1}", tags="[美丽乡村]") for i in range(3)}
    content = make_site(tmp_path, files)
    out = tmp_path / "out"
    assert build(Options(content=content, out=out)).written
    before = Cache.open(cache_path(out))[0].pages
    path = content / "stories" / "s1.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n再补充一段。\n", encoding="utf-8")
    report = build(Options(content=content, out=out))
    after = Cache.open(cache_path(out))[0].pages
    changed = {a for a, fp in after.items() if before.get(a) != fp}
    assert changed == {"stories/s1/index.html", "feed.xml",
                       "anthologies/yun-he-xian/fu-yun-jie-dao/index.html"}, changed
    assert report.rendered == len(changed)
    assert "再补充一段" in (out / "stories" / "s1" / "index.html").read_text(encoding="utf-8")
    path.write_text(story("改了摘要的第一句。\n", title="故事1", date="2021-06-02", tags="[美丽乡村]"),
                    encoding="utf-8")
    build(Options(content=content, out=out))
    again = Cache.open(cache_path(out))[0].pages
    changed = {a for a, fp in again.items() if after.get(a) != fp}
    assert {"index.html", "tags/mei-li-xiang-cun/index.html", "stories/s0/index.html"} <= changed, changed


def test_a_preview_session_gives_the_bytes_of_a_fresh_build_after_every_edit(tmp_path):
    """A preview keeps one session (memos of plans, listings, the arrangement) and tells
    each build what changed. After each kind of edit its output must be a fresh build's:
    a neighbour's title changes (the links on both sides), a story moves to another
    branch and date (a new order), one is added, one deleted, one only touched."""
    from conftest import make_site, story
    from generator.session import Session

    files = {f"stories/s{i}.md": story(f"第{i}个故事。\n", title=f"故事{i}", date=f"2021-06-0{i + 1}")
             for i in range(5)}
    content = make_site(tmp_path, files)
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    session, _ = Session.open(out)
    assert build(Options(content=content, out=out), session=session, quick_check=False).written

    def edit(name: str, text: str | None) -> None:
        path = content / "stories" / name
        if text is None:
            path.unlink()
        else:
            path.write_text(text, encoding="utf-8")
            touch_later(path)
        report = build(Options(content=content, out=out), session=session, quick_check=False, changed={str(path)})
        assert report.written and not report.errors, [str(p) for p in report.problems]
        shutil.rmtree(fresh, ignore_errors=True)
        assert build(Options(content=content, out=fresh, use_cache=False)).written
        assert tree(out) == tree(fresh), name

    edit("s2.md", story("第2个故事。\n\n补一段。\n", title="故事2", date="2021-06-03"))
    edit("s2.md", story("第2个故事。\n", title="改名的故事二", date="2021-06-03"))
    page = (out / "stories" / "s1" / "index.html").read_text(encoding="utf-8")
    assert "改名的故事二" in page  # the neighbour before it links it by its new title
    assert "改名的故事二" in (out / "stories" / "s3" / "index.html").read_text(encoding="utf-8")
    edit("s0.md", story("第0个故事。\n", title="故事0", date="2021-06-09", branch="长汀村党支部"))
    edit("s9.md", story("新来的故事。\n", title="故事9", date="2021-06-04"))
    assert (out / "stories" / "s9" / "index.html").exists()
    edit("s3.md", None)
    assert not (out / "stories" / "s3").exists()
    edit("s4.md", (content / "stories" / "s4.md").read_text(encoding="utf-8"))


def test_the_manifest_token_names_the_manifest_in_any_order():
    from generator.incremental import manifest_token

    pages = {"a/index.html": "fp1", "b/index.html": "fp2"}
    files = {"media/x.svg": ("/c/media/x.svg", 1, 2, 3), "search/p.js": ("ab12.js",)}
    token = manifest_token(pages, files)
    assert token == manifest_token(dict(reversed(pages.items())), dict(reversed(files.items())))
    assert token != manifest_token({**pages, "b/index.html": "fp3"}, files)
    assert token != manifest_token(pages, {**files, "search/p.js": ("ab13.js",)})
    assert token != manifest_token({"a/index.html": "fp1"}, {"b/index.html": ("fp2",), **files})  # a page is not a file


def test_progress_counts_the_stories_read_not_the_names_slugified_beside_them(tmp_path, monkeypatch):
    from conftest import make_site, story
    from generator import chinese

    monkeypatch.setattr(chinese, "_memo", {})  # no name known yet in this process: all are slugified

    content = make_site(tmp_path, {f"stories/s{i:02}.md": story(f"正文{i}。\n", title=f"故事{i}") for i in range(70)})
    seen = []
    report = build(Options(content=content, out=tmp_path / "out", jobs=2),
                   progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert report.written
    read = [(done, total) for stage, done, total in seen if stage == "读取故事"]
    assert read and all(total == 70 and done <= 70 for done, total in read) and read[-1] == (70, 70)
