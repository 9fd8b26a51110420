"""The command line in Chinese. argparse speaks English ("usage:", "options:",
"unrecognized arguments: ..."): `Parser` writes its help in Chinese, lined up by what a
terminal shows (`display_width`: a Chinese character is two columns wide), and says
argparse's complaints in Chinese (the table _ARGPARSE), with exit status 2.
"""
from __future__ import annotations

import argparse
import re
import sys

from .chinese import display_width
from .errors import did_you_mean


_TOKEN = re.compile(r"[!-~]+|\s+|.")  # a run of ASCII (an option, a path, a number), a space, one character
_NO_LINE_START = set("，。、；：？！）》”’")


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` columns. Chinese breaks between any two characters, but a line
    never starts with ，。）: such a mark takes the character before it to the next line."""
    lines, line = [], []
    for token in _TOKEN.findall(" ".join(text.split())):
        if line and not token.isspace() and display_width("".join(line) + token) > width:
            carry = [line.pop()] if token in _NO_LINE_START and len(line) > 1 else []
            lines.append("".join(line).rstrip())
            line = carry
        if line or not token.isspace():
            line.append(token)
    return lines + ["".join(line).rstrip()] if line else lines


class _Help(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)

    def _format_usage(self, usage, actions, groups, prefix):
        # argparse wraps the usage counting characters: wrap it again by columns, each [ … ] whole
        width, self._width = self._width, 10**6
        try:
            text = super()._format_usage(usage, actions, groups, prefix).strip()
        finally:
            self._width = width
        head = f"{prefix}{self._prog} "
        lines, line = [], head.rstrip()
        for part in re.findall(r"\[[^\]]*\]|\S+", text[len(head):]):
            if line.strip() and line != head.rstrip() and display_width(f"{line} {part}") > width - self._current_indent:
                lines.append(line)
                line = " " * (display_width(head) - 1)
            line += " " + part
        return "\n".join(lines + [line]) + "\n\n"

    def format_help(self):  # argparse ends a section title with ":"
        return re.sub(r"^(\S[^\n]*):$", r"\1：", super().format_help(), flags=re.MULTILINE)

    def add_argument(self, action):
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:  # the help column is past the widest option as shown
            shown = max(display_width(self._format_action_invocation(a)) for a in [action, *self._subcommands(action)])
            self._action_max_length = max(self._action_max_length, shown + self._current_indent)

    def _format_action(self, action):
        if self._subcommands(action):  # the commands themselves, without a line for "命令"
            return "".join(self._format_action(a) for a in self._subcommands(action))
        column = min(self._action_max_length + 2, self._max_help_position)
        name = " " * self._current_indent + self._format_action_invocation(action)
        lines = _wrap(self._expand_help(action), max(self._width - column, 11)) if action.help else []
        if not lines:
            return name + "\n"
        if display_width(name) + 2 <= column:
            first = name + " " * (column - display_width(name)) + lines[0]
        else:
            first = name + "\n" + " " * column + lines[0]
        return "\n".join([first] + [" " * column + line for line in lines[1:]]) + "\n"

    def _fill_text(self, text, width, indent):
        return "\n".join(indent + line for line in _wrap(text, width - len(indent)))

    @staticmethod
    def _subcommands(action) -> list:
        return action._get_subactions() if isinstance(action, argparse._SubParsersAction) else []


def _listed(text: str) -> list[str]:
    """argparse's "'a', 'b'", "--a, --b" or "--a --b" → ["a", "b"] / ["--a", "--b"]."""
    return [part.strip("'\"") for part in re.split(r",? ", text)]


_ARGPARSE = [  # argparse's messages (Python 3.11–3.13) → ours; options and values stay as typed
    (r"the following arguments are required: (?P<names>.+)", "缺少 {names}（必须写）"),
    (r"one of the arguments (?P<names>.+) is required", "{names} 之中必须写一个"),
    (r"ambiguous option: (?P<option>\S+) could match (?P<names>.+)", "{option} 可以指 {names}，请写完整"),
    (r"unexpected option string: (?P<option>.+)", "不认识 {option}"),
    (r"expected one argument", "后面缺少{metavar}"),
    (r"expected (at most |at least )?(one|\d+) arguments?", "后面的值的个数不对"),
    (r"invalid choice: (?P<value>.+?),? (maybe you meant .*)?\(choose from (?P<names>.+)\)",
     "不能是“{value}”，只能是 {names} 之一{hint}"),
    (r"invalid \S+ value: (?P<value>.+)", "“{value}”不是有效的值"),
    (r"not allowed with argument (?P<names>.+)", "不能和 {names} 同时使用"),
    (r"ignored explicit argument (?P<value>.+)", "后面不用写值，请去掉“={value}”"),
]


class Parser(argparse.ArgumentParser):
    """argparse with _Help, our own -h/--help, and its complaints in Chinese (exit code 2)."""

    def __init__(self, **kwargs):
        super().__init__(**{"formatter_class": _Help, "add_help": False, **kwargs})
        self._positionals.title, self._optionals.title = "参数", "选项"
        self.add_argument("-h", "--help", action="help", help="显示帮助并退出")

    def add_subparsers(self, **kwargs):  # the commands, listed first under their own title
        self._positionals.title = kwargs.setdefault("metavar", "命令")
        return super().add_subparsers(**{"parser_class": Parser, "required": True, **kwargs})

    def parse_known_args(self, args=None, namespace=None):
        # What a command does not know is reported by that command (with its usage), not the main one.
        namespace, extra = super().parse_known_args(args, namespace)
        if extra:
            self.error(self._unknown(extra))
        return namespace, extra

    def error(self, message: str):
        """argparse's complaint in Chinese, with the usage; exit code 2."""
        message = self._in_chinese(message)
        if self._commands() and message.endswith(f"缺少 {self._positionals.title}（必须写）"):  # `gushihui` alone
            self.print_help(sys.stderr)  # what the commands are
            print(f"\ngushihui: 请写出要做什么，如 {self.prog} {self._commands()[0]}", file=sys.stderr)
        else:
            self.print_usage(sys.stderr)
            print(f"gushihui: {message}", file=sys.stderr)
            print(f"查看用法：{self.prog} --help", file=sys.stderr)
        raise SystemExit(2)

    def _in_chinese(self, message: str) -> str:
        name, rest = "", message
        if message.startswith("argument "):  # "argument --jobs: ..."
            name, rest = message.removeprefix("argument ").split(": ", 1)
        for pattern, chinese in _ARGPARSE:
            found = re.fullmatch(pattern, rest)
            if found:
                words = found.groupdict()
                names = _listed(words["names"]) if words.get("names") else []
                value = (words.get("value") or "").strip("'\"")
                rest = chinese.format(names="、".join(names), value=value, option=words.get("option"),
                                      metavar=self._metavar(name), hint=did_you_mean(value, names) if names else "")
                break
        if name.startswith("-"):
            return f"命令行参数 {name}：{rest}"
        return f"命令行有误：{name}{rest}"  # a positional: 命令不能是“bulid”……

    def _unknown(self, words: list[str]) -> str:
        if words[0].startswith("-"):
            option = words[0].split("=")[0]
            known = [s for a in self._actions for s in a.option_strings]
            return f"{self.prog} 没有 {option} 这个选项{did_you_mean(option, known)}"
        spaced = [a.metavar for a in self._actions if not a.option_strings and a.nargs is None]
        return f"多写了“{' '.join(words)}”" + (f"；{spaced[0]}里有空格时，要用英文双引号把它括起来" if spaced else "")

    def _metavar(self, option: str) -> str:
        for action in self._actions:
            if option in action.option_strings:
                return "、".join(action.choices) + " 之一" if action.choices else (action.metavar or "值")
        return "值"

    def _commands(self) -> list[str]:
        return [name for a in self._actions if isinstance(a, argparse._SubParsersAction) for name in a.choices]
