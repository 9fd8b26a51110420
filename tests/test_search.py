"""Site search (generator/search.py, kinds/search.py, js/search.js): the records, which stories
are indexed (never a draft; a county site its county alone), when an index is made again, the
search page, the preview; and the built search driven in headless Chromium
(tests/validators/search.js): Chinese queries that must find known stories and nothing else, a
query that must find nothing, a filter, a draft that must not appear, a site below a path.

The browser tests need Node, Chromium and tests/validators/node_modules (see test_validators.py);
without them they are skipped, except under GUSHIHUI_CI=1, where that is a failure."""
from __future__ import annotations

import functools
import gzip
import json
import os
import re
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, make_site, story, tree
from generator import pagefind_format, search
from generator.build import Options, Report, build, load_site
from generator.cli import summary
from generator.serve import Preview
from generator.session import Session
from test_validators import NODE_MODULES, NPM, VALIDATORS, missing

SEARCH_TOML = 'title = "测试站"\ncity = "丽水市"\nbase_url = "https://example.org/"\n'
ORG = ("county,county_code,township,township_code,branch,branch_code\n"
       "云和县,331125,浮云街道,331125001,中山村党支部,331125001001\n"
       "云和县,331125,浮云街道,331125001,长汀村党支部,331125001002\n"
       "莲都区,331102,碧湖镇,331102100,堰头村党支部,331102100001\n")
LIANDU = dict(county="莲都区", township="碧湖镇", branch="堰头村党支部")


def site(tmp_path: Path, **extra) -> Path:
    """Two counties, a story in each, and a draft."""
    return make_site(tmp_path, {
        "org.csv": ORG,
        "stories/map.md": story("## 一、一张地图\n\n村民叫它**民情地图**，A&amp;B 都画在上面。\n\n- 第一条\n- 第二条\n",
                                title="民情地图绘出连心桥", authors="[封平, 陈一良]", tags="[民情地图, 美丽乡村]",
                                standard="archive", date="2017-03-15"),
        "stories/weir.md": story("通济堰边，党员护水队十年如一日。\n", title="古堰边的守护人", date="2019-07-08",
                                 **LIANDU),
        "stories/secret.md": story("这是一篇草稿，写着机密的火星基地。\n", title="草稿", draft="true"),
        **extra,
    })


def indexed(out: Path) -> dict[str, dict]:
    """url → fragment (url, content, meta) of every story the built index holds, in every shard."""
    found = {}
    for fragment in sorted((out / search.BUNDLE).glob("*/fragment/*")):
        data = json.loads(gzip.decompress(fragment.read_bytes())[len(b"pagefind_dcd"):])
        found[data["url"]] = data
    return found


def need_pagefind():
    if search.executable() is None:
        missing("Pagefind's binary", 'python3 -m pip install -e .  (it brings "pagefind[extended]")')


# -- records ---------------------------------------------------------------------------------------

def test_cut_stands_each_chinese_character_alone_and_keeps_latin_words():
    assert search.cut("民情地图") == " 民 情 地 图 "
    assert " ".join(search.cut("2016年用上AI技术，效果好").split()) == "2016 年 用 上 AI 技 术 ， 效 果 好"
    assert search.cut("Party building") == "Party building"


def test_a_story_becomes_paragraphs_of_plain_text():
    html = ('<h2 id="yi">一、一张地图</h2><p>村民叫它<strong>民情地图</strong>，A&amp;B 都画在上面。</p>'
            '<ul><li>第一条</li><li>第二<em>条</em></li></ul><p><picture><img src="x.jpg" alt="图"></picture></p>')
    assert search.paragraphs(html) == ("一、一张地图", "村民叫它民情地图，A&B 都画在上面。", "第一条", "第二条")


def test_records_hold_title_text_place_authors_tags_and_filters(tmp_path):
    content = site(tmp_path)
    lib = load_site(Options(content=content), Report(), Session()).library
    shards = search.shards(lib, {})
    assert list(shards) == ["yun-he-xian", "lian-du-qu"]  # registry order
    [r] = shards["yun-he-xian"].records()
    assert (r.url, r.title, r.place, r.date, r.day) == ("stories/map/", "民情地图绘出连心桥",
                                                        "云和县 · 浮云街道 · 中山村党支部", "2017年3月15日", "2017-03-15")
    assert r.text == ("一、一张地图", "村民叫它民情地图，A&B 都画在上面。", "第一条", "第二条")
    assert (r.authors, r.tags) == (("封平", "陈一良"), ("民情地图", "美丽乡村"))
    assert r.filters == ("gsh_county_yun_he_xian", "gsh_year_2017", "gsh_standard_archive")
    page = r.page()
    assert 'data-pagefind-meta="title[data-v]" data-v="民情地图绘出连心桥"' in page
    assert "A&amp;B" in page and "<h1> 民 情 地 图 绘 出 连 心 桥 。 </h1>" in page
    assert page.index("村 民") < page.index("<h1>")  # the title last: excerpts start in the text
    [weir] = shards["lian-du-qu"].records()
    assert weir.filters == ("gsh_county_lian_du_qu", "gsh_year_2019")  # no standard, no token


def test_drafts_are_never_indexed_even_in_a_build_with_drafts(tmp_path):
    built = load_site(Options(content=site(tmp_path), drafts=True), Report(), Session())
    assert "secret" in built.library.stories  # the preview shows it…
    urls = [s.url for shard in search.shards(built.library, {}).values() for s in shard.stories]
    assert urls == ["stories/map/", "stories/weir/"]  # …but never indexes it
    facets = search.facets(built.library, built.settings)
    assert facets.years == (("2019", "2019年"), ("2017", "2017年"))  # the draft's 2021 is not offered


def test_a_record_with_markup_in_its_title_is_escaped():
    r = search.Record("stories/x/", '<b>"甲"</b>&', "县 · 乡 · 支部", "2020年1月1日", "2020-01-01", ("gsh_year_2020",),
                      ("<script>alert(1)</script>",))
    page = r.page()
    assert "<script>" not in page and "<b>" not in page
    assert 'data-v="&lt;b&gt;&quot;甲&quot;&lt;/b&gt;&amp;"' in page


# -- the index files, written here ----------------------------------------------------------------

def _cbor(data: bytes, at: int = 0):
    """A value of the CBOR Pagefind's index files hold (integers, text, arrays), and where it ends."""
    head = data[at]
    major, extra, at = head >> 5, head & 31, at + 1
    if extra >= 24:
        size = {24: 1, 25: 2, 26: 4, 27: 8}[extra]
        extra, at = int.from_bytes(data[at:at + size], "big"), at + size
    if major == 0:
        return extra, at
    if major == 1:
        return -1 - extra, at
    if major == 3:
        return data[at:at + extra].decode("utf-8"), at + extra
    assert major == 4, major
    items = []
    for _ in range(extra):
        item, at = _cbor(data, at)
        items.append(item)
    return items, at


def _opened(data: bytes) -> bytes:
    data = gzip.decompress(data)
    assert data.startswith(b"pagefind_dcd")
    return data[len(b"pagefind_dcd"):]


def read_index(files: dict[str, bytes]) -> dict:
    """An index's files, decoded: each page (by address) and, for each word, where each page holds
    it: {(weight, position)} in its text, {(meta field, position)} in its meta; variants alike."""
    [meta_name] = [name for name in files if name.endswith(".pf_meta")]
    version, pages, chunks, filters, sorts, fields = _cbor(_opened(files[meta_name]))[0]
    fragments = [json.loads(_opened(files[f"fragment/{h}.pf_fragment"])) for h, _ in pages]
    urls = [f["url"] for f in fragments]

    def places(entries):
        found, page = {}, 0
        for i, (delta, locations, metas) in enumerate(entries):
            page = delta if i == 0 else page + delta
            held = []
            for values, names in ((locations, None), (metas, fields)):
                at, base, kind = set(), None, None
                for v in values:
                    if v < 0:
                        kind, base = (-v - 1 if names is None else names[-v - 1]), None
                        continue
                    base = v if base is None else base + v
                    at.add((kind, base))
                held.append(frozenset(at))
            found[urls[page]] = tuple(held)
        return found

    words = {}
    for name, data in files.items():
        if name.startswith("index/"):
            for word, entries, variants in _cbor(_opened(data))[0][0]:
                words[word] = (places(entries), {v: places(e) for v, e in variants})
    assert [word for word in sorted(words)] == sorted(words) and len(chunks) == sum(n.startswith("index/") for n in files)
    dates = [fragments[p]["meta"]["date"] for p in sorts[0][1]]
    return {"version": version, "fields": fields, "words": words, "sorted": sorts[0][0] == "date" and len(dates) == len(urls),
            "pages": {f["url"]: (f["content"], f["meta"], f["word_count"], wc) for f, (_, wc) in zip(fragments, pages)}}


def test_the_index_written_here_holds_what_pagefinds_own_indexer_writes(tmp_path):
    need_pagefind()
    import numpy  # noqa: F401  a dependency (pyproject): the index written here needs it
    lib = load_site(Options(content=site(tmp_path)), Report(), Session()).library
    records = search.shards(lib, {})["yun-he-xian"].records() + (
        search.Record("stories/latin/", "标题 GDP 报告", "云和县 · 浮云街道 · 长汀村党支部", "2020年5月1日", "2020-05-01",
                      ("gsh_county_yun_he_xian", "gsh_year_2020"),
                      ("COVID-19疫情期间，GDP、5G网络、e-mail、foo_bar、3.5%、O'Neil、ＡＢＣ全角、café和Über咖啡。",
                       "正文里写着 gsh_year_2020 这个词，还有　全角空格\u00a0和不换行空格。"), ("张三",), ("Café-Bar",)),)
    store, binary = tmp_path / "store", search.executable()
    ours = pagefind_format.bundle(records, search.runtime(store, binary))
    theirs = search._pagefind(records, store, binary, "x")
    assert ours == pagefind_format.bundle(records, search.runtime(store, binary))  # the same bytes every time
    for name in ("pagefind.js", "pagefind-worker.js", "wasm.unknown.pagefind"):
        assert ours[name] == theirs[name]
    assert json.loads(ours["pagefind-entry.json"])["languages"]["und"]["page_count"] == len(records)
    mine, pagefind = read_index(ours), read_index(theirs)
    assert (mine["version"], mine["fields"], mine["sorted"]) == (pagefind["version"], pagefind["fields"], True)
    assert mine["pages"] == pagefind["pages"]  # what a result shows, and each page's words
    for word, (held, variants) in mine["words"].items():
        their_held, their_variants = pagefind["words"][word]
        # In the text, the same positions and weights; in the meta, the filters (Pagefind also
        # holds the words of the title, place and date, which no query cut as ours can find).
        assert {u: t for u, (t, _) in held.items() if t} == {u: t for u, (t, _) in their_held.items() if t}, word
        assert all(m <= their_held[u][1] for u, (_, m) in held.items()), word
        assert {v: {u: t for u, (t, _) in h.items()} for v, h in variants.items()} == \
            {v: {u: t for u, (t, _) in h.items()} for v, h in their_variants.items()}, word
    for word in set(pagefind["words"]) - set(mine["words"]):
        held, variants = pagefind["words"][word]
        assert not variants and not any(t for t, _ in held.values()), word  # meta alone
    assert {"gsh_year_2020", "covid", "19", "covid19", "cafe", "gdp", "民", "ｂ"} <= set(mine["words"])
    assert set(mine["words"]["cafe"][1]) == {"café"}


def test_the_words_of_many_records_at_once_are_each_records_words():
    import random

    import numpy  # noqa: F401  a dependency (pyproject)

    rng = random.Random(7)
    alphabet = list("民情地图党员，。、 \u3000\xa0\x85abXY09-_.'éÜ\t\nｆ") + ["\u2028", "😀", "\u3001", "\u3002"]
    text = lambda: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))  # noqa: E731
    for trial in range(200):
        items = tuple(search.Record(f"s/{trial}-{i}/", text(), text(), "2020年1月1日", "2020-01-01", (),
                                    tuple(text() for _ in range(rng.randint(0, 3))), (text(),), (text(),))
                      for i in range(rng.randint(1, 5)))
        contents, vocabulary, word_id, page, position, title = pagefind_format._words_at(items)
        for p, item in enumerate(items):
            found, body = pagefind_format.words(item)
            at = page == p
            assert contents[p] == " ".join(found)
            assert [vocabulary[w] for w in word_id[at]] == found
            assert position[at].tolist() == list(range(len(found)))
            assert title[at].tolist() == [i >= body for i in range(len(found))]


def test_many_heads_at_once_are_each_heads_bytes():
    import numpy as np

    # Each edge of the head's three lengths, under each major type; then past 65,535 (the slow way).
    for values in ([0, 23, 24, 255, 256, 65535, 1, 300, 7], [70000, 3, 24, 2**31 - 1]):
        for major in range(8):
            majors = np.array([major, (major + 3) % 8] * len(values), dtype=np.int8)
            tokens = np.array([v for v in values for _ in (0, 1)], dtype=np.int32)
            encoded, starts = pagefind_format._encode(majors, tokens)
            heads = [pagefind_format._head(int(m), int(t)) for m, t in zip(majors, tokens)]
            assert encoded.tobytes() == b"".join(heads)
            assert starts.tolist() == [sum(map(len, heads[:i])) for i in range(len(heads))]


# -- building the index ----------------------------------------------------------------------------

def test_the_build_writes_one_index_per_county_without_drafts(tmp_path):
    need_pagefind()
    content, out = site(tmp_path), tmp_path / "out"
    report = build(Options(content=content, out=out, jobs=1))
    assert report.written and report.problems == [], [str(p) for p in report.problems]
    assert sorted(p.name for p in (out / search.BUNDLE).iterdir()) == ["lian-du-qu", "yun-he-xian"]
    found = indexed(out)
    assert sorted(found) == ["/stories/map/", "/stories/weir/"]
    assert found["/stories/map/"]["meta"]["title"] == "民情地图绘出连心桥"
    assert "草稿" not in json.dumps(found, ensure_ascii=False)
    # Only what the search page loads: Pagefind's own interfaces stay out, and so does our list.
    names = {p.name for p in (out / search.BUNDLE / "yun-he-xian").iterdir()}
    assert {"pagefind.js", "pagefind-entry.json", "fragment", "index"} <= names
    assert not {n for n in names if n.startswith(search.UNUSED) or n == "urls.txt"}
    assert report.search.made == ["yun-he-xian", "lian-du-qu"] and "search" in report.timings
    assert "其中搜索索引 2 个县（市、区）用时" in summary(report, out)


def test_a_county_site_indexes_its_county_alone(tmp_path):
    need_pagefind()
    content, out = site(tmp_path), tmp_path / "yunhe"
    assert build(Options(content=content, out=out, jobs=1, county="云和县")).written
    assert [p.name for p in (out / search.BUNDLE).iterdir()] == ["yun-he-xian"]
    assert sorted(indexed(out)) == ["/stories/map/"]
    page = (out / "search/index.html").read_text(encoding="utf-8")
    assert 'data-shards="yun-he-xian"' in page and 'id="search-county"' not in page  # one county: no filter


def test_an_index_is_made_again_only_for_the_county_whose_records_changed(tmp_path):
    need_pagefind()
    content, out = site(tmp_path), tmp_path / "out"
    assert build(Options(content=content, out=out, jobs=1)).search.made == ["yun-he-xian", "lian-du-qu"]
    assert build(Options(content=content, out=out, jobs=1)).unchanged
    # A change nothing in the index shows: no county is indexed again, no index file rewritten.
    weir = content / "stories/weir.md"
    weir.write_text(weir.read_text(encoding="utf-8").replace("---\n\n", "featured: true\n---\n\n"), encoding="utf-8")
    report = build(Options(content=content, out=out, jobs=1))
    assert report.written and report.search.made == [] and "搜索索引" not in summary(report, out)
    # Its text: that county alone; the stale files of its old index are removed.
    before = set(indexed(out))
    old_files = {p.relative_to(out) for p in (out / search.BUNDLE / "lian-du-qu").rglob("*") if p.is_file()}
    weir.write_text(weir.read_text(encoding="utf-8").replace("十年如一日", "二十年如一日"), encoding="utf-8")
    report = build(Options(content=content, out=out, jobs=1))
    assert report.search.made == ["lian-du-qu"] and report.removed > 0
    assert set(indexed(out)) == before and "二十年如一日" in indexed(out)["/stories/weir/"]["content"].replace(" ", "")
    new_files = {p.relative_to(out) for p in (out / search.BUNDLE / "lian-du-qu").rglob("*") if p.is_file()}
    assert old_files - new_files and all((out / f).is_file() for f in new_files)
    # The same bytes as a fresh build: Pagefind's files are the same for the same records.
    fresh = tmp_path / "fresh"
    build(Options(content=content, out=fresh, jobs=1, use_cache=False))
    assert tree(out) == tree(fresh)
    # Only the index the output uses stays in the store, and Pagefind's runtime, each file once.
    store = out.parent / ".gushihui-cache" / "out.search"
    assert sorted(p.stem.rpartition("-")[0] for p in store.glob("*.json")) == ["lian-du-qu", "runtime", "yun-he-xian"]
    published = {f.read_bytes() for f in (out / search.BUNDLE).rglob("*") if f.is_file()}
    kept = [f.read_bytes() for f in (store / search.OBJECTS).iterdir()]
    assert len(kept) == len(set(kept)) and set(kept) == published


def test_without_numpy_pagefinds_own_indexer_makes_the_same_pages(tmp_path, monkeypatch):
    need_pagefind()
    content = site(tmp_path)
    build(Options(content=content, out=tmp_path / "ours", jobs=1))
    monkeypatch.setenv("GUSHIHUI_PAGEFIND_INDEXER", "1")  # as writes_itself() without numpy
    assert not search.writes_itself()
    report = build(Options(content=content, out=tmp_path / "theirs", jobs=1))
    assert report.written and report.problems == [] and report.search.made == ["yun-he-xian", "lian-du-qu"]
    assert indexed(tmp_path / "theirs") == indexed(tmp_path / "ours")


def test_a_pagefind_version_bundle_was_not_checked_against_indexes_with_pagefind(tmp_path, monkeypatch):
    """bundle() writes the index format of the versions in BUNDLE_VERSIONS only."""
    need_pagefind()
    content = site(tmp_path)
    used = []
    monkeypatch.setattr(search, "BUNDLE_VERSIONS", ("9.9.",))
    monkeypatch.setattr(pagefind_format, "bundle", lambda *a: used.append(a) or {})
    report = build(Options(content=content, out=tmp_path / "out", jobs=1))
    assert report.written and report.problems == [] and used == []
    assert indexed(tmp_path / "out")


def test_record_digests_made_while_parsing_are_those_of_the_records(tmp_path):
    """The read workers hand search.shards each record's digest: it must be the digest of the
    record made from the story as published."""
    from generator.cache import Cache, cache_path

    content = site(tmp_path)
    out = tmp_path / "out"
    assert build(Options(content=content, out=out, jobs=1)).written
    memo = Cache.open(cache_path(out))[0].search
    site_ = load_site(Options(content=content, out=out), Report(), Session())
    slug = {c.name: c.slug for c in site_.library.counties}
    published = [s for s in site_.library.stories.values() if not s.draft]
    assert published and all(memo[(s.digest, s.url, slug[s.county])] == search.record_digest(s, slug[s.county])
                             for s in published)


def test_a_free_page_at_the_search_address_is_a_collision(tmp_path):
    content = site(tmp_path, **{"pages/search.md": "---\ntitle: 搜索\n---\n正文。\n"})
    report = build(Options(content=content, out=tmp_path / "out", jobs=1))
    assert not report.written and any(p.code == "E401" and "search/index.html" in p.message for p in report.problems)


def test_without_pagefind_the_site_is_built_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(search, "executable", lambda: None)
    content, out = site(tmp_path), tmp_path / "out"
    report = build(Options(content=content, out=out, jobs=1))
    assert report.written and [p.code for p in report.problems] == ["W506"]
    assert (out / "search/index.html").is_file() and not (out / search.BUNDLE).exists()


def test_a_failing_indexer_stops_the_build_and_leaves_the_output(tmp_path, monkeypatch):
    need_pagefind()
    content, out = site(tmp_path), tmp_path / "out"
    assert build(Options(content=content, out=out, jobs=1)).written
    before = tree(out)
    broken = tmp_path / "pagefind"
    broken.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'pagefind 0.0' && exit 0\n"
                      "echo 'Error: disk full' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(broken))
    weir = content / "stories/weir.md"
    weir.write_text(weir.read_text(encoding="utf-8").replace("十年", "二十年"), encoding="utf-8")
    report = build(Options(content=content, out=out, jobs=1, keep_going=True))
    assert not report.written and [p.code for p in report.errors] == ["E505", "E505"]
    assert "disk full" in report.errors[0].message and "退出状态 3" in report.errors[0].message
    assert tree(out) == before


def test_the_shards_are_made_beside_the_pages_and_a_dead_maker_leaves_the_output(tmp_path, monkeypatch):
    """A build makes the missing shards in a process of its own while it renders the pages
    (workers.Background): the index is the same, made in another process; when that
    process dies, the build stops with E603 and the output stays as it was."""
    import os

    need_pagefind()
    content, out = site(tmp_path), tmp_path / "out"
    from generator import workers

    monkeypatch.setattr(workers, "_resident", lambda: 0)  # this test process, however large, may fork
    parent, pids, original = os.getpid(), [], search.make_pending
    monkeypatch.setattr(search, "make_pending", lambda *a: pids.append(os.getpid()) or original(*a))
    report = build(Options(content=content, out=out, jobs=1))
    assert report.written and report.search.made == ["yun-he-xian", "lian-du-qu"] and report.search.seconds > 0
    assert pids == []  # it ran in the child, whose list this is not
    assert indexed(out) and (out / search.BUNDLE / "yun-he-xian" / "pagefind-entry.json").is_file()
    before = tree(out)

    def dying(*args):
        assert os.getpid() != parent, "the shards were made in the main process"
        os._exit(1)

    monkeypatch.setattr(search, "make_pending", dying)
    weir = content / "stories/weir.md"
    weir.write_text(weir.read_text(encoding="utf-8").replace("十年", "二十年"), encoding="utf-8")
    report = build(Options(content=content, out=out, jobs=1))
    assert not report.written and [p.code for p in report.problems] == ["E603"]
    assert "生成搜索索引" in report.problems[0].message and tree(out) == before


def test_the_shards_are_started_before_the_judges_scores_are_read(tmp_path, monkeypatch):
    """The judges' scores need the stories alone and the index needs no scores: the process that
    makes the shards starts first, so that reading the scores (0.7 s of one core at 10,000
    stories) runs beside it, and the results are the same."""
    need_pagefind()
    import generator.build as build_module
    from generator import workers

    content = site(tmp_path, **{"ratings/judges.csv": "id,name\nJ1,甲\nJ2,乙\nJ3,丙\n",
                                "ratings/scores.csv": "story,judge,theme,truth,impact,writing\n" + "".join(
                                    f"{s},{j},20,20,15,15\n" for s in ("map", "weir") for j in ("J1", "J2", "J3"))})
    monkeypatch.setattr(workers, "_resident", lambda: 0)  # this test process, however large, may fork
    order, started, reading = [], workers.Background.__init__, build_module.read_ratings
    monkeypatch.setattr(workers.Background, "__init__", lambda self, *a: order.append("index") or started(self, *a))
    monkeypatch.setattr(build_module, "read_ratings", lambda *a: order.append("scores") or reading(*a))
    report = build(Options(content=content, out=tmp_path / "out", jobs=1))
    assert report.written and report.problems == [] and order == ["index", "scores"]
    assert report.search.made == ["yun-he-xian", "lian-du-qu"] and indexed(tmp_path / "out")
    assert "70.00" in (tmp_path / "out" / "stories" / "weir" / "index.html").read_text(encoding="utf-8")


def test_a_shard_whose_object_was_removed_by_hand_is_made_again(tmp_path):
    from generator.cache import cache_path

    need_pagefind()
    content, out = site(tmp_path), tmp_path / "out"
    assert build(Options(content=content, out=out, jobs=1)).written
    store = cache_path(out).parent / f"{out.name}.search"
    held = {slug: set(json.loads(next(store.glob(f"{slug}-*.json")).read_text(encoding="utf-8"))["files"].values())
            for slug in ("lian-du-qu", "yun-he-xian")}
    victim = store / search.OBJECTS / sorted(held["lian-du-qu"] - held["yun-he-xian"])[0]  # its own, not shared
    victim.unlink()
    search._read_manifest.cache_clear()  # as a new process: manifests are read once per process
    report = build(Options(content=content, out=out, jobs=1, use_cache=True), quick_check=False)
    assert report.written and report.search.made == ["lian-du-qu"]  # the shard that held it
    assert victim.is_file()


def test_large_shards_are_made_one_at_a_time():
    """Making a shard holds about 300 KB a story: a city's counties (1,100 stories, 330 MB)
    are made up to three at a time, a province's (11,000 stories, 3.3 GB) one at a time."""
    from types import SimpleNamespace

    def todo(counties: int, stories: int) -> dict:
        return {f"c{i}": (f"c{i}-x", SimpleNamespace(stories=[None] * stories)) for i in range(counties)}

    assert search.shards_at_once(todo(2, 1100), jobs=2) == 2
    assert search.shards_at_once(todo(9, 1100), jobs=8) == 3  # 1 GB // 330 MB
    assert search.shards_at_once(todo(9, 11000), jobs=8) == 1
    assert search.shards_at_once(todo(1, 10), jobs=8) == 1


# -- the search page -------------------------------------------------------------------------------

def test_every_page_links_to_the_search_page(tmp_path):
    content, out = site(tmp_path), tmp_path / "out"
    assert build(Options(content=content, out=out, jobs=1)).written
    for page in ("index.html", "stories/map/index.html", "counties/index.html", "404.html"):
        assert '<a href="/search/">搜索</a>' in (out / page).read_text(encoding="utf-8"), page
    assert "search/" not in (out / "sitemap.xml").read_text(encoding="utf-8")


def test_the_search_page_offers_filters_and_says_what_to_do_without_javascript(tmp_path):
    content, out = site(tmp_path), tmp_path / "out"
    assert build(Options(content=content, out=out, jobs=1)).written
    page = (out / "search/index.html").read_text(encoding="utf-8")
    assert "<title>站内搜索 - 测试站</title>" in page and 'aria-current="page">搜索' in page
    assert 'data-shards="yun-he-xian lian-du-qu"' in page
    assert re.findall(r'<option value="([^"]*)">([^<]*)</option>', page) == [
        ("", "全部"), ("yun-he-xian", "云和县"), ("lian-du-qu", "莲都区"),
        ("", "全部"), ("archive", "管好党建基础档案"),
        ("", "全部"), ("2019", "2019年"), ("2017", "2017年")]
    style, noscript = re.findall(r"<noscript>(.*?)</noscript>", page, re.S)
    assert "搜索需要浏览器启用 JavaScript；也可以按县（市、区）或“八个好”类别浏览" in noscript
    # A browser too old for the search is told so, one without scripting is not: its <noscript> speaks.
    assert style == "<style>.search-old { display: none; }</style>" and page.index(style) < page.index("</head>")
    assert '<p class="search-notice search-old">这个浏览器太旧，不能使用站内搜索' in page
    browse = page[page.index('id="search-browse"'):]
    assert '<a href="/counties/">各县（市、区）</a>' in browse and '<a href="/standards/archive/">管好党建基础档案</a>' in browse
    assert '<form class="search-form" role="search" action="/search/" method="get" hidden' in page
    assert '<script src="/js/search.js" defer></script>' in page and (out / "js/search.js").is_file()


def test_the_search_page_below_a_path_and_opened_from_disk(tmp_path):
    content = site(tmp_path)
    toml = content / "site.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("https://example.org/", "https://example.org/gsh/"),
                    encoding="utf-8")
    out = tmp_path / "out"
    assert build(Options(content=content, out=out, jobs=1)).written
    page = (out / "search/index.html").read_text(encoding="utf-8")
    assert '<script src="/gsh/js/search.js" defer></script>' in page and 'action="/gsh/search/"' in page
    toml.write_text(toml.read_text(encoding="utf-8") + "relative_urls = true\n", encoding="utf-8")
    assert build(Options(content=content, out=out, jobs=1)).written
    page = (out / "search/index.html").read_text(encoding="utf-8")
    assert '<script src="../js/search.js" defer></script>' in page and 'action="index.html"' in page
    assert '<a href="../../search/index.html">搜索</a>' in (out / "stories/map/index.html").read_text(encoding="utf-8")


# -- the preview -----------------------------------------------------------------------------------

def test_the_preview_indexes_after_writing_the_pages_and_never_a_draft(tmp_path):
    need_pagefind()
    content = site(tmp_path, **{"stories/map2.md": story("长汀村的民情日志。\n", title="第二个故事",
                                                          branch="长汀村党支部")})
    lines: list[str] = []
    preview = Preview(content, "127.0.0.1", 8999, lines.append, jobs=1)
    report = preview.rebuild(first=True)
    out = preview.options.out
    assert report.written and (out / "stories/secret/index.html").is_file()  # the preview shows the draft
    assert not (out / search.BUNDLE).exists() and sorted(report.search.pending) == ["lian-du-qu", "yun-he-xian"]
    last = preview.take_search()
    done = preview.make_search(last)
    assert sorted(done.made) == ["lian-du-qu", "yun-he-xian"] and preview.take_search() is None
    preview.rebuild(changed=set(), indexed=done)
    assert sorted(indexed(out)) == ["/stories/map/", "/stories/map2/", "/stories/weir/"]
    assert any(line.startswith("搜索索引已生成（2 个县（市、区）") for line in lines)
    # An edit to the text: the county's old index stands in (its stories are all still published)
    # until the new one is made.
    map_file = content / "stories/map.md"
    map_file.write_text(map_file.read_text(encoding="utf-8").replace("都画在上面", "都画在网格图上"), encoding="utf-8")
    report = preview.rebuild(changed={str(map_file)})
    assert list(report.search.pending) == ["yun-he-xian"]
    assert "/stories/map/" in indexed(out) and "网 格 图" not in indexed(out)["/stories/map/"]["content"]
    # A story made a draft: the old index holds it, so it is left out until the county is indexed again.
    map2 = content / "stories/map2.md"
    map2.write_text(map2.read_text(encoding="utf-8").replace("---\n\n", "draft: true\n---\n\n"), encoding="utf-8")
    report = preview.rebuild(changed={str(map2)})
    assert report.written and (out / "stories/map2/index.html").is_file()
    assert sorted(indexed(out)) == ["/stories/weir/"] and not (out / search.BUNDLE / "yun-he-xian").exists()
    done = preview.make_search(preview.take_search())
    assert done.made == ["yun-he-xian"]
    preview.rebuild(changed=set(), indexed=done)
    assert sorted(indexed(out)) == ["/stories/map/", "/stories/weir/"]
    assert "网 格 图" in indexed(out)["/stories/map/"]["content"]


# -- in the browser --------------------------------------------------------------------------------

class QuietHandler(SimpleHTTPRequestHandler):
    prefix = "/"

    def log_message(self, *args):
        pass

    def translate_path(self, path):
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / "no such file")
        return super().translate_path("/" + path[len(self.prefix):])


@pytest.fixture
def serve():
    """serve(folder, prefix="/") → the address it is served at, below `prefix`."""
    servers = []

    def start(folder: Path, prefix: str = "/") -> str:
        handler = type("Handler", (QuietHandler,), {"prefix": prefix})
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}{prefix}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def in_browser(url: str, steps: list[dict], tmp_path: Path) -> list[dict]:
    """tests/validators/search.js over the search page at `url`: one result per step."""
    node = shutil.which("node")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not node:
        missing("Node.js (to drive Chromium)", "apt-get install nodejs npm")
    if not os.access(chromium, os.X_OK):
        missing("Chromium (/usr/bin/chromium)", "apt-get install chromium")
    if not (NODE_MODULES / "puppeteer-core/package.json").is_file():
        missing("the npm package puppeteer-core", NPM)
    need_pagefind()
    steps_file = tmp_path / "steps.json"
    steps_file.write_text(json.dumps({"url": url, "steps": steps}, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([node, str(VALIDATORS / "search.js"), str(steps_file), chromium, str(tmp_path / "profile")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"search.js failed (exit {run.returncode}):\n{run.stderr}"
    results = json.loads(run.stdout)
    for step, result in zip(steps, results):
        assert not result.get("errors"), (step, result["errors"])
    return results


def published_stories() -> dict[str, dict]:
    """The sample site's published stories, read here with PyYAML alone: title → its county and
    what a reader may search (title, body, place, authors, tags)."""
    found = {}
    for path in sorted((ROOT / "content/stories").rglob("*.md")):
        _, head, body = path.read_text(encoding="utf-8").split("---\n", 2)
        meta = yaml.safe_load(head)
        if meta.get("draft"):
            continue
        authors = meta.get("authors") or []
        assert meta["title"] not in found, "two sample stories with one title"
        found[meta["title"]] = {"county": meta["county"], "searchable": "\n".join(
            [meta["title"], body, meta["county"], meta["township"], meta["branch"],
             *(authors if isinstance(authors, list) else [authors]), *(meta.get("tags") or [])])}
    return found


def titles(result: dict) -> list[str]:
    return sorted(r["title"] for r in result["results"])


def test_the_sample_site_is_searched_in_chinese_in_the_browser(sample, serve, tmp_path):
    stories = published_stories()

    def holding(text, county=None):
        return sorted(t for t, v in stories.items() if text in v["searchable"] and county in (None, v["county"]))

    drafts = [p for p in (ROOT / "content/stories").rglob("*.md") if "\ndraft: true" in p.read_text(encoding="utf-8")]
    assert drafts, "the sample site should have a draft"
    draft_text = drafts[0].read_text(encoding="utf-8").split("---\n", 2)[2]
    everything = "\n".join(v["searchable"] for v in stories.values())
    draft_only = next(draft_text[i:i + 6] for i in range(len(draft_text) - 6)
                      if re.fullmatch(r"[\u4e00-\u9fff]{6}", draft_text[i:i + 6]) and draft_text[i:i + 6] not in everything)

    url = serve(sample) + "search/"
    steps = [{"query": "民情"}, {"query": "党建"}, {"query": "火星基地"},
             {"query": "党员", "filters": {"county": "yun-he-xian"}}, {"query": draft_only},
             {"query": "民情 地图"}, {"filters": {"county": "long-quan-shi", "year": "2023"}},
             {"javascript": False}]
    minqing, dangjian, nothing, filtered, draft, two, listed, nojs = in_browser(url, steps, tmp_path)
    # 民情 finds exactly the stories that hold it: in 民情地图, 民情日记, 民情恳谈会…
    assert titles(minqing) == holding("民情") and len(holding("民情")) >= 5
    assert minqing["status"] == f"找到 {len(holding('民情'))} 个含有“民情”的故事。"
    assert all(r["marks"] and set(r["marks"]) == {"民情"} for r in minqing["results"])
    assert any("民情日记" in re.sub("<[^>]+>", "", r["excerpt"]) for r in minqing["results"])
    first = minqing["results"][0]
    assert first["title"] and re.fullmatch(r"\S+ · \S+ · \S+", first["place"]) and re.fullmatch(r"\d{4}年\d+月\d+日", first["date"])
    # A two-character query, one a word segmenter would not cut out (讲好党建故事, 党建工作…).
    assert titles(dangjian) == holding("党建") and dangjian["count"] == len(holding("党建"))
    # Nothing holds 火星基地: nothing is found (not every story with 火 or 基).
    assert nothing["count"] == 0 and nothing["results"] == [] and nothing["status"].startswith("没有找到含有“火星基地”")
    # A filter: 党员 in 云和县 alone.
    assert titles(filtered) == holding("党员", "云和县") and len(holding("党员")) > len(holding("党员", "云和县")) > 0
    # A phrase only a draft holds is not found.
    assert draft["count"] == 0, draft_only
    # Two phrases: both, anywhere in the story.
    both = sorted(set(holding("民情")) & set(holding("地图")))
    assert titles(two) == both and both != holding("民情")
    # Filters alone list the stories they leave, newest first.
    assert listed["count"] == len(listed["results"]) > 0
    assert all(r["place"].startswith("龙泉市") and r["date"].startswith("2023年") for r in listed["results"])
    # Without JavaScript: no form that could do nothing, but the way to browse instead.
    assert nojs["formHidden"] and "搜索需要浏览器启用 JavaScript；也可以按县（市、区）或“八个好”类别浏览" in nojs["text"]
    assert "各县（市、区）" in nojs["text"] and "管好党建基础档案" in nojs["text"] and "太旧" not in nojs["text"]


def test_a_site_below_a_path_and_a_preview_with_drafts_are_searched_in_the_browser(tmp_path, serve):
    smuggled = '&lt;img src=x onerror="window.pwned=1"&gt;'  # text in the story, markup if put into a page
    content = site(tmp_path, **{"stories/odd.md": story(f"警惕{smuggled}混进结果。\n", title="<b>标题</b>",
                                                         branch="长汀村党支部", date="2016-01-01")})
    toml = content / "site.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("https://example.org/", "https://example.org/gsh/"),
                    encoding="utf-8")
    out = tmp_path / "out"
    assert build(Options(content=content, out=out, jobs=1, drafts=True)).written
    assert (out / "stories/secret/index.html").is_file()  # built with --drafts: the draft is on the site
    url = serve(out, "/gsh/") + "search/"
    found, draft, listed, odd = in_browser(url, [{"query": "民情"}, {"query": "火星基地"}, {"filters": {"year": "2019"}},
                                                 {"query": "警惕"}], tmp_path)
    assert [r["url"] for r in found["results"]] == ["/gsh/stories/map/"]
    assert found["results"][0]["title"] == "民情地图绘出连心桥"
    assert found["results"][0]["place"] == "云和县 · 浮云街道 · 中山村党支部"
    assert "<mark>民情</mark>" in found["results"][0]["excerpt"]
    assert draft["count"] == 0  # only the draft holds it, and drafts are never indexed
    assert [r["url"] for r in listed["results"]] == ["/gsh/stories/weir/"]
    # Text that looks like markup stays text: in the title, the excerpt, anywhere.
    [result] = odd["results"]
    assert not odd["injected"] and result["title"] == "<b>标题</b>" and "<img" not in result["excerpt"]
    assert "&lt;img src=x" in result["excerpt"] and result["marks"] == ["警惕"]
