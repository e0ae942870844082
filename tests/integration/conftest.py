"""Integration fixtures: a fake GitHub on 127.0.0.1 shared by the playbook tests."""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fixtures"))

from fake_github import fake_github, fake_github_tree  # noqa: E402,F401  # pylint: disable=unused-import
