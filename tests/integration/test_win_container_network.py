"""win_container_network against the simulated host: plugins, the HNS nat network, the conf, buildkitd's network."""

from __future__ import annotations

import base64
import json

import pytest

MODULE = "wcow.buildkit.win_container_network"
CONF = r"c:\program files\containerd\cni\conf\0-containerd-nat.conf"
NAT_EXE = r"c:\program files\containerd\cni\bin\nat.exe"
BUILDKITD_CNI = {"config_path": r"C:\Program Files\containerd\cni\conf\0-containerd-nat.conf",
                 "binary_dir": r"C:\Program Files\containerd\cni\bin"}


@pytest.fixture
def play(simulator, fake_github, tmp_path):
    """Run a play of the given steps: containerd, network (with args), buildkitd (with cni), reboot."""
    cache = tmp_path / "cache"

    def run(*steps, check=False, hostvars=None, network=None, cni=True, containerd_version="2.1.5"):
        network = network or {}
        tasks = []
        for step in steps:
            if step == "containerd":
                tasks.append({"name": "containerd", "wcow.buildkit.win_containerd": {
                    **fake_github.options(cache_dir=str(cache)), "version": containerd_version}})
            elif step == "network":
                tasks.append({"name": "network", MODULE: {**fake_github.options(cache_dir=str(cache)),
                                                          "version": "0.3.3", **network}})
            elif step == "buildkitd":
                args = {**fake_github.options(cache_dir=str(cache)), "version": "0.24.0"}
                if cni:
                    args["cni"] = BUILDKITD_CNI
                tasks.append({"name": "buildkitd", "wcow.buildkit.win_buildkitd": args})
            elif step == "reboot":
                tasks.append({"name": "reboot", "ansible.windows.win_reboot": {}})
        playbook = [{"hosts": "windows_builders", "gather_facts": False, "tasks": tasks}]
        outcome = simulator.run(simulator.playbook(json.dumps(playbook)), {"sim-host": hostvars or {}}, check=check)
        return outcome, outcome.result()
    return run


def _trips(state):
    return state["stats"]["by_module"].get(MODULE, {}).get("round_trips", 0)


def _text(state, path):
    return base64.b64decode(state["files"][path.lower()]["content"]).decode()


def _nat(state):
    return [n for n in state["hns_networks"].values() if n["name"] == "nat"]


def _worker_network(state):
    daemon = state["services"]["buildkitd"].get("buildkitd") or {}
    return (daemon.get("worker") or {}).get("labels", {}).get("org.mobyproject.buildkit.worker.network")


def test_fresh_host_with_nat_renders_conf_from_the_live_network_then_converges_in_one_round_trip(play, simulator):
    run, result = play("containerd", "network", "buildkitd")
    assert run.rc == 0, run.stdout
    state = simulator.state()
    [nat] = _nat(state)  # the host's own nat, not one made by us
    conf = json.loads(_text(state, CONF))
    assert conf["type"] == "nat" and conf["name"] == "nat" and conf["cniVersion"] == "1.0.0"
    assert conf["ipam"]["subnet"] == nat["subnet"] and conf["ipam"]["routes"] == [{"gateway": nat["gateway"]}]
    assert state["files"][NAT_EXE.lower()]
    assert not [e for e in state["events"] if e.startswith("hns_network_create")]
    assert _worker_network(state) == "cni"
    before = _trips(state)
    run, result = play("network")
    assert run.rc == 0 and not result["changed"], result
    assert _trips(simulator.state()) - before == 1
    assert result["network"]["subnet"] == nat["subnet"] and result["mode"] == "nat"


def test_host_without_nat_gets_one_with_the_configured_subnet(play, simulator):
    run, result = play("containerd", "network", hostvars={"sim_faults": {"hns_nat": "absent"}},
                       network={"nat_subnet": "172.31.0.0/16", "nat_gateway": "172.31.0.1"})
    assert run.rc == 0, run.stdout
    state = simulator.state()
    [nat] = _nat(state)
    assert (nat["subnet"], nat["gateway"]) == ("172.31.0.0/16", "172.31.0.1")
    assert json.loads(_text(state, CONF))["ipam"]["subnet"] == "172.31.0.0/16"
    assert result["network"]["subnet"] == "172.31.0.0/16"


def test_check_mode_changes_nothing_and_shows_the_conf(play, simulator):
    run, result = play("network", check=True)
    assert run.rc == 0, run.stdout
    assert result["changed"]
    state = simulator.state()
    assert CONF.lower() not in state["files"] and NAT_EXE.lower() not in state["files"]


def test_drifted_conf_is_rerendered_with_exactly_one_buildkitd_restart(play, simulator):
    run, _result = play("containerd", "network", "buildkitd")
    assert run.rc == 0, run.stdout
    state = simulator.state()
    [nat] = _nat(state)
    # The subnet changed under us (as a restart can do): HNS now has another one.
    nat.update(subnet="172.29.16.0/20", gateway="172.29.16.1")
    state["events"] = []
    simulator.write_state(state)
    run, result = play("network")
    assert run.rc == 0, run.stdout
    assert result["changed"] and result["buildkitd_restarted"]
    state = simulator.state()
    assert json.loads(_text(state, CONF))["ipam"]["subnet"] == "172.29.16.0/20"
    assert [e for e in state["events"] if e == "service_start buildkitd"] == ["service_start buildkitd"]
    assert state["services"]["buildkitd"]["status"] == "Running"
    run, result = play("network")
    assert not result["changed"] and not result["buildkitd_restarted"]


def test_nat_lost_after_reboot_is_restored_by_the_boot_task(play, simulator):
    faults = {"sim_faults": {"hns_nat_vanishes_on_reboot": True}}
    network = {"boot_task": True, "nat_subnet": "172.28.0.0/16", "nat_gateway": "172.28.0.1"}
    run, _result = play("containerd", "network", "buildkitd", hostvars=faults, network=network)
    assert run.rc == 0, run.stdout
    run, _result = play("reboot", hostvars=faults)
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert "hns_network_lost nat" in state["events"]
    [nat] = _nat(state)
    assert nat["subnet"] == "172.28.0.0/16"
    assert json.loads(_text(state, CONF))["ipam"]["subnet"] == "172.28.0.0/16"
    assert state["services"]["buildkitd"]["status"] == "Running" and _worker_network(state) == "cni"
    run, result = play("network", hostvars=faults, network=network)
    assert run.rc == 0 and not result["changed"], result


def test_without_the_boot_task_a_lost_nat_is_recreated_by_the_next_run(play, simulator):
    faults = {"sim_faults": {"hns_nat_vanishes_on_reboot": True}}
    play("containerd", "network", hostvars=faults)
    play("reboot", hostvars=faults)
    assert _nat(simulator.state()) == []
    run, result = play("network", hostvars=faults)
    assert run.rc == 0 and result["changed"], run.stdout
    assert len(_nat(simulator.state())) == 1


def test_subnet_changed_on_reboot_is_rerendered_by_the_boot_task(play, simulator):
    faults = {"sim_faults": {"hns_nat_subnet_on_reboot": "172.27.32.0/20"}}
    play("containerd", "network", "buildkitd", hostvars=faults, network={"boot_task": True})
    run, _result = play("reboot", hostvars=faults)
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert json.loads(_text(state, CONF))["ipam"]["subnet"] == "172.27.32.0/20"


STAGED_DIR = "c:\\programdata\\wcow.buildkit\\artifacts\\"


def test_state_absent_removes_the_boot_task_and_conf(play, simulator):
    play("containerd", "network", network={"boot_task": True})
    assert simulator.state()["scheduled_tasks"]
    staged = [f for f in simulator.state()["files"] if f.startswith(STAGED_DIR) and f.endswith(".zip")]
    assert len(staged) == 1, staged  # the plugins release, staged under one name whatever its version
    run, result = play("network", network={"state": "absent"})
    assert run.rc == 0 and result["changed"], run.stdout
    state = simulator.state()
    assert state["scheduled_tasks"] == {}
    assert CONF.lower() not in state["files"] and NAT_EXE.lower() not in state["files"]
    assert staged[0] not in state["files"]  # absent resolves no version, yet deletes the staged zip
    assert result["mode"] == "off"


def test_networking_off_is_reported_and_buildkitd_uses_the_null_network(play, simulator):
    run, result = play("containerd", "network", "buildkitd", network={"mode": "off"}, cni=False)
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert CONF.lower() not in state["files"]
    assert _worker_network(state) == ""
    run, result = play("network", network={"mode": "off"})
    assert result["mode"] == "off" and not result["changed"] and result["network"] is None


def test_server_2019_is_warned_about_buildkit_issue_5668_and_gets_nat_created(play, simulator):
    run, result = play("containerd", "network", hostvars={"sim_build": 17763})
    assert run.rc == 0, run.stdout
    assert "5668" in run.stdout + run.stderr and "Windows Server 2022" in run.stdout + run.stderr
    assert result["build"] == 17763
    assert len(_nat(simulator.state())) == 1  # 2019 has none by default: it was created


@pytest.mark.parametrize("option,value", [("nat_subnet", "172.20.0.0/33"), ("nat_gateway", "10.0.0.1"),
                                          ("conf_dir", "relative\\conf")])
def test_bad_input_names_the_option_and_leaves_the_host_unchanged(play, simulator, option, value):
    run, result = play("network", network={option: value})
    assert run.rc != 0
    assert result["msg"].startswith(f"{MODULE}: {option}") and "Traceback" not in result["msg"]
    assert not (simulator.state_dir / "sim-host.json").exists()  # the host was never reached


def test_round_trip_budget_per_host(play, simulator):
    """Fresh install 3 (read, archive transfer, apply), converged 1, conf drift 2 (read, apply: no transfer)."""
    play("containerd", "buildkitd")
    trips = []
    for _run in range(2):
        before = _trips(simulator.state())
        run, _result = play("network", network={"boot_task": True})
        assert run.rc == 0, run.stdout
        trips.append(_trips(simulator.state()) - before)
    state = simulator.state()
    _nat(state)[0].update(subnet="172.26.0.0/16", gateway="172.26.0.1")
    simulator.write_state(state)
    before = _trips(state)
    run, result = play("network", network={"boot_task": True})
    assert result["buildkitd_restarted"]
    trips.append(_trips(simulator.state()) - before)
    assert trips == [3, 1, 2]


@pytest.mark.parametrize("version,source,expected,algorithm", [
    ("latest", "controller", "0.3.3", "sha256"),  # later releases publish .sha256 (and .sha512)
    ("0.3.0", "host", "0.3.0", "sha512"),  # up to 0.3.1 only .sha512, naming ./release/<zip>
])
def test_plugins_release_is_verified_by_the_checksum_it_publishes(play, simulator, fake_github, version, source,
                                                                  expected, algorithm):
    run, result = play("network", network={"version": version, "source": source})
    assert run.rc == 0, run.stdout
    assert result["version"] == expected
    state = simulator.state()
    zip_name = f"windows-container-networking-cni-amd64-v{expected}.zip"
    assert fake_github.downloads(zip_name) == 1
    assert fake_github.downloads(f"{zip_name}.{algorithm}") == 1
    assert f"SIMULATED-EXE nat {expected}" in _text(state, NAT_EXE)


def test_without_the_containers_feature_the_error_names_the_role_to_run(play, simulator):
    simulator.host_vars = {}
    run, result = play("network")
    assert run.rc != 0
    assert "containers_feature" in result["msg"] and "vmcompute.dll" in result["msg"]
    assert not [e for e in simulator.state()["events"] if not e.startswith("directory_ensure")]
