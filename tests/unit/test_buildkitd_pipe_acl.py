"""_buildkitd.pipe_acl_problems: allowed_groups must end up with read/write on buildkitd's pipe."""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / ".collections"))
from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildkitd  # noqa: E402

SYSTEM = {"sid": "S-1-5-18", "identity": "NT AUTHORITY\\SYSTEM", "type": "Allow", "rights": "FullControl"}
ADMINS = {"sid": "S-1-5-32-544", "identity": "BUILTIN\\Administrators", "type": "Allow", "rights": "FullControl"}
USERS = {"sid": "S-1-5-21-1-2-3-1001", "identity": "WIN-1\\docker-users", "type": "Allow",
         "rights": "Write, Read, Synchronize"}


def test_group_with_read_write_passes():
    answer = {"name": "buildkitd", "exists": True, "access": [SYSTEM, ADMINS, USERS]}
    assert _buildkitd.pipe_acl_problems(["docker-users"], answer) == []


def test_group_missing_from_the_dacl_is_named_with_what_was_found():
    # What a release that ignores --group leaves: authenticated users, not the group.
    auth = {"sid": "S-1-5-11", "identity": "NT AUTHORITY\\Authenticated Users", "type": "Allow",
            "rights": "Write, Read, Synchronize"}
    problems = _buildkitd.pipe_acl_problems(["docker-users"], {"name": "buildkitd", "exists": True,
                                                               "access": [SYSTEM, ADMINS, auth]})
    assert len(problems) == 1 and problems[0].startswith("allowed_groups:") and "docker-users" in problems[0]
    assert "Authenticated Users" in problems[0]


def test_read_only_or_denied_is_not_enough():
    read_only = {**USERS, "rights": "Read, Synchronize"}
    denied = {**USERS, "type": "Deny", "rights": "Write, Read, Synchronize"}
    for rule in (read_only, denied):
        assert _buildkitd.pipe_acl_problems(["docker-users"], {"name": "buildkitd", "exists": True,
                                                               "access": [SYSTEM, ADMINS, rule]})


def test_missing_pipe_is_a_problem():
    assert _buildkitd.pipe_acl_problems(["g"], {"name": "buildkitd", "exists": False, "access": []})
