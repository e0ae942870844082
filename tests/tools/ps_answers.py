# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check that host scripts answer plain values, never raw cmdlet or provider output.

Why: `bootstrap.ps1` turns each script's answer (a hashtable) into JSON with
`ConvertTo-Json`.  In Windows PowerShell 5.1 a line from `Get-Content` is a string
decorated with PSPath, PSParentPath, PSChildName, PSDrive, PSProvider and ReadCount
note properties, and ConvertTo-Json writes each as `{"value": "...", "PSPath": ...,
"PSDrive": {...}, ...}` (PSDrive and PSProvider expand to deep object graphs; at a
large -Depth it can take minutes, PowerShell issue 6388).  Objects from
Get-ChildItem, Get-Item, Get-Process, Get-Service, Get-Date, ... are worse.  The
controller expects strings and numbers.

THE RULE (static, over the tree-sitter AST of every shipped script): a value in a
hashtable literal `@{ key = value }` (our answers are hashtable literals), and a
value assigned to a member or element (`$answer.key = value`), must not be RAW.
An expression is RAW when it can carry the output of a cmdlet in RAW_CMDLETS, or
of a native command whose stderr is merged in (`2>&1` yields ErrorRecords):
- directly: `@{ tail = @(Get-Content $f -Tail 20) }`, `@{ x = (Get-Item $p) }`;
- through a variable assigned such output anywhere in the script
  (`$tail = @(Get-Content ...)` then `@{ log_tail = $tail }`), or a `foreach`
  variable over it;
- through pipelines that pass objects on unchanged: Where-Object, Sort-Object,
  Select-Object (without -ExpandProperty), Write-Output, Tee-Object, Get-Unique,
  and filters like `$lines -ne ''`, `+` of arrays, `if`/`@()`/`$()` around them.
These make a value plain (write answers this way):
- a cast to a plain type: `[string]$x`, `[string[]]@(Get-Content ...)`, `[int]`, `[bool]`...;
- `-join`, `-split`, `-replace`; an expandable string `"$x"`; `| Out-String`;
- a member or method: `(Get-Item $p).FullName`, `$svc.Name`, `$s.ToLowerInvariant()`; except
  members in OBJECT_MEMBERS, which hold enums (`$svc.Status`: 5.1 writes 4, not "Running"),
  DateTimes or objects: cast them (`[string]$svc.Status`) or take their plain members;
- `ForEach-Object { ... }` whose last statement is plain (`ForEach-Object { [string]$_ }`).
Unknown commands count as plain; add a cmdlet to RAW_CMDLETS when you meet a new one.

Usage: python tests/tools/ps_answers.py [FILE_OR_DIR ...]   (default: every shipped script)
`make ps-grammar` runs it after the grammar check (tests/tools/ps_grammar.py).
"""

from __future__ import annotations

import pathlib
import sys
import typing as t

import tree_sitter
import tree_sitter_powershell

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from ps_grammar import REPO, SHIPPED_GLOB, SyntaxProblem  # noqa: E402  # pylint: disable=wrong-import-position

_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))

# Cmdlets whose output objects ConvertTo-Json does not write as plain values (lower case).
RAW_CMDLETS = frozenset(name.lower() for name in (
    "Get-Content", "Get-ChildItem", "Get-Item", "Get-ItemProperty", "Get-Process", "Get-Service",
    "Get-CimInstance", "Get-WmiObject", "Get-Acl", "Get-Command", "Get-Module", "Get-PSDrive",
    "Get-Location", "Resolve-Path", "Select-String", "Get-Date", "Get-FileHash", "Get-MpPreference",
    "Get-WindowsFeature", "Get-WindowsOptionalFeature", "New-Item", "Start-Process", "Copy-Item",
    "Move-Item", "Rename-Item", "Get-Item", "Get-Event", "Get-WinEvent", "Get-EventLog", "Import-Csv",
    "Get-NetAdapter", "Get-NetIPAddress", "Get-Volume", "Get-Disk", "Get-LocalGroup", "Get-LocalUser",
    "Invoke-WebRequest",
))
# Members of cmdlet objects whose values are not plain either: 5.1's ConvertTo-Json writes an
# enum as its number, a DateTime as "\/Date(ms)\/", and objects as objects.
OBJECT_MEMBERS = {
    **{name: "an enum: 5.1 writes its number" for name in (
        "status", "starttype", "servicetype", "attributes", "priorityclass", "mode")},
    **{name: "a DateTime: 5.1 writes \\/Date(ms)\\/" for name in (
        "lastwritetime", "creationtime", "lastaccesstime", "starttime", "exittime", "lastwritetimeutc")},
    **{name: "objects" for name in (
        "dependentservices", "servicesdependedon", "requiredservices", "directory", "parent", "psdrive",
        "psprovider", "modules", "mainmodule", "threads", "startinfo")},
}
PASS_THROUGH = frozenset(("where-object", "sort-object", "select-object", "write-output", "tee-object",
                          "get-unique", "where", "sort", "select", "?"))
PLAIN_TYPES = frozenset(("string", "string[]", "int", "int[]", "int32", "int64", "long", "long[]", "bool",
                         "boolean", "double", "bool[]", "char", "uint32", "uint64", "decimal"))
_CLEAN_OPERATORS = frozenset(("-join", "-split", "-csplit", "-isplit", "-replace", "-creplace", "-ireplace"))
_WRAPPERS = frozenset((
    "logical_expression", "bitwise_expression", "comparison_expression", "additive_expression",
    "multiplicative_expression", "format_expression", "range_expression", "array_literal_expression",
    "unary_expression", "pipeline_chain", "parenthesized_expression", "array_expression",
    "sub_expression", "statement_list", "statement_block", "else_clause", "elseif_clause",
    "script_block", "script_block_body", "left_assignment_expression", "expression_with_unary_operator",
))


# A finding prints like a grammar error: `file:line:column: message`.
AnswerProblem = SyntaxProblem


def _text(node: tree_sitter.Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


def _var_name(node: tree_sitter.Node) -> str:
    name = _text(node).lstrip("$@").strip("{}").lower()
    return name.split(":", 1)[1] if ":" in name else name


class _Script:
    def __init__(self, source: bytes):
        self.tree = _PARSER.parse(source)
        self.tainted: dict[str, str] = {}  # variable -> why
        self.item: list[bool] = []  # is `$_` raw, innermost ForEach-Object last

    # -- is an expression raw? ------------------------------------------------------
    def raw(self, node: tree_sitter.Node) -> str | None:
        """Why `node` can carry raw cmdlet output, or None when its value is plain."""
        kind = node.type
        children = node.named_children
        if kind == "variable":
            name = _var_name(node)
            if name in ("null", "true", "false"):
                return None
            if name in ("_", "psitem"):
                return "the pipeline item `$_` of raw output" if self.item and self.item[-1] else None
            return self.tainted.get(name)
        if kind == "member_access" and children:
            member = _text(children[-1]).lower()
            if member in OBJECT_MEMBERS and self.raw(children[0]):
                return (f"`{_text(node)}` ({OBJECT_MEMBERS[member]}, of {self.raw(children[0])})")
            return None
        if kind in ("string_literal", "integer_literal", "real_literal", "hash_literal_expression",
                    "script_block_expression", "type_literal", "invokation_expression",
                    "element_access", "comment"):
            return None
        if kind == "cast_expression":
            type_name = _text(children[0]).strip("[]").replace(" ", "").lower() + (
                "[]" if _text(children[0]).replace(" ", "").endswith("[]]") else "")
            if type_name.removeprefix("system.") in PLAIN_TYPES:
                return None
            return self.raw(children[-1])
        if kind == "comparison_expression" and len(children) == 3:
            operator = _text(children[1]).lower()
            if operator in _CLEAN_OPERATORS or _unwrap(children[0]).type == "member_access":
                return None  # a string, or a comparison of one value: a bool
            return self.raw(children[0])  # on an array, -eq/-ne/-like/-match filter its items
        if kind == "logical_expression" and len(children) > 1:
            return None  # -and/-or/-xor: a bool
        if kind == "pipeline_chain" and any(c.type == "command" for c in children):
            return self.pipeline(children)
        if kind == "command":
            return self.pipeline([node])
        if kind == "assignment_expression":
            return None  # an assignment outputs nothing
        if kind == "if_statement":
            return self.any_raw(children[1:])  # not the condition
        if kind == "foreach_statement":
            return self.any_raw(children[2:])
        if kind in ("while_statement", "do_statement", "for_statement", "try_statement", "catch_clauses",
                    "catch_clause", "finally_clause", "switch_statement", "switch_body", "switch_clauses",
                    "switch_clause", "flow_control_statement", "pipeline", "program") or kind in _WRAPPERS:
            return self.any_raw(children)
        return self.any_raw(children)

    def any_raw(self, nodes: t.Iterable[tree_sitter.Node]) -> str | None:
        for child in nodes:
            why = self.raw(child)
            if why:
                return why
        return None

    def pipeline(self, elements: list[tree_sitter.Node]) -> str | None:
        why: str | None = None
        for element in elements:
            if element.type != "command":
                why = self.raw(element)
                continue
            why = self.command(element, why)
        return why

    def command(self, node: tree_sitter.Node, upstream: str | None) -> str | None:
        name_node = next((c for c in node.named_children if c.type in ("command_name", "command_name_expr")), None)
        name = _text(name_node).lower() if name_node is not None else ""
        elements = next((c for c in node.named_children if c.type == "command_elements"), None)
        args = list(elements.named_children) if elements is not None else []
        if name_node is not None and name_node.type == "command_name_expr" or name.endswith(".exe"):
            if any(c.type == "redirection" and "2>&1" in _text(c) for c in args):
                return f"`{_text(node)}` (a native command's stderr merged with 2>&1 gives ErrorRecord objects)"
            return None
        if name in RAW_CMDLETS:
            return f"the output of {_text(name_node)} (line {node.start_point[0] + 1})"
        if name in PASS_THROUGH:
            if name in ("select-object", "select") and any(_text(a).lower().startswith("-expandproperty") for a in args):
                return None
            return upstream
        if name in ("foreach-object", "foreach", "%"):
            blocks = [c for a in args for c in _descendants(a, "script_block")]
            if not blocks:
                return None  # ForEach-Object -MemberName: a member value
            self.item.append(bool(upstream))
            try:
                statements = _statements(blocks[-1])
                return self.raw(statements[-1]) if statements else None
            finally:
                self.item.pop()
        return None

    # -- taint, then report ---------------------------------------------------------
    def collect_taint(self) -> None:
        for _round in range(5):  # to a fixed point: $b = $a after $a = Get-Item ...
            before = dict(self.tainted)
            for node in _descendants(self.tree.root_node, "assignment_expression"):
                target = _assigned_variable(node)
                if target in (None, "null") or target in self.tainted:
                    continue
                why = self.raw(node.named_children[-1])
                if why:
                    self.tainted[target] = f"${target}, assigned {why}"
            for node in _descendants(self.tree.root_node, "foreach_statement"):
                variable, collection = node.named_children[0], node.named_children[1]
                name = _var_name(variable)
                if name not in self.tainted:
                    why = self.raw(collection)
                    if why:
                        self.tainted[name] = f"${name}, a foreach item of {why}"
            if before == self.tainted:
                return

    def problems(self, path: pathlib.Path) -> list[AnswerProblem]:
        self.collect_taint()
        found = []
        for entry in _descendants(self.tree.root_node, "hash_entry"):
            key = _text(entry.named_children[0])
            with_items = self._item_context(entry)
            self.item.append(with_items)
            try:
                why = self.raw(entry.named_children[-1])
            finally:
                self.item.pop()
            if why:
                row, col = entry.start_point
                found.append(AnswerProblem(path, row + 1, col + 1, f"answer key '{key}' holds {why}; return plain "
                                           "values (see tests/tools/ps_answers.py: cast with [string]/[string[]], "
                                           "or select a member)"))
        for node in _descendants(self.tree.root_node, "assignment_expression"):
            left = node.named_children[0]
            if _descendants(left, "member_access") or _descendants(left, "element_access"):
                why = self.raw(node.named_children[-1])
                if why:
                    row, col = node.start_point
                    found.append(AnswerProblem(path, row + 1, col + 1, f"`{_text(left)}` is assigned {why}; "
                                               "assign plain values (see tests/tools/ps_answers.py)"))
        return found

    def _item_context(self, node: tree_sitter.Node) -> bool:
        """Inside `... | ForEach-Object { @{ x = $_ } }`, is `$_` raw?"""
        parent = node.parent
        while parent is not None:
            if parent.type == "command" and _text(parent).lower().startswith(("foreach-object", "%", "foreach")):
                chain = parent.parent
                if chain is not None and chain.type == "pipeline_chain":
                    upstream = [c for c in chain.named_children if c.end_byte <= parent.start_byte]
                    return bool(self.pipeline(upstream)) if upstream else False
            parent = parent.parent
        return False


def _unwrap(node: tree_sitter.Node) -> tree_sitter.Node:
    while node.type in _WRAPPERS and node.named_child_count == 1:
        node = node.named_children[0]
    return node


def _descendants(node: tree_sitter.Node, kind: str) -> list[tree_sitter.Node]:
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == kind:
            found.append(current)
        stack.extend(reversed(current.named_children))
    return found


def _statements(block: tree_sitter.Node) -> list[tree_sitter.Node]:
    lists = _descendants(block, "statement_list")
    return list(lists[0].named_children) if lists else []


def _assigned_variable(node: tree_sitter.Node) -> str | None:
    left = node.named_children[0]
    if _descendants(left, "member_access") or _descendants(left, "element_access"):
        return None
    variables = _descendants(left, "variable")
    return _var_name(variables[0]) if variables else None


def check_source(source: bytes, path: pathlib.Path) -> list[AnswerProblem]:
    if source.startswith(b"\xef\xbb\xbf"):
        source = source[3:]
    return _Script(source).problems(path)


def check_file(path: pathlib.Path) -> list[AnswerProblem]:
    return check_source(path.read_bytes(), path)


def main(argv: list[str] | None = None) -> int:
    targets = list(sys.argv[1:] if argv is None else argv)
    files = [p for target in map(pathlib.Path, targets)
             for p in (sorted(target.rglob("*.ps1")) if target.is_dir() else [target])]
    if not targets:
        files = sorted(REPO.glob(SHIPPED_GLOB))
    if not files:
        print("ps_answers: no .ps1 files found", file=sys.stderr)
        return 2
    problems = [problem for path in files for problem in check_file(path)]
    for problem in problems:
        print(problem)
    print(f"ps_answers: {len(files)} file(s) checked, {len(problems)} raw answer value(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
