# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check that PowerShell scripts parse, with a real PowerShell grammar.

No PowerShell runs here, so a typo in a shipped host script would only show on
a real Windows host.  tree-sitter-powershell parses each file; any ERROR node or
missing token is a failure, printed as `file:line:column: message`.

Usage: python tests/tools/ps_grammar.py [FILE_OR_DIR ...]
With no arguments, every `plugins/**/*.ps1` of the repository is checked.

The grammar (tree-sitter-powershell 0.26) rejects a few constructs PowerShell
accepts; write them another way in shipped scripts:
- bare-word lists as command arguments (`Stop-Service -Name a, b`): quote them, `'a', 'b'`;
- one-line switch clauses (`switch ($x) { 1 { 'a' } 2 { 'b' } }`): one clause per line;
- upper-case numeric multipliers (`1KB`, `4GB`): plain numbers or `1kb`;
- generic types with an arity (`List`1[string]`), nested types (`[A+B]`), delegate
  types (`[Func[[Object], [int]]]`) and loop labels (`:outer`, `break outer`);
- a script that is only a `param()` block.

After the grammar, the same run applies the raw-answer rule (`ps_answers.py`: answers
hold plain values, never raw cmdlet or provider output; its docstring states the rule).
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import typing as t

import tree_sitter
import tree_sitter_powershell

REPO = pathlib.Path(__file__).resolve().parents[2]
SHIPPED_GLOB = "plugins/**/*.ps1"
_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


@dataclasses.dataclass(frozen=True)
class SyntaxProblem:
    path: pathlib.Path
    line: int  # 1-based, as editors count
    column: int  # 1-based
    message: str

    def __str__(self) -> str:
        try:
            shown = self.path.resolve().relative_to(pathlib.Path.cwd())
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}:{self.column}: {self.message}"


def _source_line(source: bytes, row: int) -> str:
    lines = source.splitlines()
    return lines[row].decode("utf-8", "replace").strip() if row < len(lines) else ""


def _problems(node: tree_sitter.Node, source: bytes, path: pathlib.Path) -> t.Iterator[SyntaxProblem]:
    if node.is_missing:
        row, col = node.start_point
        yield SyntaxProblem(path, row + 1, col + 1, f"missing '{node.type}' (line reads: {_source_line(source, row)})")
        return
    if node.is_error:
        row, col = node.start_point
        # The ERROR node starts where the statement the parser gave up on begins.
        yield SyntaxProblem(path, row + 1, col + 1, f"syntax error in statement starting here: {_source_line(source, row)}")
        return
    if node.has_error:
        found = False
        for child in node.children:
            for problem in _problems(child, source, path):
                found = True
                yield problem
        if not found:
            # A missing token of a hidden rule (e.g. a statement terminator) is not among the children.
            row, col = node.end_point
            yield SyntaxProblem(path, row + 1, col + 1,
                                f"missing token at the end of this {node.type} (line reads: {_source_line(source, row)})")


def check_source(source: bytes, path: pathlib.Path) -> list[SyntaxProblem]:
    """Syntax problems of one script's bytes (UTF-8, with or without BOM)."""
    if source.startswith(b"\xef\xbb\xbf"):
        # Windows PowerShell 5.1 needs a BOM for non-ASCII scripts; the grammar does not expect one.
        source = source[3:]
    tree = _PARSER.parse(source)
    if not tree.root_node.has_error:
        return []
    return list(_problems(tree.root_node, source, path))


def check_file(path: pathlib.Path) -> list[SyntaxProblem]:
    return check_source(path.read_bytes(), path)


def collect(targets: list[str], root: pathlib.Path = REPO) -> list[pathlib.Path]:
    """The .ps1 files named, or found under the folders named, or shipped by default."""
    if not targets:
        return sorted(root.glob(SHIPPED_GLOB))
    found: list[pathlib.Path] = []
    for target in map(pathlib.Path, targets):
        if target.is_dir():
            found.extend(sorted(target.rglob("*.ps1")))
        elif target.is_file():
            found.append(target)
        else:
            raise FileNotFoundError(f"{target}: no such file or folder")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help=f"files or folders (default: {SHIPPED_GLOB})")
    args = parser.parse_args(argv)
    try:
        files = collect(args.targets)
    except FileNotFoundError as exc:
        print(f"ps_grammar: {exc}", file=sys.stderr)
        return 2
    if not files:
        # A wrong glob must not turn into a green check of nothing.
        print(f"ps_grammar: no .ps1 files found ({' '.join(args.targets) or SHIPPED_GLOB})", file=sys.stderr)
        return 2
    problems = [problem for path in files for problem in check_file(path)]
    for problem in problems:
        print(problem)
    print(f"ps_grammar: {len(files)} file(s) checked, {len(problems)} syntax error(s)", file=sys.stderr)
    if problems:
        return 1
    # Only scripts that parse can be judged by the raw-answer rule.
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import ps_answers  # pylint: disable=import-outside-toplevel

    return ps_answers.main([str(path) for path in files])


if __name__ == "__main__":
    sys.exit(main())
