"""controller_check: in a controller without our packages, site.yml stops at once naming every missing one."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]

# Loaded by Python at start-up (sitecustomize on PYTHONPATH): the named top-level modules cannot be imported,
# as in a plain `pip install ansible-core` environment.
BLOCKER = """\
import importlib.abc
import os
import sys

BLOCKED = set(os.environ["WCOW_BLOCK_IMPORTS"].split(","))


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


sys.meta_path.insert(0, _Blocker())
"""


def _run(tmp_path, inventory: dict, blocked: list[str], playbook: str = "site.yml") -> subprocess.CompletedProcess:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    inv = tmp_path / "inventory.json"
    inv.write_text(json.dumps(inventory))
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": str(site),
        "WCOW_BLOCK_IMPORTS": ",".join(blocked),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
    })
    cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(inv), str(REPO / playbook)]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def _inventory(builders: dict) -> dict:
    return {"all": {"children": {"windows_builders": {"hosts": builders}}}}


def test_plain_controller_gets_one_message_listing_every_missing_package(tmp_path):
    # The hosts do not exist: the check must fail before any connection is tried.
    run = _run(tmp_path, _inventory({
        "b1.invalid": {"ansible_connection": "winrm", "ansible_winrm_transport": "credssp"},
        "b2.invalid": {"ansible_connection": "ansible.builtin.psrp"},
    }), ["winrm", "pypsrp", "httpx", "tomli_w", "requests_credssp"])
    out = run.stdout + run.stderr
    assert run.returncode == 2, out
    assert "Check that every controller package" in out
    for package in ("pywinrm", "pypsrp", "httpx", "tomli-w", "pywinrm[credssp]"):
        assert package in out, f"{package} not named:\n{out}"
    assert "cryptography (" not in out  # installed, so not listed
    assert "-m pip install" in out
    # One failure for the play, before any host was contacted (no unreachable, no second task).
    assert "unreachable=1" not in out and "Enable the Windows" not in out
    assert "lacks 5 package(s)" in out and out.count("fatal: ") == 1


def test_complete_controller_passes_the_check(tmp_path):
    # Nothing blocked: the check passes and the play goes on to the hosts (unreachable: they do not exist).
    builder = {"ansible_connection": "winrm", "ansible_port": 1, "ansible_host": "127.0.0.1"}
    run = _run(tmp_path, _inventory({"b1.invalid": builder}), ["nothing_blocked"])
    out = run.stdout + run.stderr
    assert "Check that every controller package" in out
    assert "lacks" not in out, out
    assert "ok: [b1.invalid]" in out, out
