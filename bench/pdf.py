#!/usr/bin/env python3
"""How long township anthologies take as PDF (WeasyPrint).

    python3 bench/pdf.py                 # the sample site's largest anthology, and a 100-story one
    python3 bench/pdf.py --corpus 10000  # also `build --pdf` of the synthetic city: cold, then one story edited

The 100-story anthology is made from ../shared/bench/make_corpus.py's stories, all moved
into one township. Times are medians of --runs runs; each PDF is made in this process.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pypdf

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GUSHIHUI_SHARED", REPO.parent / "shared"))
sys.path.insert(0, str(REPO))

from generator.build import Options, Report, load_site  # noqa: E402
from generator.formats import write  # noqa: E402
from generator.kinds import plan_pages  # noqa: E402
from generator.render import View, make_environment  # noqa: E402
from generator.session import Session  # noqa: E402


def largest_book(content: Path, runs: int) -> tuple[str, int, int, float]:
    """(township, stories, pages, median seconds) of the largest anthology's PDF."""
    report, session = Report(), Session()
    site = load_site(Options(content=content, jobs=1), report, session)
    assert site is not None, [str(p) for p in report.problems]
    plans = [p for p in plan_pages(site.library, site.settings, session, frozenset({"pdf"})) if p.format == "pdf"]
    plan = max(plans, key=lambda p: len(p.items))
    files = {}
    for root in site.theme.static_dirs:
        files.update({str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()})
    files.update({str(p.relative_to(content)): p for p in (content / "media").rglob("*") if p.is_file()})
    for story in site.library.stories.values():
        files.update({a.address: content / a.source for a in story.assets})
    env, view = make_environment(site.theme, site.settings), View(site.library, site.settings, files, content.parent)
    times, data = [], b""
    for _ in range(runs):
        started = time.perf_counter()
        data = write(env, view, plan)
        times.append(time.perf_counter() - started)
    pages = len(pypdf.PdfReader(io.BytesIO(data)).pages)
    return plan.key, len(plan.items), pages, statistics.median(times)


def one_township(work: Path, stories: int) -> Path:
    """A site whose stories all belong to one township (each keeps its own branch)."""
    source = work / f"corpus-{stories}"
    if not (source / "site.toml").exists():
        subprocess.run([sys.executable, str(SHARED / "bench/make_corpus.py"), str(source), "--stories", str(stories),
                        "--images", "3"], check=True, stdout=subprocess.DEVNULL)
    site = work / f"book-{stories}"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(source, site)
    county, town = "云和县", "汇编镇"
    rows = list(csv.reader(open(site / "org.csv", encoding="utf-8")))
    with open(site / "org.csv", "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(rows[0])
        for r in rows[1:]:
            out.writerow([county, "1", town, "1", f"{r[2]}{r[4]}", ""])
    for path in (site / "stories").rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        old_town = re.search(r"^township: (.+)$", text, re.M).group(1)
        text = re.sub(r"^county: .+$", f"county: {county}", text, flags=re.M)
        text = re.sub(r"^township: .+$", f"township: {town}", text, flags=re.M)
        text = re.sub(r"^branch: (.+)$", lambda m: f"branch: {old_town}{m.group(1)}", text, flags=re.M)
        path.write_text(text, encoding="utf-8")
    return site


def timed(cmd: list[str]) -> float:
    os.sync()
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--corpus", type=int, default=0, help="also build this many stories with --pdf")
    ap.add_argument("--work", type=Path, default=Path("/tmp/gushihui-bench-pdf"))
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    print("| anthology | stories | PDF pages | seconds (median) |")
    print("|---|---|---|---|")
    for name, content in [("sample site, largest", REPO / "content"), ("one township of make_corpus", one_township(a.work, 100))]:
        key, stories, pages, seconds = largest_book(content, a.runs)
        print(f"| {name} ({key}) | {stories} | {pages} | {seconds:.2f} s |", flush=True)
    if a.corpus:
        content = a.work / f"city-{a.corpus}"
        if not (content / "site.toml").exists():
            subprocess.run([sys.executable, str(SHARED / "bench/make_corpus.py"), str(content), "--stories",
                            str(a.corpus)], check=True, stdout=subprocess.DEVNULL)
        out = a.work / "city-out"
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(a.work / ".gushihui-cache", ignore_errors=True)
        build = [sys.executable, "-m", "generator", "build", "--content", str(content), "--out", str(out)]
        cold_html = timed(build)
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(a.work / ".gushihui-cache", ignore_errors=True)
        cold = timed(build + ["--pdf"])
        story = sorted((content / "stories").rglob("*.md"))[a.corpus // 2]
        with story.open("a", encoding="utf-8") as f:
            f.write(f"\n补充一段，第{time.time_ns()}次。\n")
        edit = timed(build + ["--pdf"])
        print(f"\n{a.corpus:,} stories, {os.cpu_count()} cores: build {cold_html:.1f} s; build --pdf cold {cold:.1f} s, "
              f"after a one-story edit {edit:.1f} s")


if __name__ == "__main__":
    main()
