"""Story bodies kept in the body store beside the build cache (bodies.py)."""
import sqlite3
from pathlib import Path

from conftest import make_site, story, tree
from generator import bodies
from generator.build import Options, build, check_site
from generator.cache import Cache, cache_path
from generator.models import Body, StoredStory


def site(tmp_path: Path, n: int = 3) -> Path:
    return make_site(tmp_path, {f"stories/s{i}.md": story(f"第{i}个故事的正文，有**重点**。\n", title=f"故事{i}")
                                for i in range(n)})


def test_a_cached_build_keeps_bodies_out_of_the_stories_and_writes_the_same_site(tmp_path):
    content = site(tmp_path)
    cached, plain = tmp_path / "cached", tmp_path / "plain"
    assert build(Options(content=content, out=cached)).written
    assert build(Options(content=content, out=plain, use_cache=False)).written
    assert tree(cached) == tree(plain)
    store = bodies.path_for(cache_path(cached))
    with sqlite3.connect(store) as db:
        rows = dict(db.execute("SELECT key, html FROM bodies"))
    assert len(rows) == 3 and all("<strong>重点</strong>" in html for html in rows.values())
    cache, _ = Cache.open(cache_path(cached))
    stories = [cache.result(e)[0] for e in cache.stories.values()]
    assert all(type(s) is StoredStory and isinstance(s.stored, Body) for s in stories)
    assert sorted(e.body for e in cache.stories.values()) == sorted(rows)


def test_an_edit_replaces_its_body_and_the_old_one_goes(tmp_path):
    content = site(tmp_path)
    out = tmp_path / "out"
    build(Options(content=content, out=out))
    store = bodies.path_for(cache_path(out))
    before = bodies.keys(store)
    (content / "stories" / "s1.md").write_text(story("改过的正文。\n", title="故事1"), encoding="utf-8")
    assert build(Options(content=content, out=out)).written
    after = bodies.keys(store)
    assert len(after) == 3 and len(before & after) == 2
    assert "改过的正文" in (out / "stories" / "s1" / "index.html").read_text(encoding="utf-8")


def test_a_lost_body_store_means_the_stories_are_parsed_again(tmp_path):
    content = site(tmp_path)
    out = tmp_path / "out"
    build(Options(content=content, out=out))
    first = tree(out)
    bodies.path_for(cache_path(out)).unlink()
    (content / "stories" / "s2.md").write_text(story("新的正文。\n", title="故事2"), encoding="utf-8")
    report = build(Options(content=content, out=out))
    assert report.written and not report.problems
    assert "新的正文" in (out / "stories" / "s2" / "index.html").read_text(encoding="utf-8")
    assert "第0个故事" in (out / "stories" / "s0" / "index.html").read_text(encoding="utf-8")
    assert tree(out)["stories/s0/index.html"] == first["stories/s0/index.html"]
    assert len(bodies.keys(bodies.path_for(cache_path(out)))) == 3


def test_check_writes_no_body_store(tmp_path):
    content = site(tmp_path)
    out = tmp_path / "out"
    report, found = check_site(Options(content=content, out=out))
    assert found is not None and not report.errors
    assert not (tmp_path / ".gushihui-cache").exists()


def test_past_keep_pickles_the_cache_pickles_the_stories_itself(tmp_path, monkeypatch):
    from generator import reading

    monkeypatch.setattr(reading, "KEEP_PICKLES", 0)
    content = site(tmp_path)
    out = tmp_path / "out"
    assert build(Options(content=content, out=out)).written
    cache, _ = Cache.open(cache_path(out))
    assert len(cache.stories) == 3 and all(type(cache.result(e)[0]) is StoredStory for e in cache.stories.values())
    (content / "stories" / "s0.md").write_text(story("又改了。\n", title="故事0"), encoding="utf-8")
    report = build(Options(content=content, out=out))
    assert report.written and "又改了" in (out / "stories" / "s0" / "index.html").read_text(encoding="utf-8")


def test_a_damaged_body_store_is_made_anew(tmp_path):
    content = site(tmp_path)
    out = tmp_path / "out"
    assert build(Options(content=content, out=out)).written
    store = bodies.path_for(cache_path(out))
    for name in (store, store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm")):
        name.unlink(missing_ok=True)
    store.write_bytes(b"not a database " * 300)
    (content / "stories" / "s1.md").write_text(story("损坏之后的正文。\n", title="故事1"), encoding="utf-8")
    report = build(Options(content=content, out=out))
    assert report.written and not report.errors
    assert "损坏之后的正文" in (out / "stories" / "s1" / "index.html").read_text(encoding="utf-8")
    assert len(bodies.keys(store)) == 3  # the store holds every body again


def test_a_cached_story_is_compact_names_shared_and_nothing_cached_kept(tmp_path):
    """What a province's memory is made of: each cached story shares its repeated names and
    its frontmatter's key order with the others, and its pickle keeps no value that is
    cheaper to make again (its address, its place in the library)."""
    import pickle

    content = site(tmp_path)
    out = tmp_path / "out"
    assert build(Options(content=content, out=out)).written
    cache, _ = Cache.open(cache_path(out))
    a, b = sorted((cache.result(e)[0] for e in cache.stories.values()), key=lambda s: s.id)[:2]
    assert a.county is b.county and a.branch is b.branch
    assert a.lines.keys is b.lines.keys and a.lines["title"] == 2 and a.lines.get("cover") is None
    assert a._place is None and a._url is None and a._face  # the face was made while parsing, and kept
    assert a.place and a.url == f"stories/{a.slug}/"  # made when asked for
    again = pickle.loads(pickle.dumps(a))
    assert again._place is None and again._url is None and again == a and again._face == a._face
