"""The smoke_test role in site.yml on simulated hosts of each Windows build: build, skip when converged, fail clearly."""

from __future__ import annotations

import json
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
SITE = REPO / "playbooks" / "site.yml"
VERSIONS = {"containerd_version": "2.1.5", "buildkitd_version": "0.24.0"}


def _extra(fake_github, tmp_path, **more) -> list[str]:
    values = dict(VERSIONS, **more)
    for role in ("containerd", "networking", "buildkitd"):
        values.update({f"{role}_{k}": v for k, v in fake_github.options(cache_dir=str(tmp_path / "cache")).items()})
    return ["-e", json.dumps(values)]


def _smoke_trips(state: dict) -> int:
    return state["stats"]["by_module"].get("wcow.buildkit.win_smoke_build", {}).get("round_trips", 0)


def test_site_builds_on_every_build_then_costs_nothing_when_converged(simulator, fake_github, tmp_path):
    hosts = {"ws2019": {"sim_build": 17763}, "ws2022": {"sim_build": 20348}, "ws2025": {"sim_build": 26100},
             "win11": {"sim_build": 22631}}
    tags = {"ws2019": "ltsc2019", "ws2022": "ltsc2022", "ws2025": "ltsc2025", "win11": "ltsc2022"}
    first = simulator.run(SITE, hosts, *_extra(fake_github, tmp_path))
    assert first.rc == 0, first.stdout + first.stderr
    for host, tag in tags.items():
        result = first.result(host)
        assert result["base_image"] == f"mcr.microsoft.com/windows/nanoserver:{tag}", host
        assert result["digest"].startswith("sha256:") and result["changed"] is True
        # With networking (site.yml's default) a fourth step proves DNS and HTTPS from a RUN step.
        assert [s["name"] for s in result["steps"]][-4:] == [
            "[2/4] COPY hello.txt C:/", '[3/4] RUN echo "Goodbye!" >> hello.txt',
            "[4/4] RUN curl.exe --fail --silent --show-error --head --max-time 60 https://www.microsoft.com/",
            "exporting to image"]
        assert all(isinstance(s["seconds"], float) for s in result["steps"])
        # Detached, then polled: one start, the polls, one cleanup.
        assert result["polls"] >= 1 and _smoke_trips(first.state(host)) == 2 + result["polls"]
        # Cleaned up: nothing of the build left on the host.
        assert not any("wcow.buildkit\\smoke" in f for f in first.state(host)["files"])
    trips = {h: _smoke_trips(first.state(h)) for h in hosts}

    second = simulator.run(SITE, hosts, *_extra(fake_github, tmp_path))
    assert second.rc == 0, second.stdout + second.stderr
    for host in hosts:
        assert second.recap[host]["changed"] == 0, second.stdout
        # smoke_test_when: changed, and nothing changed: the role decided not to build (the build task skipped).
        assert second.result(host)["ansible_facts"] == {"smoke_test__run": False}
        assert _smoke_trips(second.state(host)) == trips[host]


def test_always_rebuilds_a_converged_host(simulator, fake_github, tmp_path):
    hosts = {"sim-host": {}}
    assert simulator.run(SITE, hosts, *_extra(fake_github, tmp_path)).rc == 0
    run = simulator.run(SITE, hosts, *_extra(fake_github, tmp_path, smoke_test_when="always", smoke_test_poll_seconds=5))
    assert run.rc == 0 and run.result()["digest"].startswith("sha256:")
    # A build longer than one poll: several short round trips, progress shown between them.
    assert run.result()["polls"] >= 3
    assert run.stdout.count("sim-host: smoke build, step") >= 2


def test_a_build_without_a_nanoserver_image_fails_before_building(simulator, fake_github, tmp_path):
    hosts = {"sim-host": {"sim_build": 14393}}  # Windows Server 2016: MCR has no nanoserver tag for it any more
    run = simulator.run(SITE, hosts, *_extra(fake_github, tmp_path))
    assert run.rc != 0
    result = run.result()
    assert "Windows build 14393 (server) has no nanoserver image" in result["msg"]
    assert "smoke_test_base_image" in result["msg"]  # the role variable to set
    assert not [e for e in run.state("sim-host")["events"] if e.startswith("smoke_build_start")]


def test_a_failed_build_names_the_step_and_shows_the_daemon_log(simulator, fake_github, tmp_path):
    hosts = {"sim-host": {}}
    run = simulator.run(SITE, hosts, *_extra(fake_github, tmp_path,
                                             smoke_test_base_image="mcr.microsoft.com/windows/nanoserver:ltsc2019"))
    assert run.rc != 0
    result = run.result()
    assert result["failed_step"]["name"] == '[3/4] RUN echo "Goodbye!" >> hello.txt'
    assert "The container operating system does not match the host operating system." in result["msg"]
    assert result["daemon_log_tail"] and any("buildkitd" in line or "level=" in line for line in result["daemon_log_tail"])


def test_a_networked_step_without_networking_fails_with_curls_error(simulator, fake_github, tmp_path):
    run = simulator.run(SITE, {"sim-host": {}}, *_extra(fake_github, tmp_path, networking_mode="off",
                                                        smoke_test_network_url="https://mcr.microsoft.com/v2/"))
    assert run.rc != 0
    failed = run.result()["failed_step"]
    assert failed["error"].endswith("exit code: 6")
    assert "Could not resolve host: mcr.microsoft.com" in failed["output_tail"][-1]


def test_with_networking_the_smoke_build_proves_dns_and_https_from_a_run_step(simulator, fake_github, tmp_path):
    run = simulator.run(SITE, {"sim-host": {}}, *_extra(fake_github, tmp_path))
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result()
    assert any("curl.exe --fail" in s["name"] and "https://www.microsoft.com/" in s["name"] for s in result["steps"])
    workers = run.state("sim-host")["services"]["buildkitd"]["buildkitd"]["worker"]["labels"]
    assert workers["org.mobyproject.buildkit.worker.network"] == "cni"
