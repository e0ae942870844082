# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quoting for the two shell families our action plugins talk to (internal).

Python builds every command line, so quoting lives here and is tested as a
table; host scripts never see an interpolated value.
"""

from __future__ import annotations

import re
import shlex

_NEEDS_C_QUOTES = re.compile(r'[\s"]')
# PowerShell treats these five characters as single quotes; each must be doubled.
_PWSH_SINGLE_QUOTES = re.compile("(['\u2018\u2019\u201a\u201b])")


def quote_posix(value: str) -> str:
    """Quote one argument for a POSIX shell (sh, bash, zsh)."""
    return shlex.quote(value)


def join_posix(argv: list[str]) -> str:
    """Join argv into one POSIX shell command line."""
    return " ".join(quote_posix(str(arg)) for arg in argv)


def quote_win32(value: str) -> str:
    """Quote one argument for the Win32 command line (CommandLineToArgvW rules)."""
    if not value:
        return '""'
    if not _NEEDS_C_QUOTES.search(value):
        return value
    # Backslashes only escape when they precede a double quote (or the closing quote).
    escaped = re.sub(r'(\\*)"', lambda m: m.group(1) * 2 + '\\"', value)
    escaped = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, escaped)
    return f'"{escaped}"'


def join_win32(argv: list[str]) -> str:
    """Join argv into one Win32 command line, as CreateProcess expects it."""
    return " ".join(quote_win32(str(arg)) for arg in argv)


def quote_pwsh(value: str) -> str:
    """Quote a value as a PowerShell single-quoted (verbatim) string literal."""
    return "'" + _PWSH_SINGLE_QUOTES.sub(r"\1\1", value) + "'"


_WIN32_TOKEN = re.compile(r'(\\*)"|(\\+)|([ \t]+)|([^\\" \t]+)')


def split_win32(command_line: str) -> list[str]:
    """Split a Win32 command line into argv, as CommandLineToArgvW does."""
    args: list[str] = []
    word: list[str] = []
    quoted = started = literal_quote_next = False
    for match in _WIN32_TOKEN.finditer(command_line):
        slashes_before_quote, slashes, blanks, text = match.groups()
        if slashes_before_quote is not None:
            word.append("\\" * (len(slashes_before_quote) // 2))
            started = True
            if len(slashes_before_quote) % 2 or literal_quote_next:
                word.append('"')
                literal_quote_next = False
            elif quoted and command_line[match.end():match.end() + 1] == '"':
                literal_quote_next = True  # "" inside quotes stands for one literal quote
            else:
                quoted = not quoted
        elif blanks is not None and not quoted:
            if started:
                args.append("".join(word))
            word, started = [], False
        else:
            word.append(slashes or blanks or text)
            started = True
    if started:
        args.append("".join(word))
    return args
