"""What Windows PowerShell 5.1's `ConvertTo-Json -Depth N` makes of a script's answer.

bootstrap.ps1 serialises every answer with ConvertTo-Json; the simulator answers the
same JSON, so an answer nested deeper than the -Depth the shipped bootstrap passes
arrives as 5.1 would send it.  In 5.1 (JsonObject/ConvertToJsonCommand.ProcessValue)
the top object is at depth 0, each dictionary value or array item one deeper; strings,
numbers, booleans and $null are written at any depth; a dictionary or array deeper
than -Depth is written as its conversion to string (LanguagePrimitives.ConvertTo):
a hashtable becomes "System.Collections.Hashtable", an array its items' strings
joined by a space ($OFS).  5.1 warns about nothing (PowerShell 7.1+ warns).
"""

from __future__ import annotations

import pathlib
import re
import typing as t

BOOTSTRAP = pathlib.Path(__file__).resolve().parents[3] / "plugins" / "plugin_utils" / "scripts" / "bootstrap.ps1"
DEFAULT_DEPTH = 2  # ConvertTo-Json without -Depth
_DEPTH = re.compile(r"ConvertTo-Json\b[^\n]*?-Depth\s+(\d+)", re.I)


def bootstrap_depth(text: str | None = None) -> int:
    """The -Depth the shipped bootstrap passes to ConvertTo-Json (every call must agree)."""
    text = BOOTSTRAP.read_text(encoding="utf-8") if text is None else text
    calls = re.findall(r"ConvertTo-Json\b[^\n]*", text, re.I)
    depths = {int(m) for call in calls for m in _DEPTH.findall(call)}
    if any(not _DEPTH.search(call) for call in calls):
        depths.add(DEFAULT_DEPTH)
    if len(depths) != 1:
        raise ValueError(f"bootstrap.ps1 calls ConvertTo-Json with different depths: {sorted(depths)}")
    return depths.pop()


def _as_string(value: t.Any) -> str:
    """[string]$value, as LanguagePrimitives converts it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict):
        return "System.Collections.Hashtable"
    if isinstance(value, (list, tuple)):
        return " ".join("System.Object[]" if isinstance(v, (list, tuple)) else _as_string(v) for v in value)
    return str(value)


def convert(value: t.Any, depth: int, level: int = 0) -> t.Any:
    """`value` as ConvertTo-Json -Depth `depth` writes it (as the JSON's Python value)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if level > depth:
        return _as_string(value)
    if isinstance(value, dict):
        return {str(k): convert(v, depth, level + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [convert(v, depth, level + 1) for v in value]
    raise TypeError(f"a simulated answer holds a {type(value).__name__}; answers are plain JSON values")
