"""Problems found in a site's sources, as values.

Every problem carries a stable code, a message in simplified Chinese, and the
file and line it points at, so that a user can fix all of them in one pass.
This module imports nothing of ours.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable

# The catalogue of stable codes. E = error, W = warning. Never renumber:
# users search for these codes. docs/errors.md explains each one.
CODES: dict[str, str] = {
    "E001": "文件无法解码",
    "W002": "文件按 GBK/GB18030 编码读取",
    "E003": "文件无法读取",
    "W004": "文件中的控制字符已删除",
    "E101": "缺少 site.toml",
    "E102": "site.toml 语法错误",
    "E103": "设置值无效",
    "W104": "未知的设置项",
    "W105": "site.toml 里的县不在组织名册中",
    "E201": "org.csv 缺少列",
    "E202": "org.csv 必填单元格为空",
    "E203": "org.csv 支部重复",
    "W204": "org.csv 未知的列",
    "E205": "org.csv 格式错误",
    "E301": "文件头（front matter）格式错误",
    "E302": "缺少必填字段",
    "E303": "日期无效",
    "E304": "字段值无效",
    "E305": "县（市、区）不在组织名册中",
    "E306": "乡镇（街道）不在组织名册中",
    "E307": "党支部不在组织名册中",
    "E308": "故事编号（id）重复",
    "E309": "未知的“八个好”类别",
    "E310": "封面图缺少替代文字（cover_alt）",
    "E311": "路径超出 content 目录",
    "E312": "引用的文件不存在",
    "E313": "不允许引用外部网站的图片",
    "E314": "网址名（slug）无效",
    "W315": "未知的字段",
    "W316": "正文为空",
    "E317": "符号链接指向 content 目录之外",
    "E318": "这种文件不能发布",
    "W319": "media/ 里的文件类型不能发布，已跳过",
    "E320": "SVG 图片含有脚本或外部引用",
    "E321": "故事太复杂：嵌套太深或处理超时",
    "E322": "汇编前言对应的乡镇不在组织名册中",
    "E323": "县（市、区）介绍对应的县不在组织名册中",
    "E324": "正文还是占位文字",
    "W325": "文件位置不对，没有读取",
    "E326": "导入的故事还有待填写的内容",
    "E330": "评分表缺少列",
    "E331": "评分表里的故事不存在",
    "E332": "评分表里的评委不存在",
    "E333": "分数不是数字或超出范围",
    "E334": "同一评委对同一故事评了两次",
    "E335": "给草稿评了分",
    "E336": "评委编号重复或为空",
    "E340": "不是能识别的图片",
    "E341": "图片文件已损坏或不完整",
    "E342": "图片像素过多",
    "E343": "HEIC 图片需要 pillow-heif",
    "W344": "media/ 里没有页面用到的图片无法处理，已跳过",
    "E401": "两个来源生成同一个网址",
    "E501": "找不到主题",
    "E502": "模板错误",
    "E503": "无法生成 PDF：缺少 WeasyPrint",
    "E504": "PDF 字体缺字",
    "E505": "无法生成站内搜索索引",
    "W506": "缺少搜索组件，没有生成站内搜索索引",
    "W601": "构建缓存无效，已丢弃",
    "W602": "构建缓存无法保存",
    "E603": "工作进程意外退出",
}


MAX_MESSAGE = 400  # a message quotes excerpts of values, never a whole value


def excerpt(value: object, limit: int = 40) -> str:
    """At most `limit` characters of a value a user wrote, for a message."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the sources."""

    code: str  #: a key of CODES; its first letter says error or warning
    message: str  #: what is wrong and how to fix it, in simplified Chinese
    file: str | None = None  #: the file, as the user named it (e.g. content/stories/a.md)
    line: int | None = None  #: 1-based line in that file, where there is one

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown problem code {self.code}")
        if len(self.message) > MAX_MESSAGE:  # the last guard; messages quote excerpts already
            object.__setattr__(self, "message", excerpt(self.message, MAX_MESSAGE))

    @property
    def is_warning(self) -> bool:
        return self.code.startswith("W")

    def where(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        kind = "警告" if self.is_warning else "错误"
        where = self.where()
        prefix = f"{where}: " if where else ""
        return f"{prefix}{kind} {self.code}: {self.message}"

    def sort_key(self) -> tuple:
        return (self.file or "", self.line or 0, self.code, self.message)


class UsageError(Exception):
    """The command line asks for something that does not exist (exit status 2); the message is Chinese."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option  #: the option that named it, e.g. "--county"

    def __str__(self) -> str:
        return f"命令行参数 {self.option}：{self.args[0]}" if self.option else f"命令行有误：{self.args[0]}"


class ContentError(Exception):
    """Raised when a stage cannot go on; carries every problem found so far."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=Problem.sort_key)
        super().__init__("\n".join(map(str, self.problems)))


def errors_in(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if not p.is_warning]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """'，是不是“X”？' for the closest candidate, or '' when nothing is close."""
    if len(word) > 100:  # nothing is that close, and difflib is quadratic
        return ""
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.5)
    return f"，是不是“{match[0]}”？" if match else ""
