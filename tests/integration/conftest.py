"""Integration fixtures: a fake GitHub on 127.0.0.1, and one win_containerd run against a simulated host."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fixtures"))

from fake_github import fake_github, fake_github_tree  # noqa: E402,F401  # pylint: disable=unused-import


@pytest.fixture
def converge(simulator, fake_github, tmp_path):  # pylint: disable=redefined-outer-name
    """Run win_containerd once with the given arguments; answer the run and the host's result."""
    cache = tmp_path / "cache"

    def run(hostvars=None, check=False, cli=(), **args):
        options = {**fake_github.options(cache_dir=str(cache)), **args}
        play = [{"hosts": "windows_builders", "gather_facts": False,
                 "tasks": [{"name": "containerd", "wcow.buildkit.win_containerd": options}]}]
        outcome = simulator.run(simulator.playbook(json.dumps(play)), {"sim-host": hostvars or {}}, *cli, check=check)
        return outcome, outcome.result()
    return run
