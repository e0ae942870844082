"""`make try`: a user's own playbook runs against the simulated hosts, and their state carries over between runs."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]

PLAY = """\
- name: An infrastructure repository's own play
  hosts: windows_builders
  gather_facts: false
  roles:
    - role: wcow.buildkit.containers_feature
    - role: wcow.buildkit.containerd
      vars:
        containerd_version: "{{ my_containerd_version }}"
"""


def _try(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, WCOW_TRY_DIR=str(tmp_path / "try"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    cmd = ["make", "--no-print-directory", "try", f"PLAYBOOK={tmp_path / 'play.yml'}", f"ARGS={' '.join(args)}"]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)


def _running_containerd(tmp_path) -> dict[str, str]:
    """Each simulated host's running containerd version, from the state the try folder kept."""
    out = {}
    for path in sorted((tmp_path / "try" / "state").glob("*.json")):
        service = json.loads(path.read_text())["services"]["containerd"]
        out[path.stem] = service["running_version"] if service["status"] == "Running" else service["status"]
    return out


def test_a_users_playbook_installs_then_upgrades_on_the_simulated_hosts(tmp_path):
    (tmp_path / "play.yml").write_text(PLAY)
    first = _try(tmp_path, "-e", "my_containerd_version=2.1.5")
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"sim-ws2022\s*: ok=\d+\s+changed=[1-9]", first.stdout), first.stdout
    assert "releases from a fake GitHub at http://127.0.0.1:" in first.stdout
    assert _running_containerd(tmp_path) == {"sim-win11": "2.1.5", "sim-ws2022": "2.1.5"}

    # State is kept under the try folder: the second run upgrades the same hosts (no new reboot).
    second = _try(tmp_path, "-e", "my_containerd_version=2.2.7", "--diff")
    assert second.returncode == 0, second.stdout + second.stderr
    assert _running_containerd(tmp_path) == {"sim-win11": "2.2.7", "sim-ws2022": "2.2.7"}
    assert "service containerd: Running, Automatic, version 2.2.7" in second.stdout  # the summary after the run
    assert "boots 2" in second.stdout and "boots 3" not in second.stdout


def test_make_try_without_a_playbook_says_how(tmp_path):
    run = subprocess.run(["make", "--no-print-directory", "try"], cwd=REPO, capture_output=True, text=True,
                         env=dict(os.environ, WCOW_TRY_DIR=str(tmp_path)), timeout=120, check=False)
    assert run.returncode != 0 and "make try PLAYBOOK=" in run.stderr
    missing = subprocess.run([sys.executable, str(REPO / "tests" / "tools" / "try_playbook.py"), "nope.yml"],
                             cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert missing.returncode == 2 and "PLAYBOOK=nope.yml is not a file" in missing.stderr
