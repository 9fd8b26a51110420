"""Text files as Chinese offices write them: UTF-8 (with or without BOM) or GBK.

Excel and WPS on Chinese Windows save CSV in GB18030/GBK; Notepad adds a BOM.
Both must simply work, the GBK case with a warning so that users learn to
prefer UTF-8.
"""
from __future__ import annotations

import re
from pathlib import Path

from .errors import Problem

# C0 controls but \t and \n (\r is normalised away first), DEL, C1 controls, and the
# noncharacters XML forbids: they come from Word (\x0b is its manual line break) or
# from bad copy-paste, and would make the feed invalid XML or break a page.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")


def decode(data: bytes, name: str) -> tuple[str | None, list[Problem]]:
    """Bytes → text with normalised line ends, plus any problem met."""
    try:
        text = data.decode("utf-8-sig")
        problems: list[Problem] = []
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            line = data[: exc.start].count(b"\n") + 1
            return None, [Problem("E001", "文件既不是 UTF-8 也不是 GBK/GB18030 编码，请另存为 UTF-8", name, line)]
        problems = [Problem("W002", "文件不是 UTF-8 编码，已按 GBK/GB18030 读取；建议另存为“UTF-8”", name)]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = _CONTROL.search(text)  # the only cost for a clean file
    if first is not None:
        line = text.count("\n", 0, first.start()) + 1
        text, count = _CONTROL.subn(lambda m: "\n" if m.group() in "\x0b\x0c" else "", text)
        problems.append(Problem("W004", f"文件中有 {count} 个控制字符（如 Word 的手动换行符），已删除或换成换行",
                                name, line))
    return text, problems


def read_text(path: Path) -> tuple[str | None, list[Problem]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem("E003", f"无法读取文件：{exc.strerror or exc}", str(path))]
    return decode(data, str(path))
