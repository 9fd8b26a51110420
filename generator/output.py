"""Writing the site: one claim per address, everything staged in a fresh
folder beside the output, and put in place so that a reader (or the next
build) only ever finds the old site or the new one.

- A whole new site is swapped in with one atomic exchange of the two folders
  (renameat2 on Linux); elsewhere with two renames, and a kill between them
  is rolled back by the next build.
- An incremental build moves its changed files into the live folder. First a
  journal naming the staging folder is written; the next build finishes an
  interrupted move from it (roll forward), and the marker that vouches for the
  output is only written once every move is done.
- One build at a time writes an output: `OutputLock` serializes them.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .errors import Problem

MARKER = ".gushihui-output"  # marks a folder as ours, so we never replace a user's folder


def _checkpoint(step: str) -> None:
    """Called between the steps of a write; the fault-injection tests replace
    it to kill the process at each step. Does nothing."""


def claim(wanted: Iterable[tuple[str, str, str | None]]) -> list[Problem]:
    """Every output address is claimed once: each (address, label, file) in turn; a second
    claim is an error naming both. `label` says in words what wants the address, `file`
    is where it comes from. One tight loop: a city's build claims 20,000 addresses."""
    owner: dict[str, str] = {}
    problems = []
    for address, label, file in wanted:
        first = owner.setdefault(address.lower(), label)  # differing only in case: they clash on Windows and macOS
        if first is not label and first != label:
            problems.append(Problem("E401", f"{first}和{label}都要生成 /{address}；请修改其中一个的名称或 slug", file))
    return problems


class UnsafeOutput(Exception):
    """The output folder exists, is not empty and was not written by us."""


def check_output(out: Path, content: Path) -> None:
    out, content = out.resolve(), content.resolve()
    if out == content or out in content.parents or content in out.parents:
        raise UnsafeOutput(f"输出目录 {out} 不能是 content 目录本身，也不能包含它或在它里面")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise UnsafeOutput(f"输出目录 {out} 已存在且不是 Gushihui 生成的；为避免误删，请换一个目录或先清空它")


# Side files beside the output, all named after it: .<name>.tmp-*, .<name>.old-*,
# .<name>.journal, .<name>.lock. Matched literally, never as a glob pattern.

def _side(out: Path, kind: str) -> Path:
    return out.parent / f".{out.name}.{kind}"


def _leftovers(out: Path, kind: str) -> list[Path]:
    prefix = f".{out.name}.{kind}-"
    try:
        return sorted(p for p in out.parent.iterdir() if p.name.startswith(prefix))
    except OSError:
        return []


class OutputLock:
    """Held for a whole build: a second build into the same output waits.
    The lock is the kernel's (flock) on .<name>.lock, so a build that dies
    releases it; the file itself stays (removing it would race)."""

    def __init__(self, out: Path, waiting: Callable[[], None] | None = None):
        self.path, self.waiting, self.fd = _side(out, "lock"), waiting, None

    def __enter__(self) -> "OutputLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_lock(self.fd):
                if self.waiting is not None:
                    self.waiting()
                _lock(self.fd)
        except BaseException:
            os.close(self.fd)
            raise
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.fd)  # closing releases the lock


if os.name == "posix":
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)
else:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _lock(fd: int) -> None:
        while not _try_lock(fd):
            time.sleep(0.2)


def _remove_later(path: Path) -> None:
    """Delete the replaced site without making the user wait: removing ten
    thousand files takes seconds on a slow disk. A folder left behind (the
    machine stopped first) is removed by the next build."""
    if os.name == "posix" and shutil.which("rm"):
        subprocess.Popen(["rm", "-rf", "--", str(path)], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        shutil.rmtree(path, ignore_errors=True)


def read_marker(out: Path) -> str | None:
    """The token of the build that wrote `out` (a hash of its manifest), or None."""
    try:
        return (out / MARKER).read_text(encoding="utf-8").split("\n")[1].strip() or None
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def _write_durably(path: Path, text: str) -> None:
    """Write beside, flush to disk, rename over: the file is the old one or the new one."""
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def mark_collection(folder: Path) -> None:
    """Mark a folder of county sites (build --all-counties) as ours, so that the
    next run may write into it; it vouches for nothing (no token)."""
    _write_marker(folder, "")


def _write_marker(folder: Path, token: str) -> None:
    _write_durably(folder / MARKER, f"This folder is written by gushihui build; do not edit.\n{token}\n")


class InterruptedAfterWrite(KeyboardInterrupt):
    """Ctrl-C came while the new site was put in place; it is complete now."""


@contextmanager
def _uninterrupted() -> Iterator[None]:
    """Ctrl-C while files are being put in place waits until they all are:
    a half-moved site is worse than a second's delay."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # e.g. `gushihui build &`: stays ignored
        yield
        return
    caught: list = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise InterruptedAfterWrite


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux renameat2); False where impossible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) == 0  # AT_FDCWD, RENAME_EXCHANGE
    except (OSError, AttributeError):
        return False


def recover(out: Path) -> None:
    """Finish or undo what a killed build left half done; call with the lock held.

    A journal means files were being moved in: finish moving them (the staged
    files are complete, the journal is written only after them). No output but
    an old one set aside means a kill between the two renames of a swap: put
    the old one back. Then remove every leftover folder."""
    journal = _side(out, "journal")
    if journal.exists():
        try:
            entry = json.loads(journal.read_text(encoding="utf-8"))
            root = out.parent / entry["staging"]
            if root.is_dir() and root.name.startswith(f".{out.name}.tmp-"):
                _move_in(out, root, entry["token"], entry["stale"])
        except (OSError, ValueError, KeyError, TypeError):
            if (out / MARKER).exists():
                _write_marker(out, "")  # vouch for nothing: the next build is a full one
        journal.unlink(missing_ok=True)
    for old in _leftovers(out, "old"):
        if not out.exists() and (old / "site" / MARKER).exists():
            (old / "site").rename(out)
        _remove_later(old)
    for stale in _leftovers(out, "tmp"):  # most often a replaced site that `rm` is still removing
        _remove_later(stale)


def _move_in(out: Path, root: Path, token: str, stale: list[str]) -> int:
    """Move every staged file into `out`, remove the stale addresses and the
    folders they leave empty, then vouch for the result; the number removed.
    Safe to run again after an interruption: moved files are no longer staged."""
    _write_marker(out, "")  # until the last move, the output is vouched for by nobody
    _checkpoint("unmarked")
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            source = Path(dirpath) / name
            target = out / source.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            _checkpoint("moved")
    removed = 0
    for address in sorted(stale):
        path = out / address
        if path.is_file():
            path.unlink()
            removed += 1
        for parent in path.parents:
            if parent == out or not parent.is_dir() or any(parent.iterdir()):
                break
            parent.rmdir()
    _checkpoint("pruned")
    _write_marker(out, token)
    _checkpoint("marked")
    shutil.rmtree(root, ignore_errors=True)
    return removed


class Staging:
    """A fresh folder beside `out` that a build writes into; made with the
    output's lock held and after `recover`.

    `commit` swaps the whole folder in (a first build); `merge` moves its files
    into `out` and removes stale ones (an incremental build). Either happens
    only after every page was rendered; `abort` leaves `out` untouched.
    """

    def __init__(self, out: Path):
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        self.root.chmod(0o755)  # mkdtemp makes it private; a web server must read the site

    def copy(self, address: str, source: Path, link: bool = False) -> None:
        """`link`: a hard link will do (a file never changed in place, like a made picture)."""
        path = self.root / address
        path.parent.mkdir(parents=True, exist_ok=True)
        if link:
            try:
                os.link(source, path)
                return
            except OSError:
                pass  # another file system, or links not allowed: copy
        shutil.copyfile(source, path)

    def commit(self, token: str) -> None:
        _write_marker(self.root, token)
        _checkpoint("staged")
        with _uninterrupted():
            if not self.out.exists():
                self.root.rename(self.out)
            elif _exchange(self.root, self.out):
                _checkpoint("exchanged")
                _remove_later(self.root)  # it holds the old site now
            else:
                old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-", dir=self.out.parent))
                self.out.rename(old / "site")
                _checkpoint("set-aside")
                self.root.rename(self.out)
                _remove_later(old)
        _checkpoint("committed")

    def merge(self, token: str, stale: set[str]) -> int:
        """Move the staged files into `out` (see `_move_in`), journalled."""
        journal = _side(self.out, "journal")
        with _uninterrupted():
            _write_durably(journal, json.dumps({"staging": self.root.name, "token": token, "stale": sorted(stale)}))
            _checkpoint("journal")
            removed = _move_in(self.out, self.root, token, sorted(stale))
            journal.unlink()
        _checkpoint("committed")
        return removed

    def abort(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
