"""Writing the site: one claim per address, everything staged in a fresh
folder beside the output and swapped in only when the build has succeeded."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import Problem

MARKER = ".gushihui-output"  # marks a folder as ours, so we never replace a user's folder


class Claims:
    """Every output address is claimed once; a second claim is an error naming both."""

    def __init__(self) -> None:
        self.owner: dict[str, str] = {}

    def claim(self, address: str, label: str, file: str | None = None) -> Problem | None:
        """`label` says in words what wants the address; `file` is where it comes from."""
        key = address.lower()  # addresses differing only in case clash on Windows and macOS
        if key not in self.owner:
            self.owner[key] = label
            return None
        if self.owner[key] == label:
            return None
        return Problem("E401", f"{self.owner[key]}和{label}都要生成 /{address}；请修改其中一个的名称或 slug", file)


class UnsafeOutput(Exception):
    """The output folder exists, is not empty and was not written by us."""


def check_output(out: Path, content: Path) -> None:
    out, content = out.resolve(), content.resolve()
    if out == content or out in content.parents or content in out.parents:
        raise UnsafeOutput(f"输出目录 {out} 不能是 content 目录本身，也不能包含它或在它里面")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise UnsafeOutput(f"输出目录 {out} 已存在且不是 Gushihui 生成的；为避免误删，请换一个目录或先清空它")


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


def _marker_text(token: str) -> str:
    return f"This folder is written by gushihui build; do not edit.\n{token}\n"


class Staging:
    """A fresh folder beside `out` that a build writes into.

    `commit` swaps the whole folder in (a first build); `merge` moves its files
    into `out` and removes stale ones (an incremental build). Either happens
    only after every page was rendered; `abort` leaves `out` untouched.
    """

    def __init__(self, out: Path):
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        for pattern in (f".{out.name}.tmp-*", f".{out.name}.old-*"):  # left by a build that was killed
            for stale in out.parent.glob(pattern):
                shutil.rmtree(stale, ignore_errors=True)
        self.root = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        self.root.chmod(0o755)  # mkdtemp makes it private; a web server must read the site

    def copy(self, address: str, source: Path) -> None:
        path = self.root / address
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)

    def commit(self, token: str) -> None:
        (self.root / MARKER).write_text(_marker_text(token), encoding="utf-8")
        old = None
        if self.out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-", dir=self.out.parent))
            self.out.rename(old / "site")
        self.root.rename(self.out)
        if old is not None:
            _remove_later(old)

    def merge(self, token: str, stale: set[str]) -> int:
        """Move every staged file into `out`, remove the stale addresses and
        the folders they leave empty; the number of files removed."""
        for dirpath, _, filenames in os.walk(self.root):
            for name in filenames:
                source = Path(dirpath) / name
                target = self.out / source.relative_to(self.root)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
        removed = 0
        for address in sorted(stale):
            path = self.out / address
            if path.is_file():
                path.unlink()
                removed += 1
            for parent in path.parents:
                if parent == self.out or not parent.is_dir() or any(parent.iterdir()):
                    break
                parent.rmdir()
        (self.out / MARKER).write_text(_marker_text(token), encoding="utf-8")
        shutil.rmtree(self.root, ignore_errors=True)
        return removed

    def abort(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
