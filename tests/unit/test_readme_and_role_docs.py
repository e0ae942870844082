"""README's role variable table and each role's ansible-doc examples agree with the roles' argument_specs."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/meta/argument_specs.yml"))
_ROW = re.compile(r"^\| (?P<role>[a-z_]+) \| `(?P<variable>[a-z_]+)` \| (?P<default>[^|]+?) \| (?P<what>[^|]+) \|$")


def _entry(role: str) -> dict:
    return yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]


def _rendered(value) -> str:
    """A default as the README's table writes it."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return f"`[{', '.join(str(v) for v in value)}]`"
    if value == {}:
        return "`{}`"
    if value == "":
        return '`""`'
    return f"`{value}`"


def _table() -> list[re.Match]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Role variables you are likely to set", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| role ")
             and not line.startswith("| ---")]
    rows = [_ROW.match(line) for line in lines]
    assert all(rows), [line for line, row in zip(lines, rows) if not row]
    return rows


def test_every_listed_variable_is_a_role_option_with_that_default():
    rows = _table()
    assert len(rows) >= 30
    for row in rows:
        options = _entry(row["role"])["options"]
        assert row["variable"] in options, f"README lists {row['variable']}, which role {row['role']} does not document"
        assert row["default"] == _rendered(options[row["variable"]].get("default")), (
            f"README says {row['variable']} defaults to {row['default']}, argument_specs says "
            f"{options[row['variable']].get('default')!r}")


def test_every_role_has_rows_in_the_table():
    assert sorted({row["role"] for row in _table()}) == ROLES


@pytest.mark.parametrize("role", ROLES)
def test_each_role_documents_examples_that_use_only_its_documented_variables(role):
    """ansible-doc -t role renders an entry point's `examples` (argument_specs has no EXAMPLES section of its own)."""
    examples = _entry(role).get("examples")
    assert isinstance(examples, str) and examples.strip(), f"roles/{role} has no examples"
    plays = yaml.safe_load(examples)
    used = [entry for play in plays for entry in play.get("roles", [])
            if isinstance(entry, dict) and entry.get("role") == f"wcow.buildkit.{role}"]
    assert used, f"the examples of {role} never use wcow.buildkit.{role}"
    options = _entry(role)["options"]
    for entry in used:
        unknown = sorted(set(entry.get("vars") or {}) - set(options))
        assert not unknown, f"{role} examples set {unknown}, not documented options"
