"""inventory/example: every role variable its group_vars set is one the role documents, in the group that runs it."""

from __future__ import annotations

import pathlib

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventory" / "example"
# group_vars/<group>/<file>.yml -> the role documented by roles/<file>/meta/argument_specs.yml
ROLE_FILES = sorted(p for p in (EXAMPLE / "group_vars").glob("*/*.yml") if p.stem != "connection")


def _role_options(role: str) -> dict:
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"]


def test_every_role_has_an_example():
    assert sorted({p.stem for p in ROLE_FILES}) == sorted(p.name for p in (REPO / "roles").iterdir()
                                                          if (p / "meta" / "argument_specs.yml").is_file())


@pytest.mark.parametrize("path", ROLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_variables_are_documented_role_options(path):
    options = _role_options(path.stem)
    values = yaml.safe_load(path.read_text()) or {}
    unknown = sorted(set(values) - set(options))
    assert not unknown, f"{path.relative_to(REPO)} sets {unknown}, which role {path.stem} does not document"
    for name, value in values.items():
        kind = options[name].get("type", "str")
        expected = {"str": str, "path": str, "bool": bool, "int": int, "list": list, "dict": dict}[kind]
        assert isinstance(value, expected), f"{name}: {value!r} is not a {kind}"
        if "choices" in options[name]:
            assert value in options[name]["choices"]


def test_groups_match_the_playbooks():
    hosts = yaml.safe_load((EXAMPLE / "hosts.yml").read_text())["all"]["children"]
    assert set(hosts) == {"windows_builders", "buildx_clients"}
    assert {p.parent.name for p in ROLE_FILES if p.stem != "buildx_builder"} == {"windows_builders"}
    assert {p.parent.name for p in ROLE_FILES if p.stem == "buildx_builder"} == {"buildx_clients"}
