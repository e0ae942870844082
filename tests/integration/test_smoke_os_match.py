"""The smoke build's base image on Windows 11 builds and with Hyper-V isolation, through site.yml."""

from __future__ import annotations

import json
import pathlib

import pytest
from fake_github import FakeGitHub, build_release_tree

REPO = pathlib.Path(__file__).resolve().parents[2]
SITE = REPO / "playbooks" / "site.yml"
FLAG = "--containerd-worker-hyperv-isolation"
# 0.33.0 stands in for the first release with the Hyper-V flag (fault buildkitd_extra_flags adds it to its help).
RELEASES = {"containerd": [{"version": "2.1.5", "created_at": "2025-07-01T00:00:00Z"}],
            "buildkit": [{"version": "0.24.0", "created_at": "2025-08-01T00:00:00Z"},
                         {"version": "0.33.0", "created_at": "2026-10-01T00:00:00Z"}],
            "cni": [{"version": "0.3.3", "created_at": "2025-05-01T00:00:00Z"}]}
HYPERV_FAULT = {"buildkitd_extra_flags": {"0.33.0": [FLAG]}}
NANO = "mcr.microsoft.com/windows/nanoserver:"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return build_release_tree(tmp_path_factory.mktemp("gh-osmatch"), RELEASES)


@pytest.fixture
def github(tree):
    server = FakeGitHub(tree).start()
    try:
        yield server
    finally:
        server.stop()


def _extra(github, tmp_path, **more) -> list[str]:
    values = {"containerd_version": "2.1.5", "buildkitd_version": "0.24.0", "networking_version": "0.3.3", **more}
    for role in ("containerd", "networking", "buildkitd"):
        values.update({f"{role}_{k}": v for k, v in github.options(cache_dir=str(tmp_path / "cache")).items()})
    return ["-e", json.dumps(values)]


def test_windows_11_builds_pick_the_tag_hcs_runs(simulator, github, tmp_path):
    hosts = {"win11-21h2": {"sim_build": 22000}, "win11-24h2": {"sim_build": 26100, "sim_edition": "client"},
             "win11-25h2": {"sim_build": 26200}, "ws2025": {"sim_build": 26100}}
    tags = {"win11-21h2": "ltsc2022", "win11-24h2": "ltsc2025", "win11-25h2": "ltsc2025", "ws2025": "ltsc2025"}
    run = simulator.run(SITE, hosts, *_extra(github, tmp_path))
    assert run.rc == 0, run.stdout + run.stderr
    for host, tag in tags.items():
        result = run.result(host)
        assert result["base_image"] == NANO + tag and result["isolation"] == "process", host
        assert result["digest"].startswith("sha256:"), host
    # 24H2 is a client on the same build as Windows Server 2025: the facts say which, and both run ltsc2025.
    assert simulator.state("win11-24h2")["edition"] == "client" and simulator.state("ws2025")["edition"] == "server"


def test_windows_11_25h2_cannot_run_ltsc2022_with_process_isolation(simulator, github, tmp_path):
    # hcsshim: after 26100 the oldest image a host runs is ltsc2025; 24H2 itself still runs ltsc2022.
    hosts = {"win11-25h2": {"sim_build": 26200}, "win11-24h2": {"sim_build": 26100, "sim_edition": "client"}}
    run = simulator.run(SITE, hosts, *_extra(github, tmp_path, smoke_test_base_image=NANO + "ltsc2022"))
    assert run.rc != 0
    assert "The container operating system does not match the host operating system." in run.result("win11-25h2")["msg"]
    assert run.result("win11-24h2")["digest"].startswith("sha256:")


def test_hyperv_isolation_runs_an_older_image_than_process_isolation_allows(simulator, github, tmp_path):
    # Windows 10 22H2 (19045): no nanoserver image of its build, so process isolation has none; Hyper-V isolation
    # runs the newest one that is not newer than the host, ltsc2019.
    hosts = {"win10": {"sim_build": 19045, "sim_edition": "client", "sim_faults": HYPERV_FAULT}}
    process = simulator.run(SITE, hosts, *_extra(github, tmp_path))
    assert process.rc != 0 and "Windows build 19045 (client) has no nanoserver image" in process.result("win10")["msg"]
    assert "Hyper-V isolation" in process.result("win10")["msg"]
    run = simulator.run(SITE, hosts, *_extra(github, tmp_path, buildkitd_version="0.33.0", buildkitd_hyperv_isolation=True,
                                             containers_feature_hyperv=True, smoke_test_when="always"))
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("win10")
    assert result["base_image"] == NANO + "ltsc2019" and result["isolation"] == "hyperv"
    assert FLAG in simulator.state("win10")["services"]["buildkitd"]["command_line"]


def test_hyperv_isolation_on_a_server_runs_an_older_ltsc_and_needs_the_feature(simulator, github, tmp_path):
    hosts = {"ws2022": {"sim_faults": HYPERV_FAULT}}
    older = {"buildkitd_version": "0.33.0", "buildkitd_hyperv_isolation": True, "smoke_test_base_image": NANO + "ltsc2019"}
    # Without the Hyper-V feature hcs cannot start the utility VM.
    run = simulator.run(SITE, hosts, *_extra(github, tmp_path, **older))
    assert run.rc != 0
    assert "The virtual machine could not be started because a required feature is not installed." \
        in run.result("ws2022")["msg"]
    run = simulator.run(SITE, hosts, *_extra(github, tmp_path, containers_feature_hyperv=True, smoke_test_when="always",
                                             **older))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("ws2022")["base_image"] == NANO + "ltsc2019"
