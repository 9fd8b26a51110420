"""Fault injection: builds killed (SIGKILL) at every step of a write,
interrupted (SIGINT) while files are being put in place, two builds racing
for one output, and a worker process that dies.

The promise under test: after a kill at any moment, once `recover` has run
(the next build runs it first), the output is the old site or the new one,
never a mixture and never missing; the next build gives exactly the bytes of
a fresh --no-cache build; and the cache never vouches for a write that did
not finish, so "no change" is never reported over a site it did not write.

The faults are real: each happens in a subprocess that really dies. The seam
is `generator.output._checkpoint`, called between the steps of a write.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, tree
from generator.build import Options, build
from generator.cache import cache_path
from generator.output import MARKER, read_marker, recover

pytestmark = pytest.mark.skipif(os.name != "posix", reason="real signals and flock")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 exchange is Linux only")

BRANCHES = [("云和县", "浮云街道", "中山村党支部"), ("云和县", "浮云街道", "长汀村党支部"),
            ("云和县", "紧水滩镇", "石浦村党支部"), ("莲都区", "碧湖镇", "堰头村党支部")]
STORIES = 40  # with tiny's own: 64 pages, of which edit_few changes 16: fewer than half, so a merge
UNIQUE_TAG = "独有标签"  # only gen-000 has it: deleting that story leaves a stale tag folder to prune


# Sites ----------------------------------------------------------------------

def story_text(i: int, title: str | None = None) -> str:
    county, township, branch = BRANCHES[i % len(BRANCHES)]
    tags = f"[美丽乡村, {UNIQUE_TAG}]" if i == 0 else "[美丽乡村]"
    return (f"---\ntitle: {title or f'故事{i}'}\ncounty: {county}\ntownship: {township}\nbranch: {branch}\n"
            f"date: 2020-01-{i % 28 + 1:02d}\ntags: {tags}\n---\n\n第{i}个故事的正文。\n")


def add_stories(content: Path, count: int) -> None:
    for i in range(count):
        (content / "stories" / f"gen-{i:03d}.md").write_text(story_text(i), encoding="utf-8")


def rewrite(path: Path, text: str) -> None:
    """A new file in place of the old: the sources' versions share unchanged files by hard link."""
    path.unlink(missing_ok=True)
    path.write_text(text, encoding="utf-8")


def edit_few(content: Path) -> None:
    """Two stories retitled, one deleted (with the only use of a tag), one added:
    fewer than half of the pages change, so the build moves files in (merge)."""
    for i in (5, 10):
        rewrite(content / "stories" / f"gen-{i:03d}.md", story_text(i, f"改过的故事{i}"))
    (content / "stories" / "gen-000.md").unlink()
    rewrite(content / "stories" / "gen-900.md", story_text(900))


def edit_all(content: Path) -> None:
    """The site's title changes every page: a whole new site is swapped in."""
    site = content / "site.toml"
    rewrite(site, site.read_text(encoding="utf-8").replace("测试站", "新的站名"))
    (content / "stories" / "gen-000.md").unlink()


def site_tree(out: Path) -> dict[str, bytes]:
    """The output without the marker, whose token names the build that wrote it."""
    files = tree(out)
    assert files, f"{out} is missing or empty"
    files.pop(MARKER, None)
    return files


def fresh(content: Path, out: Path) -> dict[str, bytes]:
    report = build(Options(content=content, out=out, jobs=1, use_cache=False))
    assert report.written and report.problems == [], [str(p) for p in report.problems]
    return site_tree(out)


class Site:
    """Old and new versions of the sources, read through one fixed path; the
    old site built (with its cache) into `out`.

    The two versions share every unchanged file by hard link, and switching
    is renaming folders, so each file keeps its exact stat (mtime, size and
    ctime): with the old version back, the cache's quick check sees exactly
    the inputs of the build that wrote the old site."""

    def __init__(self, tiny: Path, tmp_path: Path, edit, stories: int = STORIES):
        add_stories(tiny, stories)
        self.content, self.out = tiny, tmp_path / "ws" / "out"
        self.parked = {"old": tmp_path / "old-sources", "new": tmp_path / "new-sources"}
        shutil.copytree(tiny, self.parked["new"], copy_function=os.link)
        edit(self.parked["new"])
        self.version = "old"
        self.old = fresh(tiny, tmp_path / "fresh-old")
        self.new = fresh(self.parked["new"], tmp_path / "fresh-new")
        assert self.old != self.new
        report = build(Options(content=tiny, out=self.out, jobs=1))
        assert report.written and report.problems == [], [str(p) for p in report.problems]
        assert site_tree(self.out) == self.old

    def use(self, version: str) -> None:
        if version != self.version:
            self.content.rename(self.parked[self.version])
            self.parked[version].rename(self.content)
            self.version = version

    def expected(self, version: str) -> dict[str, bytes]:
        return self.old if version == "old" else self.new

    def build(self, out: Path | None = None):
        report = build(Options(content=self.content, out=out or self.out, jobs=1))
        assert report.written and report.problems == [], [str(p) for p in report.problems]
        return report


def side_files(out: Path) -> list[str]:
    """What a write leaves beside the output, but for the lock (which stays by design)."""
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.") and p.name != f".{out.name}.lock")


def assert_no_leftovers(out: Path, timeout: float = 10.0) -> None:
    """A replaced site is removed by a background `rm`: wait for it, briefly."""
    deadline = time.monotonic() + timeout
    while side_files(out) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert side_files(out) == []


def snapshot(folder: Path, dest: Path) -> Path:
    """Copy what a killed build left (output, side folders, journal, cache).
    A background `rm` may be removing a replaced site meanwhile: files that
    vanish are skipped, that folder is garbage for `recover` anyway."""
    for dirpath, _, filenames in os.walk(folder):
        target = dest / Path(dirpath).relative_to(folder)
        target.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            try:
                shutil.copy2(Path(dirpath) / name, target / name)
            except FileNotFoundError:
                pass
    return dest


# Drivers --------------------------------------------------------------------

def python(code: str, *args, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


# argv: signal step nth exchange content out [flags]. Sends `signal` to itself at the
# nth call of `_checkpoint(step)`; nth is a number, "mid" or "last" (of the files
# staged, counted when the merge starts). Every step is echoed on stderr.
# Flags: "cli" builds through cli.main and exits with its status; "sigint-ignored"
# starts as `cmd &` in a script does. Otherwise SIGINT is what a terminal's
# foreground process has, whatever the test runner inherited.
FAULT_DRIVER = r"""
import json, os, signal, sys
from pathlib import Path

import generator.output as output

sig, step, nth, exchange, content, out = sys.argv[1:7]
flags = set(sys.argv[7:])
cli = "cli" in flags
signal.signal(signal.SIGINT, signal.SIG_IGN if "sigint-ignored" in flags else signal.default_int_handler)
sig, out = getattr(signal, sig), Path(out)
wanted = int(nth) if nth.isdigit() else None
calls = {}

def checkpoint(name):
    global wanted
    calls[name] = calls.get(name, 0) + 1
    print(name, file=sys.stderr, flush=True)
    if name == "unmarked" and wanted is None:
        (staging,) = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp-")]
        staged = sum(len(files) for _, _, files in os.walk(staging))
        if staged < 3:
            print(f"only {staged} files staged: no middle to stop in", file=sys.stderr, flush=True)
            os._exit(3)
        wanted = {"mid": staged // 2, "last": staged}[nth]
    if name == step and calls[name] == wanted:
        os.kill(os.getpid(), sig)

output._checkpoint = checkpoint
if exchange == "0":
    output._exchange = lambda a, b: False  # as where renameat2 is missing: two renames
if cli:
    from generator.cli import main
    sys.exit(main(["build", "--content", content, "--out", str(out), "--jobs", "1"]))
from generator.build import Options, build
report = build(Options(content=Path(content), out=out, jobs=1))
print(json.dumps({"written": report.written}))
"""


def run_fault(sig: str, step: str, nth: str, exchange: bool, site: Site, *flags: str):
    proc = python(FAULT_DRIVER, sig, step, nth, int(exchange), site.content, site.out, *flags)
    steps = proc.stderr.splitlines()
    return proc, steps


# 1. SIGKILL at every step ------------------------------------------------------

# (write, step, nth, what recover leaves): a merge is rolled forward from its
# journal; a swap is the old site until the exchange (or the second rename).
KILLS = [pytest.param(*k, id="-".join(k[:3]), marks=linux_only if k[0] == "swap" else ()) for k in [
    ("merge", "journal", "1", "new"),
    ("merge", "unmarked", "1", "new"),
    ("merge", "moved", "1", "new"),
    ("merge", "moved", "mid", "new"),
    ("merge", "moved", "last", "new"),
    ("merge", "pruned", "1", "new"),
    ("merge", "marked", "1", "new"),
    ("merge", "committed", "1", "new"),
    ("swap", "staged", "1", "old"),
    ("swap", "exchanged", "1", "new"),
    ("swap", "committed", "1", "new"),
    ("renames", "staged", "1", "old"),
    ("renames", "set-aside", "1", "old"),
    ("renames", "committed", "1", "new"),
]]


@pytest.mark.parametrize("write, step, nth, after", KILLS)
def test_kill_at_every_step_leaves_old_or_new_site(tiny, tmp_path, write, step, nth, after):
    site = Site(tiny, tmp_path, edit_few if write == "merge" else edit_all)
    site.use("new")
    proc, steps = run_fault("SIGKILL", step, nth, write != "renames", site)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)
    # the write took the intended path
    assert ("journal" in steps) == (write == "merge"), steps
    if step == "committed":
        assert ("exchanged" in steps, "set-aside" in steps) == (write == "swap", write == "renames"), steps
    if step == "moved" and nth == "mid":  # the test kills where it means to: a half-moved site
        assert site_tree(site.out) not in (site.old, site.new)
    if write == "merge" and step in ("unmarked", "moved", "pruned"):
        assert read_marker(site.out) is None  # while files move, the output is vouched for by nobody
    if step == "set-aside":
        assert not site.out.exists()

    # What the killed build left, for the next build to find as it is.
    for_old, for_new = snapshot(site.out.parent, tmp_path / "ws-old"), snapshot(site.out.parent, tmp_path / "ws-new")

    # (a) recover: the old site or the new one, whole, and nothing beside it.
    recover(site.out)
    assert site_tree(site.out) == site.expected(after)
    assert_no_leftovers(site.out)

    # (b) the sources stay new: the next build gives a fresh build's bytes.
    report = site.build(for_new / "out")
    assert not report.unchanged
    assert site_tree(for_new / "out") == site.new
    assert_no_leftovers(for_new / "out")
    assert site.build(for_new / "out").unchanged  # and the cache now vouches for it

    # (c) the sources go back to the old ones, stat for stat: the cache's quick
    # check matches them, so only the marker stands between the cache and a site
    # it did not write. "No change" is right only when the old site is there.
    site.use("old")
    report = site.build(for_old / "out")
    assert report.unchanged == (after == "old")
    assert site_tree(for_old / "out") == site.old
    assert_no_leftovers(for_old / "out")
    assert site.build(for_old / "out").unchanged


def test_kill_while_recovering_a_killed_merge(tiny, tmp_path):
    """The next build finishes the moves first; killed in the middle of that
    too, the build after it still finishes them."""
    site = Site(tiny, tmp_path, edit_few)
    site.use("new")
    proc, steps = run_fault("SIGKILL", "moved", "mid", True, site)
    assert proc.returncode == -signal.SIGKILL and "journal" in steps, (proc.returncode, proc.stderr)
    half = site_tree(site.out)
    proc, steps = run_fault("SIGKILL", "moved", "1", True, site)  # the first move is recover's
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)
    assert steps[:2] == ["unmarked", "moved"] and "journal" not in steps, steps
    assert site_tree(site.out) not in (half, site.old, site.new)  # one more file moved, still half
    site.use("old")
    report = site.build()
    assert not report.unchanged and site_tree(site.out) == site.old
    assert_no_leftovers(site.out)


@pytest.mark.parametrize("journal", ["unreadable", "gone"])
def test_kill_and_lost_journal_means_a_full_rebuild(tiny, tmp_path, journal):
    """Without its journal a half-moved site cannot be finished: the marker,
    cleared before the first move, must keep the cache from vouching for it."""
    site = Site(tiny, tmp_path, edit_few)
    site.use("new")
    proc, steps = run_fault("SIGKILL", "moved", "mid", True, site)
    assert proc.returncode == -signal.SIGKILL and "journal" in steps, (proc.returncode, proc.stderr)
    path = site.out.parent / f".{site.out.name}.journal"
    if journal == "gone":
        path.unlink()
    else:
        path.write_text('{"staging": ', encoding="utf-8")
    site.use("old")  # stat for stat: the quick check alone would say "no change"
    report = site.build()
    assert not report.unchanged
    assert site_tree(site.out) == site.old
    assert_no_leftovers(site.out)
    assert site.build().unchanged


# 2. Ctrl-C while files are put in place ----------------------------------------------

INTERRUPTS = [
    ("merge", "moved", "mid", "new"),
    pytest.param("swap", "exchanged", "1", "new", marks=linux_only),
    ("swap", "staged", "1", "old"),  # before anything was put in place: stops at once
]


@pytest.mark.parametrize("write, step, nth, after", INTERRUPTS, ids=["merge-moved", "swap-exchanged", "swap-staged"])
def test_ctrl_c_while_writing_finishes_the_write_or_leaves_the_old_site(tiny, tmp_path, write, step, nth, after):
    site = Site(tiny, tmp_path, edit_few if write == "merge" else edit_all)
    site.use("new")
    proc, steps = run_fault("SIGINT", step, nth, True, site, "cli")
    assert proc.returncode == 130, (proc.returncode, proc.stdout, proc.stderr)
    assert step in steps and ("journal" in steps) == (write == "merge"), steps
    assert "Traceback" not in proc.stderr
    if after == "new":  # the moves are finished before the interrupt takes effect
        assert "committed" not in steps  # ... and then it does take effect
        assert f"已中断；新网站已完整写入 {site.out}/" in proc.stderr and "保持原样" not in proc.stderr
    else:
        assert f"已中断。{site.out}/ 保持原样。" in proc.stderr and "新网站" not in proc.stderr
    assert site_tree(site.out) == site.expected(after)  # no recovery needed: whole as it is
    assert_no_leftovers(site.out)
    report = site.build()
    assert not report.unchanged and site_tree(site.out) == site.new
    assert site.build().unchanged


def test_ctrl_c_after_a_recovery_does_not_claim_a_new_site(tiny, tmp_path):
    site = Site(tiny, tmp_path, edit_all)
    site.use("new")
    proc, _ = run_fault("SIGKILL", "set-aside", "1", False, site)
    assert proc.returncode == -signal.SIGKILL and not site.out.exists()  # old site set aside, new not in yet
    proc, steps = run_fault("SIGINT", "staged", "1", True, site, "cli")  # Ctrl-C before anything is put in place
    assert proc.returncode == 130 and "staged" in steps and "committed" not in steps, proc.stderr
    assert site_tree(site.out) == site.old  # recover put the old site back; this build wrote nothing
    assert f"已中断。{site.out}/ 保持原样。" in proc.stderr and "新网站" not in proc.stderr, proc.stderr


def test_ignored_ctrl_c_stays_ignored_while_writing(tiny, tmp_path):
    site = Site(tiny, tmp_path, edit_few)
    site.use("new")
    proc, steps = run_fault("SIGINT", "moved", "mid", True, site, "cli", "sigint-ignored")
    assert "moved" in steps and site_tree(site.out) == site.new
    assert proc.returncode == 0 and "已中断" not in proc.stderr, (proc.returncode, proc.stderr)
    assert site.build().unchanged  # the build finished: its cache was saved


# 3. Two builds into one output ---------------------------------------------------

def test_two_builds_into_one_output_take_turns(tiny, tmp_path):
    import fcntl

    site = Site(tiny, tmp_path, edit_all, stories=300)
    site.use("new")
    out = site.out
    waiting = f"另一个 gushihui 正在生成 {out}/，等它完成后再继续……"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "generator", "build", "--content", str(site.content), "--out", str(out),
               "--jobs", "1"]
    lock = os.open(out.parent / f".{out.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)  # held here first: both builds must wait, so they overlap for sure
    procs, logs = [], [(tmp_path / f"stdout{i}", tmp_path / f"stderr{i}") for i in range(2)]
    try:
        try:
            for stdout, stderr in logs:
                with open(stdout, "w") as o, open(stderr, "w") as e:
                    procs.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=o, stderr=e))
            deadline = time.monotonic() + 30
            while not all(waiting in e.read_text(encoding="utf-8") for _, e in logs):
                assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
                    [e.read_text(encoding="utf-8") for _, e in logs]
                time.sleep(0.02)
            assert all(p.poll() is None for p in procs)  # still waiting, and nothing written meanwhile
            assert site_tree(out) == site.old and side_files(out) == []
        finally:
            os.close(lock)
        assert [p.wait(timeout=60) for p in procs] == [0, 0], [e.read_text(encoding="utf-8") for _, e in logs]
    finally:
        for p in procs:  # only when something above failed: a build still running
            if p.poll() is None:
                p.kill()
                p.wait()
    # One after the other: the second found the first's site and cache, and did nothing.
    said = sorted(o.read_text(encoding="utf-8").split("：")[0] for o, _ in logs)
    assert said == [f"已生成 {out}/", "没有变化"], said
    assert_no_leftovers(out)
    assert site_tree(out) == site.new
    assert site.build().unchanged


# 4. A worker process that dies ----------------------------------------------------

# argv: function victim content out. Replaces generator.workers.<function> (it runs
# in forked workers) with one that ends its process for the batch holding the victim.
WORKER_DRIVER = r"""
import json, os, sys
from pathlib import Path

import generator.workers as workers
from generator.build import Options, build

name, victim, content, out = sys.argv[1:5]
parent, original = os.getpid(), getattr(workers, name)

def dying(batch):
    if os.getpid() == parent:
        print("the batch ran in the main process, not in a worker", file=sys.stderr, flush=True)
        os._exit(4)
    if any(str(getattr(item, "address", item)).endswith(victim) for item in batch):
        os._exit(1)
    return original(batch)

setattr(workers, name, dying)
workers.MIN_PARALLEL_PAGES = workers.MIN_PARALLEL  # 80 stories make fewer pages than a pool is started for
report = build(Options(content=Path(content), out=Path(out), jobs=2))
print(json.dumps({"written": report.written, "codes": [p.code for p in report.problems]}))
"""


def change_every_story(content: Path) -> None:
    """A sentence more in every story: every story is parsed again (and most pages rendered)."""
    for path in sorted((content / "stories").rglob("*.md")):
        rewrite(path, path.read_text(encoding="utf-8") + "\n补充一句。\n")


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="the patch reaches forked workers")
@pytest.mark.parametrize("function, victim, edit", [
    ("_read_batch", "/gen-033.md", change_every_story),
    ("_render_batch", "stories/gen-033/index.html", edit_all),
], ids=["reading", "rendering"])
def test_dead_worker_fails_the_build_and_leaves_the_output(tiny, tmp_path, function, victim, edit):
    site = Site(tiny, tmp_path, edit, stories=80)  # more than MIN_PARALLEL stories (and pages)
    site.use("new")
    before, cache = tree(site.out), cache_path(site.out).read_bytes()
    proc = python(WORKER_DRIVER, function, victim, site.content, site.out, timeout=60)  # a hang fails here
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["written"] is False and "E603" in report["codes"], report
    assert tree(site.out) == before  # marker and all
    assert cache_path(site.out).read_bytes() == cache  # the cache learnt nothing from it
    assert_no_leftovers(site.out)
    report = site.build()  # without the fault: the new site, whole
    assert not report.unchanged and site_tree(site.out) == site.new
