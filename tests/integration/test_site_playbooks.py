"""playbooks/upgrade.yml and playbooks/uninstall.yml on simulated hosts (a rollout that stops, a teardown that keeps data)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

from wcow_sim.state import new_state

REPO = pathlib.Path(__file__).resolve().parents[2]
OLD = {"containerd_version": "2.1.5", "buildkitd_version": "0.20.2"}
NEW = {"containerd_version": "2.2.7", "buildkitd_version": "0.24.0"}


def _extra(fake_github, tmp_path, versions: dict[str, str], **more) -> list[str]:
    values = dict(versions, **more)
    for role in ("containerd", "networking", "buildkitd"):
        values.update({f"{role}_{k}": v for k, v in fake_github.options(cache_dir=str(tmp_path / "cache")).items()})
    return ["-e", json.dumps(values)]


def _running(state: dict, service: str) -> str | None:
    record = state["services"].get(service)
    return record["running_version"] if record and record["status"] == "Running" else None


def _versions(simulator, host: str) -> tuple[str | None, str | None]:
    state = simulator.state(host)
    return _running(state, "containerd"), _running(state, "buildkitd")


def _site(simulator, fake_github, tmp_path, hosts, versions=None):
    run = simulator.run(REPO / "playbooks" / "site.yml", hosts, *_extra(fake_github, tmp_path, versions or OLD))
    assert run.rc == 0, run.stdout + run.stderr
    return run


def test_upgrade_goes_one_builder_at_a_time(simulator, fake_github, tmp_path):
    hosts = {"b1": {}, "b2": {}}
    _site(simulator, fake_github, tmp_path, hosts)
    run = simulator.run(REPO / "playbooks" / "upgrade.yml", hosts, *_extra(fake_github, tmp_path, NEW))
    assert run.rc == 0, run.stdout + run.stderr
    assert _versions(simulator, "b1") == _versions(simulator, "b2") == ("2.2.7", "0.24.0")
    # b1's batch (containerd then buildkitd) finished before b2's began.
    play = run.stdout.split("PLAY [Upgrade the Windows builders one at a time]")
    assert len(play) == 3, run.stdout  # one play header per batch of serial: 1
    assert "[b1]" in play[1] and "[b2]" not in play[1] and "[b2]" in play[2] and "[b1]" not in play[2]


def test_a_failed_upgrade_stops_the_rollout_and_leaves_the_others_untouched(simulator, fake_github, tmp_path):
    hosts = {"b1": {}, "b2": {}}
    _site(simulator, fake_github, tmp_path, hosts)
    before_b2 = simulator.state("b2")
    # The new buildkitd exits right after it starts on b1 (the first builder of the rollout).
    faulty = {"b1": {"sim_faults": {"service_start_fails": ["buildkitd@0.24.0"]}}, "b2": {}}
    run = simulator.run(REPO / "playbooks" / "upgrade.yml", faulty, *_extra(fake_github, tmp_path, NEW))
    assert run.rc != 0
    assert run.recap["b1"]["failed"] == 1, run.stdout
    # b1: win_buildkitd put the old buildkitd back; containerd's upgrade had succeeded before it.
    assert _versions(simulator, "b1") == ("2.2.7", "0.20.2")
    # The rollout stopped: b2 was never contacted (same state, byte for byte) and has no task in the output.
    assert "[b2]" not in run.stdout and "b2" not in run.recap
    assert simulator.state("b2") == before_b2
    assert _versions(simulator, "b2") == ("2.1.5", "0.20.2")


COMPARED = ("services", "files", "dirs", "registry", "firewall_rules", "defender_exclusions", "processes", "features",
            "hns_networks")


def _fresh_with_features(simulator, hosts) -> dict[str, dict]:
    """Each host as site.yml finds it once the Containers feature is on: a fresh host after containers_feature."""
    play = simulator.playbook(json.dumps([{"hosts": "windows_builders", "gather_facts": False,
                                           "roles": ["wcow.buildkit.containers_feature"]}]), "feature.yml")
    run = simulator.run(play, hosts)
    assert run.rc == 0, run.stdout + run.stderr
    return {h: {k: simulator.state(h)[k] for k in COMPARED} for h in hosts}


def _diff(before: dict, after: dict) -> dict:
    out = {}
    for k in COMPARED:
        if isinstance(before[k], dict):
            gone = sorted(set(before[k]) - set(after[k]))
            added = sorted(set(after[k]) - set(before[k]))
            changed = sorted(x for x in set(before[k]) & set(after[k]) if before[k][x] != after[k][x])
            if gone or added or changed:
                out[k] = {"gone": gone, "added": added, "changed": changed}
        elif before[k] != after[k]:
            out[k] = {"before": before[k], "after": after[k]}
    return out


def test_uninstall_keeps_data_unless_purge(simulator, fake_github, tmp_path):
    hosts = {"b1": {}}
    fresh = _fresh_with_features(simulator, hosts)["b1"]
    _site(simulator, fake_github, tmp_path, hosts)
    run = simulator.run(REPO / "playbooks" / "uninstall.yml", hosts, *_extra(fake_github, tmp_path, OLD))
    assert run.rc == 0, run.stdout + run.stderr
    kept = _diff(fresh, {k: simulator.state("b1")[k] for k in COMPARED})
    # HNS's nat network is Windows' own (the Containers feature makes it on first use): uninstall leaves it.
    nat = kept.pop("hns_networks", None)
    assert nat is None or (nat["gone"] == nat["changed"] == [] and [
        simulator.state("b1")["hns_networks"][n]["name"] for n in nat["added"]] == ["nat"]), nat
    # Services, binaries, config, PATH entry: gone. Data and logs: kept, nothing else.
    assert set(kept) == {"files", "dirs"}, kept
    assert kept["files"] == {"gone": [], "changed": [], "added": [
        "c:\\programdata\\buildkitd\\buildkitd.log", "c:\\programdata\\containerd\\containerd.log"]}
    # The modules' scratch folder (C:\\ProgramData\\wcow.buildkit\\artifacts) went with the last archive in it.
    assert set(kept["dirs"]["after"]) - set(kept["dirs"]["before"]) == {
        "c:\\programdata\\containerd", "c:\\programdata\\containerd\\root", "c:\\programdata\\containerd\\state",
        "c:\\programdata\\buildkitd", "c:\\programdata\\buildkitd\\.buildstate"}

    run = simulator.run(REPO / "playbooks" / "uninstall.yml", hosts,
                        *_extra(fake_github, tmp_path, OLD, uninstall_purge=True))
    assert run.rc == 0, run.stdout + run.stderr
    purged = _diff(fresh, {k: simulator.state("b1")[k] for k in COMPARED})
    purged.pop("hns_networks", None)  # nat, as above
    # A fresh host again (with the Containers feature on): every file, folder, service, registry value, firewall
    # rule, exclusion and process compared; C:\\ProgramData\\wcow.buildkit went in the purge's own round trip.
    assert purged == {}, purged


def test_the_playbooks_run_from_the_repository_root_with_the_example_inventory():
    for playbook in ("site.yml", "playbooks/site.yml", "playbooks/upgrade.yml", "playbooks/uninstall.yml"):
        proc = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i",
                               "inventory/example/hosts.yml", playbook, "--syntax-check"], cwd=REPO,
                              env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, f"{playbook}: {proc.stdout}{proc.stderr}"
        assert "WARNING" not in proc.stderr, f"{playbook}: {proc.stderr}"


BUILDS = {"ws2019": 17763, "ws2022": 20348, "ws2025": 26100, "win11": 22631}


def _module_trips(state: dict) -> dict[str, int]:
    return {name: record["round_trips"] for name, record in state["stats"]["by_module"].items()}


def test_site_turns_fresh_hosts_of_every_build_into_builders_then_converges_at_one_round_trip_per_module(
        simulator, fake_github, tmp_path):
    simulator.host_vars = {}  # fresh as Windows ships: the Containers feature off
    hosts = {name: {"sim_build": build} for name, build in BUILDS.items()}
    first = simulator.run(REPO / "playbooks" / "site.yml", hosts, *_extra(fake_github, tmp_path, NEW))
    assert first.rc == 0, first.stdout + first.stderr
    for host in hosts:
        state = simulator.state(host)
        assert state["features"]["Containers"] == "Enabled" and state["boot_id"] == 2, host  # one reboot
        assert _versions(simulator, host) == ("2.2.7", "0.24.0"), host
        assert [n["name"] for n in state["hns_networks"].values()] == ["nat"], host
        assert first.result(host)["digest"].startswith("sha256:"), host  # the smoke build, last task
    before = {host: _module_trips(simulator.state(host)) for host in hosts}

    second = simulator.run(REPO / "playbooks" / "site.yml", hosts, *_extra(fake_github, tmp_path, NEW))
    assert second.rc == 0, second.stdout + second.stderr
    for host in hosts:
        assert second.recap[host]["changed"] == 0, second.stdout
        state = simulator.state(host)
        assert state["boot_id"] == 2, host
        cost = {m: n - before[host].get(m, 0) for m, n in _module_trips(state).items() if n - before[host].get(m, 0)}
        ours = {m: n for m, n in cost.items() if m.startswith("wcow.buildkit.")}
        # The budget: one round trip per module call on a converged host; no smoke build (smoke_test_when: changed).
        assert ours == {"wcow.buildkit.win_containerd": 1, "wcow.buildkit.win_container_network": 1,
                        "wcow.buildkit.win_buildkitd": 1}, (host, cost)
        assert "raw" not in cost, (host, cost)  # no reboot


def _comparable(state: dict) -> dict:
    """The whole simulated host but for the double's counters (stats) and the tables a read creates empty."""
    return {k: v for k, v in state.items() if k != "stats" and v not in ({}, [], None)}


def test_site_in_check_mode_changes_nothing_on_a_fresh_host(simulator, fake_github, tmp_path):
    simulator.host_vars = {}
    hosts = {name: {"sim_build": build} for name, build in BUILDS.items() if name in ("ws2019", "win11")}
    run = simulator.run(REPO / "playbooks" / "site.yml", hosts, *_extra(fake_github, tmp_path, NEW), check=True)
    assert run.rc == 0, run.stdout + run.stderr
    # Without the feature there is no HNS yet: networking says what it assumes instead of failing the check.
    assert "no Host Networking Service" in run.stderr and "check mode assumes the nat network" in run.stderr
    for host in hosts:
        # It did look (the modules read the host) and reported what a real run would change...
        assert run.recap[host]["changed"] >= 4, run.stdout
        assert simulator.state(host)["stats"]["round_trips"] > 0
        # ...and the host is, key for key, the one Windows shipped (files, services, registry, features, HNS, ...).
        assert _comparable(simulator.state(host)) == _comparable(new_state(BUILDS[host])), host


def test_removing_one_daemon_keeps_the_scratch_folder_another_still_uses(simulator, fake_github, tmp_path):
    hosts = {"b1": {}}
    _site(simulator, fake_github, tmp_path, hosts)
    play = simulator.playbook(json.dumps([{"hosts": "windows_builders", "gather_facts": False, "roles": [
        {"role": "wcow.buildkit.buildkitd", "vars": {"buildkitd_state": "absent", "buildkitd_purge": True}}]}]),
        "remove-buildkitd.yml")
    run = simulator.run(play, hosts, *_extra(fake_github, tmp_path, OLD))
    assert run.rc == 0, run.stdout + run.stderr
    state = simulator.state("b1")
    staged = sorted(f for f in state["files"] if f.startswith("c:\\programdata\\wcow.buildkit\\artifacts\\"))
    # buildkit's archive went; containerd's and the CNI plugins' stay staged, and so does their folder.
    assert staged and not any("buildkit-v" in f for f in staged), staged
    assert "c:\\programdata\\wcow.buildkit\\artifacts" in state["dirs"]
