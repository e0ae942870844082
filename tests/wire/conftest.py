"""Wire fixtures: a WinRM listener on 127.0.0.1 in front of the simulated host, a fake GitHub with big archives."""

from __future__ import annotations

import copy
import json
import pathlib
import resource
import sys
import typing as t

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "fixtures"))

import fake_github as fake_github_module  # noqa: E402
import winrm_endpoint  # noqa: E402

MODULE = "wcow.buildkit.win_containerd"
ARCHIVE_BYTES = 20_000_000  # the real Windows containerd archives are tens of MB


def releases(archive_bytes: int = ARCHIVE_BYTES) -> dict[str, t.Any]:
    spec = copy.deepcopy(fake_github_module.DEFAULT_RELEASES)
    for entry in spec["containerd"]:
        if entry["version"] in ("1.7.29", "2.1.5"):
            entry["padding"] = archive_bytes
    return spec


@pytest.fixture(scope="session")
def big_github():
    server = fake_github_module.start(releases())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def listener(simulator, tmp_path, monkeypatch):
    """start(**options) -> a started Endpoint sharing the simulator's state folder; stopped at teardown."""
    started: list[winrm_endpoint.Endpoint] = []

    def start(**options: t.Any) -> winrm_endpoint.Endpoint:
        users = options.setdefault("users", {"vagrant": "vagrant"})
        options.setdefault("features", simulator.host_vars.get("sim_features"))  # Containers on, as site.yml leaves it
        monkeypatch.setenv("NTLM_USER_FILE", winrm_endpoint.ntlm_user_file(tmp_path, users))
        endpoint = winrm_endpoint.Endpoint(simulator.state_dir, cert_dir=tmp_path / "certs", **options).start()
        started.append(endpoint)
        return endpoint

    yield start
    for endpoint in started:
        endpoint.stop()


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture
def wire_converge(simulator, big_github, tmp_path):
    """run(hostvars, **options) -> (run, result, controller CPU seconds) for one win_containerd task."""
    cache = tmp_path / "cache"

    def run(hostvars: dict[str, t.Any], check: bool = False, **args: t.Any):
        options = {**big_github.options(cache_dir=str(cache)), **args}
        play = [{"hosts": "windows_builders", "gather_facts": False,
                 "tasks": [{"name": "containerd", MODULE: options}]}]
        before = child_cpu()
        outcome = simulator.run(simulator.playbook(json.dumps(play)), {"sim-host": hostvars}, check=check)
        cpu = child_cpu() - before
        try:
            result = outcome.result()
        except FileNotFoundError:
            result = {}
        return outcome, result, cpu
    return run
