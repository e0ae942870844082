"""buildx_install: the buildx binary of a docker/buildx release (fake GitHub on 127.0.0.1), verified against the
release's checksums.txt, on a local POSIX client and on the simulated Windows host."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import platform as host_platform
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

import fake_github as fg  # noqa: E402
from wcow_sim.state import new_state  # noqa: E402

MODULE = "wcow.buildkit.buildx_install"
MACHINE = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(host_platform.machine(), "amd64")
LOCAL = f"{'darwin' if sys.platform == 'darwin' else 'linux'}-{MACHINE}"


@pytest.fixture(scope="module")
def buildx_tree(tmp_path_factory):
    return fg.build_release_tree(tmp_path_factory.mktemp("buildx-releases"), {"buildx": fg.BUILDX_RELEASES})


@pytest.fixture
def github(buildx_tree):
    server = fg.FakeGitHub(buildx_tree).start()
    yield server
    server.stop()


def run_local(tmp_path, args, check=False):
    tree = tmp_path / f"results-{len(list(tmp_path.glob('results-*')))}"
    play = [{"hosts": "clients", "gather_facts": False, "tasks": [{"name": "install", MODULE: args}]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    (tmp_path / "inv.json").write_text(json.dumps({"all": {"children": {"clients": {"hosts": {"client": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
           "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "tests" / "simulated" / "plugins" / "callback"),
           "ANSIBLE_CALLBACKS_ENABLED": "last_result", "WCOW_RESULTS_DIR": str(tree)}
    cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inv.json"),
           str(tmp_path / "play.yml")] + (["--check"] if check else [])
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc, json.loads((tree / "client").read_text())


def test_latest_is_resolved_verified_and_installed_once(tmp_path, github):
    config = tmp_path / "docker-config"
    args = {"docker_config": str(config), **github.options(cache_dir=str(tmp_path / "cache"))}
    proc, result = run_local(tmp_path, args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plugin = config / "cli-plugins" / "docker-buildx"
    assert result["changed"] is True and result["version"] == "0.36.1"  # not the 0.37.0-rc1 prerelease
    assert result["path"] == str(plugin) and result["platform"] == LOCAL
    assert plugin.read_bytes() == fg.buildx_binary("0.36.1", LOCAL) and os.access(plugin, os.X_OK)
    assert result["checksum_origin"].endswith("/v0.36.1/checksums.txt")
    assert not list(plugin.parent.glob("*.wcow-new"))
    name = f"buildx-v0.36.1.{LOCAL}"
    assert github.downloads(name) == 1
    proc, result = run_local(tmp_path, {**args, "cache_dir": str(tmp_path / "other-cache")})
    assert proc.returncode == 0 and result["changed"] is False
    assert github.downloads(name) == 1  # converged: only checksums.txt was read, no binary downloaded


def test_pin_replaces_another_version_and_check_mode_changes_nothing(tmp_path, github):
    config = tmp_path / "docker-config"
    args = {"docker_config": str(config), **github.options(cache_dir=str(tmp_path / "cache"))}
    proc, _result = run_local(tmp_path, {**args, "version": "0.35.0"})
    assert proc.returncode == 0, proc.stdout
    plugin = config / "cli-plugins" / "docker-buildx"
    proc, result = run_local(tmp_path, {**args, "version": "v0.36.1"}, check=True)
    assert proc.returncode == 0 and result["changed"] is True
    assert plugin.read_bytes() == fg.buildx_binary("0.35.0", LOCAL)
    assert github.downloads(f"buildx-v0.36.1.{LOCAL}") == 0
    proc, result = run_local(tmp_path, {**args, "version": "v0.36.1"})
    assert proc.returncode == 0 and result["changed"] is True
    assert result["previous_sha256"] == hashlib.sha256(fg.buildx_binary("0.35.0", LOCAL)).hexdigest()
    assert plugin.read_bytes() == fg.buildx_binary("0.36.1", LOCAL)


def test_a_binary_that_does_not_match_checksums_txt_is_refused(tmp_path, buildx_tree):
    root = fg.build_release_tree(tmp_path / "tampered", {"buildx": [
        {"version": "0.36.1", "tamper": True, "asset": f"buildx-v0.36.1.{LOCAL}"}]})
    server = fg.FakeGitHub(root).start()
    try:
        config = tmp_path / "docker-config"
        proc, result = run_local(tmp_path, {"docker_config": str(config), "version": "0.36.1",
                                            **server.options(cache_dir=str(tmp_path / "cache"))})
    finally:
        server.stop()
    assert proc.returncode != 0 and "does not match the expected digest" in result["msg"]
    assert not (config / "cli-plugins" / "docker-buildx").exists()


def test_darwin_binaries_are_not_in_checksums_txt_and_the_message_says_what_to_do(tmp_path, github):
    proc, result = run_local(tmp_path, {"docker_config": str(tmp_path / "cfg"), "platform": "darwin-arm64",
                                        "version": "0.36.1", **github.options(cache_dir=str(tmp_path / "cache"))})
    assert proc.returncode != 0
    assert "checksum" in result["msg"] and "signed after the build" in result["msg"]
    assert not (tmp_path / "cfg" / "cli-plugins" / "docker-buildx").exists()
    digest = hashlib.sha256(fg.buildx_binary("0.36.1", "darwin-arm64")).hexdigest()
    proc, result = run_local(tmp_path, {"docker_config": str(tmp_path / "cfg"), "platform": "darwin-arm64",
                                        "version": "0.36.1", "checksum": f"sha256:{digest}",
                                        **github.options(cache_dir=str(tmp_path / "cache"))})
    assert proc.returncode == 0 and result["checksum_origin"] == "checksum option"


def test_too_old_a_buildx_is_refused_before_anything(tmp_path, github):
    proc, result = run_local(tmp_path, {"docker_config": str(tmp_path / "cfg"), "version": "0.12.1",
                                        **github.options(cache_dir=str(tmp_path / "cache"))})
    assert proc.returncode != 0 and "0.13.0" in result["msg"] and "version" in result["msg"]
    assert not (tmp_path / "cfg").exists()


# -- the Windows build host (simulated) -----------------------------------------------------------------------
def run_windows(simulator, check=False, **args):
    play = [{"hosts": "windows_builders", "gather_facts": False, "tasks": [{"name": "install", MODULE: args}]}]
    outcome = simulator.run(simulator.playbook(json.dumps(play)), {"sim-host": {}}, check=check)
    return outcome, outcome.result()


def round_trips(simulator):
    return simulator.state()["stats"]["by_module"].get(MODULE, {}).get("round_trips", 0)


def test_windows_standalone_buildx_exe_from_a_release_that_lists_windows(simulator, github, tmp_path):
    dest = "C:\\Tools\\buildx.exe"
    args = {"dest": dest, "version": "0.35.0", **github.options(cache_dir=str(tmp_path / "cache"))}
    outcome, result = run_windows(simulator, **args)
    assert outcome.rc == 0, outcome.stdout
    assert result["changed"] is True and result["file_name"] == "buildx-v0.35.0.windows-amd64.exe"
    entry = simulator.state()["files"][dest.lower()]
    assert base64.b64decode(entry["content"]) == fg.buildx_binary("0.35.0", "windows-amd64")
    assert round_trips(simulator) <= 3
    before = round_trips(simulator)
    outcome, result = run_windows(simulator, **args)
    assert outcome.rc == 0 and result["changed"] is False
    assert round_trips(simulator) - before == 1
    assert github.downloads("buildx-v0.35.0.windows-amd64.exe") == 1


def test_windows_needs_dest_or_docker_config(simulator, github, tmp_path):
    simulator.write_state(new_state())
    outcome, result = run_windows(simulator, version="0.35.0", **github.options(cache_dir=str(tmp_path / "c")))
    assert outcome.rc != 0 and "dest" in result["msg"] and round_trips(simulator) == 0
