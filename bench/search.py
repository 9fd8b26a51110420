#!/usr/bin/env python3
"""The site search on the synthetic city: what the index costs to build, what it weighs, and how
soon a reader sees the first result.

    python3 bench/search.py                      # 10,000 stories, 3 runs, medians
    python3 bench/search.py --stories 2000 --runs 1 --no-serve
    python3 bench/search.py --runs 1 --no-serve --jobs 1   # one county at a time: the least memory
    python3 bench/search.py --runs 1 --no-serve --pagefind-indexer   # Pagefind's own indexer, as before

Makes the corpus with ../shared/bench/make_corpus.py (as bench/run.py does; the same work
folder), then in each run: a cold `gushihui build` (no output, no cache), the same build without
Pagefind (PAGEFIND_BINARY_PATH pointing nowhere: W506, no index) for the difference, a no-change
build, and a build after one story's text changed (its county alone is indexed again). The
index's own time is the one the build reports ("其中搜索索引 … 用时"); peak memory is the whole
process tree's, Pagefind's included. Then the built site is served on 127.0.0.1 and searched in
headless Chromium (tests/validators/search.js), each run with a new profile, so the first search
downloads everything: the time from opening the search page to the first results shown, and each
later search's own time. With serve: the live preview's time from a save to the page written,
and to the search index moved in after it. Prints a Markdown table (docs/performance.md).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from run import SHARED, clean, measure  # noqa: E402

VALIDATORS = REPO / "tests" / "validators"
INDEX_TIME = re.compile(r"其中搜索索引 (\d+) 个县（市、区）用时 ([\d.]+) 秒")
QUERIES = [{"query": "民情"}, {"query": "党员"}, {"query": "党员", "filters": {"county": "yun-he-xian"}},
           {"query": "直播带货"}, {"query": "火星基地"}]


JOBS: list[str] = []  # --jobs N, when asked for
INDEXER: dict[str, str] = {}  # --pagefind-indexer: GUSHIHUI_PAGEFIND_INDEXER=1 (search.writes_itself)


def build(content: Path, out: Path, env: dict | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak KB of the process tree, the summary line) of `gushihui build`
    (timed by bench/run.py's `measure`: sync first, the tree's memory sampled every 50 ms)."""
    r = measure([sys.executable, "-m", "generator", "build", "--content", str(content), "--out", str(out), *JOBS],
                repo=REPO, env={**INDEXER, **(env or {})})
    if not r.ok:
        raise SystemExit(f"gushihui build failed ({r.why()}):\n{r.stderr[-2000:]}")
    return r.seconds, r.peak_kb, r.last_line


def index_time(summary: str) -> tuple[int, float]:
    found = INDEX_TIME.search(summary)
    return (int(found.group(1)), float(found.group(2))) if found else (0, 0.0)


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def browse(out: Path, work: Path) -> list[dict]:
    """The QUERIES on the served site, in a browser with a new profile."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        steps = work / "steps.json"
        steps.write_text(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}/search/",
                                     "steps": QUERIES}, ensure_ascii=False), encoding="utf-8")
        profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=work))
        run = subprocess.run(["node", str(VALIDATORS / "search.js"), str(steps),
                              shutil.which("chromium") or "/usr/bin/chromium", str(profile)],
                             capture_output=True, text=True, timeout=900)
        shutil.rmtree(profile, ignore_errors=True)
        if run.returncode != 0:
            raise SystemExit(f"search.js failed:\n{run.stderr[-2000:]}")
        return json.loads(run.stdout)
    finally:
        server.shutdown()
        server.server_close()


def serve_times(content: Path, story: Path, runs: int) -> list[tuple[float, float]]:
    """(save → page written, save → search index moved in) seconds in `gushihui serve`."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--content", str(content),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **INDEXER})
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()

    def wait(what: str, since: int, seconds: float = 1200) -> None:
        deadline = time.monotonic() + seconds
        while not any(what in line for line in lines[since:]):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"serve: no “{what}”:\n" + "".join(lines[-20:]))
            time.sleep(0.01)

    try:
        wait("正在预览", 0)
        wait("搜索索引已生成", 0)  # the first index, made after the first build
        page = content.resolve().parent / ".gushihui-cache" / "preview" / "stories" / story.stem / "index.html"
        results = []
        for n in range(runs):
            time.sleep(1.0)
            marker = f"搜索测量{os.getpid()}号{n}"
            since = len(lines)
            started = time.perf_counter()
            with story.open("a", encoding="utf-8") as f:
                f.write(f"\n{marker}\n")
            while marker not in page.read_text(encoding="utf-8"):
                if time.perf_counter() - started > 120:
                    raise SystemExit("the preview did not update:\n" + "".join(lines[-20:]))
                time.sleep(0.005)
            written = time.perf_counter() - started
            wait("搜索索引已生成", since)
            results.append((written, time.perf_counter() - started))
        return results
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stories", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/gushihui-bench"))
    ap.add_argument("--no-serve", action="store_true")
    ap.add_argument("--jobs", type=int, help="gushihui build --jobs N (as many counties indexed at a time)")
    ap.add_argument("--pagefind-indexer", action="store_true",
                    help="index with Pagefind's binary over the records as pages (what numpy's absence does)")
    a = ap.parse_args()
    if a.jobs:
        JOBS[:] = ["--jobs", str(a.jobs)]
    if a.pagefind_indexer:
        INDEXER["GUSHIHUI_PAGEFIND_INDEXER"] = "1"

    site = a.work / f"site-{a.stories}"
    content, out = site / "content", site / "output-search"
    if not (content / "site.toml").exists():
        subprocess.run([sys.executable, str(SHARED / "bench" / "make_corpus.py"), str(content),
                        "--stories", str(a.stories)], check=True)
    stories = sorted((content / "stories").rglob("*.md"))
    story = stories[len(stories) // 3]
    rows: dict[str, list[float]] = {k: [] for k in ("cold", "plain", "index", "peak", "nochange", "edit", "reindex",
                                                    "first", "later", "nothing")}
    counties, found = 0, {}
    for run in range(a.runs):
        clean(out)
        seconds, peak, line = build(content, out, {"PAGEFIND_BINARY_PATH": str(site / "no-pagefind")})
        rows["plain"].append(seconds)
        clean(out)
        seconds, peak, line = build(content, out)
        counties, index = index_time(line)
        rows["cold"].append(seconds), rows["index"].append(index), rows["peak"].append(peak / 1024)
        rows["nochange"].append(build(content, out)[0])
        with story.open("a", encoding="utf-8") as f:
            f.write(f"\n第{run}次测量：补充一段新的内容。\n")
        seconds, _, line = build(content, out)
        rows["edit"].append(seconds), rows["reindex"].append(index_time(line)[1])
        results = browse(out, site)
        rows["first"].append(results[0]["loadMs"] / 1000)
        rows["later"].append(statistics.median(r["ms"] for r in results[1:]) / 1000)
        found = {(r["query"], tuple(r["filters"].items())): (r["count"], r["ms"], r["bytes"]) for r in results}
        print(f"run {run + 1}: cold {rows['cold'][-1]:.2f} s (index {index:.2f} s, without it "
              f"{rows['plain'][-1]:.2f} s), peak {peak / 1024:.0f} MB; one-story edit {rows['edit'][-1]:.2f} s "
              f"(index {rows['reindex'][-1]:.2f} s); first result in the browser {rows['first'][-1]:.2f} s", flush=True)
    files, total = size(out / "search" / "pagefind")
    serve = [] if a.no_serve else serve_times(content, story, max(3, a.runs))
    med = {k: statistics.median(v) for k, v in rows.items() if v}
    print()
    print(f"{a.stories:,} stories in {counties} counties (one index each), {a.runs} runs, medians; "
          f"{os.cpu_count()} cores")
    print()
    print("| measurement | value |")
    print("|---|---|")
    print(f"| cold build with the index (`gushihui build`) | {med['cold']:.2f} s |")
    print(f"| of which making the index (Pagefind, {counties} counties) | {med['index']:.2f} s |")
    print(f"| the same build without Pagefind | {med['plain']:.2f} s |")
    print(f"| peak memory, cold build (process tree, Pagefind included) | {med['peak']:.0f} MB |")
    print(f"| no-change rebuild | {med['nochange']:.2f} s |")
    print(f"| one story's text edited: build (its county indexed again) | {med['edit']:.2f} s "
          f"(index {med['reindex']:.2f} s) |")
    print(f"| index size | {total / 1e6:.1f} MB in {files:,} files ({total / a.stories / 1024:.1f} KB a story) |")
    print(f"| first result in the browser: open the search page, type 民情, results shown (new profile) "
          f"| {med['first']:.2f} s |")
    print(f"| a later search's own time (median of the other queries) | {med['later'] * 1000:.0f} ms |")
    if serve:
        print(f"| serve, one-story edit: save → page written | {statistics.median(w for w, _ in serve):.2f} s |")
        print(f"| serve, one-story edit: save → search index moved in | {statistics.median(i for _, i in serve):.2f} s |")
    print()
    for (query, filters), (count, ms, downloaded) in found.items():
        where = f" ({', '.join(f'{k}={v}' for k, v in filters)})" if filters else ""
        print(f"- {query}{where}: {count} stories, {ms} ms, {downloaded / 1024:.0f} KB downloaded")


if __name__ == "__main__":
    main()
