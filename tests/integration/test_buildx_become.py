"""become on a POSIX client: buildx builders are per user, so buildx_remote_builder may run as the become user.

Needs root, `su` and a second local user with a login shell (the commands run as that user through `su`, which
asks root for no password); skipped elsewhere. Proof: the builder's files belong to that user."""

from __future__ import annotations

import json
import os
import pathlib
import pwd
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
STANDIN = REPO / "tests" / "fixtures" / "docker_cli"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


def other_user():
    if os.geteuid() != 0 or not shutil.which("su") or not os.path.exists("/usr/bin/python3"):
        return None
    for entry in pwd.getpwall():
        if entry.pw_uid >= 1000 and entry.pw_shell.endswith("sh") and entry.pw_name != "root":
            return entry
    return None


USER = other_user()


@pytest.fixture
def world(tmp_path):
    """A folder the become user can reach (pytest's own tmp is root-only), removed afterwards."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="wcow-become-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(USER is None, reason="needs root, su and a second user with a shell")
def test_become_creates_the_builder_as_the_become_user(tmp_path, world):
    bin_dir = world / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    # the system python3: the become user cannot reach the test venv; the stand-in needs only the stdlib
    docker.write_text(f"#!/bin/sh\nexec /usr/bin/python3 '{STANDIN / 'docker_main.py'}' \"$@\"\n")
    docker.chmod(0o755)
    config = world / "docker-config"
    config.mkdir()
    os.chown(config, USER.pw_uid, USER.pw_gid)
    play = [{"hosts": "clients", "gather_facts": False, "become": True, "become_method": "su",
             "become_user": USER.pw_name, "tasks": [{"name": "builder", "wcow.buildkit.buildx_remote_builder": {
                 "name": "b", "endpoint": "tcp://127.0.0.1:9", "docker_cli": str(docker),
                 "docker_config": str(config), "tls": {"cacert": PEM}}}]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    (tmp_path / "inv.json").write_text(json.dumps({"all": {"children": {"clients": {"hosts": {"client": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
           "WCOW_FAKE_BUILDX_TIMEOUT": "0.2"}
    cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inv.json"),
           str(tmp_path / "play.yml")]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    instance = config / "buildx" / "instances" / "b"
    assert instance.stat().st_uid == USER.pw_uid
    cacert = pathlib.Path(json.loads(instance.read_text())["Nodes"][0]["DriverOpts"]["cacert"])
    assert cacert.stat().st_uid == USER.pw_uid and cacert.stat().st_mode & 0o077 == 0
    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout
