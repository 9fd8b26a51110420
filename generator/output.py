"""Writing the site: one claim per address, everything staged in a fresh
folder beside the output and swapped in only when the build has succeeded."""
from __future__ import annotations

import shutil
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


class Staging:
    """A fresh folder beside `out`; `commit` swaps it in, `abort` removes it.

    A build that fails never touches `out`; a build that succeeds replaces it
    with two renames on the same file system.
    """

    def __init__(self, out: Path):
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        for stale in out.parent.glob(f".{out.name}.*-*"):  # left by a build that was killed
            shutil.rmtree(stale, ignore_errors=True)
        self.root = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        self.files = 0

    def _path(self, address: str) -> Path:
        path = self.root / address
        path.parent.mkdir(parents=True, exist_ok=True)
        self.files += 1
        return path

    def write(self, address: str, data: bytes) -> None:
        self._path(address).write_bytes(data)

    def copy(self, address: str, source: Path) -> None:
        shutil.copyfile(source, self._path(address))

    def commit(self) -> None:
        (self.root / MARKER).write_text("This folder is written by gushihui build; do not edit.\n")
        self.root.chmod(0o755)  # mkdtemp makes it private; a web server must read it
        old = None
        if self.out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-", dir=self.out.parent))
            self.out.rename(old / "site")
        self.root.rename(self.out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
