"""Issue 3 end to end: win_containerd gets verified bytes from GitHub, a mirror, a local archive or the host itself."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import pathlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fixtures"))

import fake_github as fake  # noqa: E402

MODULE = "wcow.buildkit.win_containerd"
ASSET = "containerd-2.1.5-windows-amd64.tar.gz"
EXE = r"c:\program files\containerd\bin\containerd.exe"
DEAD_API = "http://127.0.0.1:9/api"  # nothing listens there: proves no API call is made


def _play(options):
    return json.dumps([{"hosts": "windows_builders", "gather_facts": False, "tasks": [{MODULE: options}]}])


def _installed_version(state):
    return base64.b64decode(state["files"][EXE]["content"]).decode().split()[2]


def test_two_hosts_two_runs_download_once(simulator, fake_github, tmp_path):
    options = fake_github.options(version="2.1.5", cache_dir=str(tmp_path / "cache"))
    hosts = {"win-a": {}, "win-b": {}}
    run = simulator.run(simulator.playbook(_play(options)), hosts, "--forks", "2")
    assert run.rc == 0, run.stdout
    assert fake_github.downloads(ASSET) == 1
    for host in hosts:
        assert _installed_version(run.state(host)) == "2.1.5"
    # A third, fresh host on a later run is served from the controller cache.
    run = simulator.run(simulator.playbook(_play(options)), {**hosts, "win-c": {}})
    assert run.rc == 0, run.stdout
    assert fake_github.downloads(ASSET) == 1
    assert _installed_version(run.state("win-c")) == "2.1.5"
    assert run.recap["win-a"]["changed"] == 0 and run.recap["win-c"]["changed"] == 1


def test_mirror_without_api(simulator, fake_github, tmp_path):
    options = {"version": "2.1.5", "github_api_url": DEAD_API, "download_base_url": fake_github.mirror_url,
               "cache_dir": str(tmp_path / "cache")}
    run = simulator.run(simulator.playbook(_play(options)))
    assert run.rc == 0, run.stdout
    assert _installed_version(simulator.state()) == "2.1.5"
    assert fake_github.api_requests() == []
    assert fake_github.downloads(ASSET) == 1


def test_local_archive_for_air_gapped_sites(simulator, tmp_path):
    data = fake.containerd_archive("2.1.5")
    archive = tmp_path / ASSET
    archive.write_bytes(data)
    options = {"archive_path": str(archive), "version": "2.1.5", "github_api_url": DEAD_API,
               "download_base_url": "http://127.0.0.1:9", "checksum": "sha256:" + hashlib.sha256(data).hexdigest(),
               "cache_dir": str(tmp_path / "cache")}
    run = simulator.run(simulator.playbook(_play(options)))
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert _installed_version(state) == "2.1.5"
    # the archive staged on the host is byte for byte the verified one
    staged = [f for f in state["files"].values() if f["path"].endswith(ASSET)]
    assert staged and staged[0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_local_archive_with_wrong_checksum_touches_nothing(simulator, tmp_path):
    archive = tmp_path / ASSET
    archive.write_bytes(fake.containerd_archive("2.1.5"))
    options = {"archive_path": str(archive), "version": "2.1.5", "checksum": "sha256:" + "1" * 64,
               "cache_dir": str(tmp_path / "cache")}
    run = simulator.run(simulator.playbook(_play(options)))
    assert run.rc != 0
    assert "1" * 64 in run.result()["msg"]
    assert simulator.state()["files"] == {}


@pytest.mark.parametrize("fault", [False, True])
def test_host_mode_downloads_and_verifies_on_the_host(simulator, fake_github, tmp_path, fault):
    options = fake_github.options(version="2.1.5", source="host", cache_dir=str(tmp_path / "cache"))
    hostvars = {"sim_faults": {"corrupt_download": True}} if fault else {}
    run = simulator.run(simulator.playbook(_play(options)), {"sim-host": hostvars})
    state = simulator.state()
    assert fake_github.downloads(ASSET) == 1  # by the host, not the controller
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob(ASSET))
    if fault:
        assert run.rc != 0 and "mismatch" in run.result()["msg"]
        assert EXE not in state["files"] and state["services"] == {}
    else:
        assert run.rc == 0, run.stdout
        assert _installed_version(state) == "2.1.5"


def test_verification_off_warns_every_run(simulator, fake_github, tmp_path):
    options = fake_github.options(version="2.1.5", verify_checksum=False, cache_dir=str(tmp_path / "cache"))
    for attempt in (1, 2):
        run = simulator.run(simulator.playbook(_play(options)))
        assert run.rc == 0, (attempt, run.stdout)
        assert "verify_checksum is false" in run.stderr and "WITHOUT checksum verification" in run.stderr


def test_latest_is_resolved_once_per_run_not_per_host(simulator, fake_github, tmp_path):
    options = fake_github.options(cache_dir=str(tmp_path / "cache"))  # version: latest
    hosts = {"win-a": {}, "win-b": {}, "win-c": {}}
    run = simulator.run(simulator.playbook(_play(options)), hosts, "--forks", "3")
    assert run.rc == 0, run.stdout
    releases_calls = [r for r in fake_github.api_requests() if "/releases" in r.path]
    assert len(releases_calls) == 1, [r.path for r in fake_github.api_requests()]
    assert {_installed_version(run.state(h)) for h in hosts} == {"2.3.4"}  # newest stable, not the 2.4 rc
    run = simulator.run(simulator.playbook(_play(options)), hosts)
    assert run.rc == 0 and len([r for r in fake_github.api_requests() if "/releases" in r.path]) == 2
