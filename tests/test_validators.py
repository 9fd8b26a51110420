"""Outside validators over built sites: the Nu HTML Checker on every page, axe-core in headless
Chromium on representative pages, feed.xml against the Atom schema (RFC 4287) and sitemap.xml
against the sitemaps.org schema, and no two pages with the same <title>.

Two sites are checked: the sample site (the session's `sample`) and a copy of it with 55 more
stories sharing one tag, one category and one township, so that those lists run onto page 2.
Each is built once; vnu runs once (one JVM) over both, axe once (one Node, one browser).

The tools come from Debian (java, chromium) and from npm (tests/validators/package.json:
`cd tests/validators && npm ci --ignore-scripts`). A missing tool skips its test with the way
to install it, except when GUSHIHUI_CI=1 (set by .ci/run): then it is a failure.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import shutil
import subprocess
import threading
from collections import defaultdict
from html import unescape
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import ROOT, story
from generator.build import Options, build

VALIDATORS = Path(__file__).resolve().parent / "validators"
NODE_MODULES = VALIDATORS / "node_modules"
VNU_JAR = NODE_MODULES / "vnu-jar/build/dist/vnu.jar"
CI = os.environ.get("GUSHIHUI_CI") == "1"
NPM = "cd tests/validators && npm ci --ignore-scripts"

CROWDED_TAG, CROWDED_TAG_SLUG = "乡村振兴", "xiang-cun-zhen-xing"  # a tag some sample stories already have
CROWDED_STORIES = 55
# Representative pages for axe, all in the crowded site (it holds the whole sample site too).
AXE_PAGES = {
    "home": "",
    "story with a cover": "stories/fuyun-map/",
    "county showcase": "counties/yun-he-xian/",
    "township": "counties/yun-he-xian/fu-yun-jie-dao/",
    "tag": f"tags/{CROWDED_TAG_SLUG}/",
    "tag, page 2": f"tags/{CROWDED_TAG_SLUG}/page/2/",
    "standard": "standards/story/",
    "township anthology": "anthologies/yun-he-xian/fu-yun-jie-dao/",
    "anthologies": "anthologies/",
    "ratings": "ratings/",
    "coverage": "coverage/",
    "free page": "about/",
    "404": "404.html",
    "search": "search/",
    "search with results": "search/?q=%E6%B0%91%E6%83%85",  # 民情
}


def missing(what: str, how: str):
    """Skip for want of a tool, or fail under GUSHIHUI_CI=1, where every tool must be there."""
    reason = f"{what} is missing; install it with: {how}"
    if CI:
        pytest.fail(f"GUSHIHUI_CI=1 and {reason}", pytrace=False)
    pytest.skip(reason)


def need_lxml():
    try:
        from lxml import etree
    except ImportError:
        missing("lxml", 'python3 -m pip install -e ".[test]"')
    return etree


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# -- the crowded site ------------------------------------------------------------------------

def crowd(content: Path, n: int = CROWDED_STORIES) -> None:
    """Add n published stories to content/, all in 云和县浮云街道 (its two branches of org.csv),
    all of the category 讲好党建故事 and all tagged CROWDED_TAG."""
    branches = ["中山村党支部", "长汀村党支部"]
    folder = content / "stories/crowd"
    folder.mkdir(parents=True)
    for i in range(1, n + 1):
        body = (f"## 第{i}次走访\n\n支部书记带领党员挨家挨户走访，把群众的难事、急事一一记在民情日志上。"
                "每月的党员固定活动日，党员们一起清理河道、修缮步道、慰问困难群众。\n\n"
                "## 办成的实事\n\n村里整合闲置的校舍和粮站，建起了党群服务中心，群众办事不出村。\n")
        (folder / f"crowd-{i:02d}.md").write_text(story(
            body, title=f"浮云街道乡村振兴故事第{i}篇", branch=branches[i % 2],
            date=(dt.date(2022, 1, 1) + dt.timedelta(days=i)).isoformat(), authors="[王建国]",
            standard="讲好党建故事", tags=f"[{CROWDED_TAG}, 基层治理]"), encoding="utf-8")


@pytest.fixture(scope="module")
def crowded(tmp_path_factory) -> Path:
    """The sample site plus 55 stories under one tag (and category and township), built once."""
    root = tmp_path_factory.mktemp("crowded")
    shutil.copytree(ROOT / "content", root / "content")
    crowd(root / "content")
    report = build(Options(content=root / "content", out=root / "output", jobs=1))
    assert report.written and report.problems == [], [str(p) for p in report.problems]
    out = root / "output"
    assert (out / f"tags/{CROWDED_TAG_SLUG}/page/2/index.html").is_file(), "the tag list should run onto page 2"
    return out


# -- the Nu HTML Checker: every page of both sites, one JVM ----------------------------------

@pytest.fixture(scope="module")
def vnu(sample, crowded) -> dict[Path, list[dict]]:
    """The Nu HTML Checker's errors on every page of both sites: page path → messages."""
    java = shutil.which("java")
    if not java:
        missing("Java (to run the Nu HTML Checker)", "apt-get install default-jre-headless")
    if not VNU_JAR.is_file():
        missing(f"the Nu HTML Checker ({VNU_JAR.relative_to(ROOT)})", NPM)
    pages = html_pages(sample) + html_pages(crowded)
    run = subprocess.run([java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *map(str, pages)],
                         capture_output=True, text=True, timeout=600)
    try:  # the report is written to stderr; the exit code is 1 when there are errors
        messages = json.loads(run.stderr)["messages"]
    except (ValueError, KeyError):
        pytest.fail(f"vnu did not report (exit {run.returncode}):\n{run.stdout}\n{run.stderr}", pytrace=False)
    found: dict[Path, list[dict]] = defaultdict(list)
    for m in messages:
        found[Path(unquote(urlsplit(m.get("url", "")).path))].append(m)
    unknown = set(found) - set(pages)
    assert not unknown, f"vnu reported on files it was not given: {[found[p] for p in unknown]}"
    return found


def vnu_report(site: Path, found: dict[Path, list[dict]]) -> str:
    """The errors on the pages of `site`, grouped by message, each with its pages and lines."""
    by_message: dict[str, list[str]] = defaultdict(list)
    count = 0
    for page, messages in sorted(found.items()):
        if not page.is_relative_to(site):
            continue
        for m in messages:
            count += 1
            where = f"{page.relative_to(site)}:{m.get('lastLine', '?')}.{m.get('firstColumn', m.get('lastColumn', '?'))}"
            extract = " ".join(m.get("extract", "").split())
            by_message[f"[{m.get('type')}{'/' + m['subType'] if m.get('subType') else ''}] {m.get('message')}"].append(
                f"{where}  {extract[:160]}")
    lines = [f"{count} errors of the Nu HTML Checker in {site}:"]
    for message, places in sorted(by_message.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"\n{message} ({len(places)}×)")
        lines += [f"    {p}" for p in places[:40]] + ([f"    … and {len(places) - 40} more"] if len(places) > 40 else [])
    return "\n".join(lines) if count else ""


def test_every_page_of_the_sample_site_is_valid_html(sample, vnu):
    assert html_pages(sample), "the sample site has no pages"
    report = vnu_report(sample, vnu)
    if report:
        pytest.fail(report, pytrace=False)


def test_every_page_of_a_site_with_long_lists_is_valid_html(crowded, vnu):
    report = vnu_report(crowded, vnu)
    if report:
        pytest.fail(report, pytrace=False)


# -- titles ----------------------------------------------------------------------------------

def duplicate_titles(site: Path) -> dict[str, list[str]]:
    titles: dict[str, list[str]] = defaultdict(list)
    for page in html_pages(site):
        match = re.search(r"<title>(.*?)</title>", page.read_text(encoding="utf-8"), re.S)
        title = " ".join(unescape(match.group(1)).split()) if match else "(no <title>)"
        titles[title].append(str(page.relative_to(site)))
    return {t: pages for t, pages in titles.items() if len(pages) > 1}


@pytest.mark.parametrize("which", ["sample", "crowded"])
def test_no_two_pages_have_the_same_title(which, request):
    site = request.getfixturevalue(which)
    duplicates = duplicate_titles(site)
    if duplicates:
        pytest.fail(f"pages of the {which} site sharing a <title>:\n" + "\n".join(
            f"  {title!r}: {', '.join(pages)}" for title, pages in sorted(duplicates.items())), pytrace=False)


# -- axe-core in headless Chromium: representative pages, one Node, one browser --------------

class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(crowded):
    """The crowded site over HTTP on a free port of 127.0.0.1, for the module's tests."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(crowded)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_representative_pages_pass_axe(crowded, served, tmp_path):
    node = shutil.which("node")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not node:
        missing("Node.js (to drive axe-core)", "apt-get install nodejs npm")
    if not os.access(chromium, os.X_OK):
        missing("Chromium (/usr/bin/chromium, for axe-core)", "apt-get install chromium")
    for package in ("puppeteer-core", "axe-core"):
        if not (NODE_MODULES / package / "package.json").is_file():
            missing(f"the npm package {package}", NPM)
    files = [path.partition("?")[0] for path in AXE_PAGES.values()]
    absent = [path for path in files if not (crowded / (path or "index.html")).is_file()
              and not (crowded / path / "index.html").is_file()]
    assert not absent, f"pages to check are not in the site: {absent}"
    urls = [served + path for path in AXE_PAGES.values()]
    (tmp_path / "urls.json").write_text(json.dumps(urls), encoding="utf-8")
    run = subprocess.run([node, str(VALIDATORS / "axe.js"), str(tmp_path / "urls.json"), chromium,
                          str(tmp_path / "chromium-profile")], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"axe.js failed (exit {run.returncode}):\n{run.stderr}"
    results = json.loads(run.stdout)
    assert [r["url"] for r in results] == urls
    assert all(r["status"] == 200 and r["ran"] > 0 and r["headingOrder"] for r in results), results
    name_of = {served + path: f"{name} (/{path})" for name, path in AXE_PAGES.items()}
    by_rule: dict[str, list[str]] = defaultdict(list)
    helps: dict[str, str] = {}
    for r in results:
        for v in r["violations"]:
            helps[v["id"]] = f"{v['help']} [{v['impact']}] {v['helpUrl']}"
            for n in v["nodes"]:
                target = " ".join(" ".join(t) if isinstance(t, list) else t for t in n["target"])
                by_rule[v["id"]].append(f"{name_of[r['url']]}: {target}\n        {' '.join(n['html'].split())[:200]}")
    report = "\n".join(f"\n{rule}: {helps[rule]} ({len(places)}×)\n" + "\n".join(f"    {p}" for p in places)
                       for rule, places in sorted(by_rule.items()))
    if by_rule:
        pytest.fail(f"axe-core (WCAG 2.1 A/AA + heading-order) found violations:{report}", pytrace=False)
    # On a phone (360 px): the menu keeps to one row, and no page is wider than the screen.
    crowded_phone = {name_of[r["url"]]: r["phone"] for r in results
                     if r["phone"]["navRows"] != 1 or r["phone"]["overflow"] > 0}
    assert crowded_phone == {}, f"at 360 px wide (navRows: rows of the menu; overflow: px too wide): {crowded_phone}"


# -- feed and sitemap against their schemas --------------------------------------------------

def schema_errors(validator, path: Path) -> list[str]:
    etree = need_lxml()
    ok = validator.validate(etree.parse(str(path)))
    return [] if ok else [f"{path.name}:{e.line}: {e.message}" for e in validator.error_log]


@pytest.mark.parametrize("which", ["sample", "crowded"])
def test_feed_is_valid_atom(which, request):
    etree = need_lxml()
    site = request.getfixturevalue(which)
    atom = etree.RelaxNG(etree.parse(str(VALIDATORS / "atom.rng")))
    assert schema_errors(atom, site / "feed.xml") == []


@pytest.mark.parametrize("which", ["sample", "crowded"])
def test_sitemap_is_valid(which, request):
    etree = need_lxml()
    site = request.getfixturevalue(which)
    sitemap = etree.XMLSchema(etree.parse(str(VALIDATORS / "sitemap.xsd")))
    assert schema_errors(sitemap, site / "sitemap.xml") == []


def test_the_schemas_reject_what_they_should():
    """The vendored schemas are real: a feed without id and with a bad date, a sitemap
    with a relative address, are refused."""
    etree = need_lxml()
    atom = etree.RelaxNG(etree.parse(str(VALIDATORS / "atom.rng")))
    good = ('<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>t</title>'
            '<updated>2021-06-01T00:00:00+08:00</updated></feed>')
    assert atom.validate(etree.fromstring(good))
    assert not atom.validate(etree.fromstring(good.replace("<id>urn:x</id>", "")))
    assert not atom.validate(etree.fromstring(good.replace("2021-06-01T00:00:00+08:00", "2021年6月1日")))
    sitemap = etree.XMLSchema(etree.parse(str(VALIDATORS / "sitemap.xsd")))
    urlset = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{}</loc></url></urlset>'
    assert sitemap.validate(etree.fromstring(urlset.format("https://example.org/")))
    assert not sitemap.validate(etree.fromstring(urlset.format("/")))
