"""Issue 14: what a new user trips over gets a message naming the option and the fix; the host is unchanged."""

from __future__ import annotations

import json

import pytest

IMAGES = "io.containerd.cri.v1.images"


def _installed(converge, simulator):
    run = converge(version="2.1.5")[0]
    assert run.rc == 0, run.stdout
    state = simulator.state()
    state["events"] = []
    simulator.write_state(state)
    return state


@pytest.mark.parametrize("config, named, hint", [
    ({"plugins": {IMAGES: {"pinned_image": {"sandbox": "registry.example/pause:1"}}}},
     f'config.plugins."{IMAGES}".pinned_image', "did you mean 'pinned_images'?"),
    ("sandbox=foo", "config.sandbox", f'it is a setting at plugins."{IMAGES}".pinned_images.sandbox'),
])
def test_a_typo_inside_config_is_refused_and_nothing_changes(converge, simulator, config, named, hint):
    before = _installed(converge, simulator)
    run, result = converge(version="2.1.5", config=config)
    assert run.rc != 0
    assert result["msg"].startswith(f"wcow.buildkit.win_containerd: {named} is not a setting containerd 2.1.5 has")
    assert hint in result["msg"] and "config_extra_keys" in result["msg"]
    after = simulator.state()
    assert after["files"] == before["files"] and after["services"] == before["services"]
    assert after["events"] == []


def test_a_vouched_key_and_a_plugin_of_ones_own_are_written(converge, simulator):
    _installed(converge, simulator)
    config = {"plugins": {IMAGES: {"future_setting": True}, "io.containerd.snapshotter.v1.mine": {"root": "D:\\s"}}}
    run, result = converge(version="2.1.5", config=config,
                           config_extra_keys=[f'plugins."{IMAGES}".future_setting'])
    assert run.rc == 0, run.stdout
    assert result["changed"] is True
    assert "lists no plugin 'io.containerd.snapshotter.v1.mine'" in run.stdout + run.stderr


@pytest.mark.parametrize("version, nearest", [
    ("2.1.99", "Nearest published: 2.1.5"),
    ("2.5.0", "Nearest published: 2.3.4"),
    ("1.7.30", "Nearest published: 1.7.29, 1.7.6"),
])
def test_a_mistyped_version_says_the_release_does_not_exist_first(converge, simulator, version, nearest):
    before = _installed(converge, simulator)
    run, result = converge(version=version)
    assert run.rc != 0
    assert f"containerd {version} is not a published release of containerd/containerd" in result["msg"]
    assert nearest in result["msg"] and "verify_checksum" not in result["msg"]
    after = simulator.state()
    assert after["files"] == before["files"] and after["events"] == []


@pytest.mark.parametrize("features, found", [
    ({"Containers": "Available"}, "the Windows feature Containers is Disabled on this host"),
    ({"Containers": "EnablePending"}, "the Windows feature Containers is enabled but waits for a reboot"),
])
def test_a_host_without_the_containers_feature_is_refused(converge, simulator, features, found):
    simulator.host_vars = {"sim_features": features}
    run, result = converge(version="2.1.5")
    assert run.rc != 0
    assert found in result["msg"] and "wcow.buildkit.containers_feature role" in result["msg"]
    assert "require_containers_feature: false" in result["msg"]
    state = simulator.state()
    assert not state["services"] and not [e for e in state["events"] if not e.startswith("directory_ensure")]
    # allowed on purpose: installed, with the same explanation as a warning
    run, result = converge(version="2.1.5", require_containers_feature=False)
    assert run.rc == 0 and result["changed"] is True
    assert found in run.stdout + run.stderr


def test_check_mode_on_a_host_without_the_feature_warns(converge, simulator):
    simulator.host_vars = {"sim_features": {"Containers": "Available"}}
    run, result = converge(version="2.1.5", check=True)
    assert run.rc == 0 and result["changed"] is True
    assert "the Windows feature Containers is Disabled" in run.stdout + run.stderr


def test_a_running_containerd_skips_the_feature_query(converge, simulator):
    assert converge(version="2.1.5")[0].rc == 0
    state = simulator.state()
    state["features"]["Containers"] = "Available"  # not what DISM would say of a working host: proves no query ran
    simulator.write_state(state)
    run, result = converge(version="2.1.5")
    assert run.rc == 0 and result["changed"] is False


ROLE_PLAY = """
- hosts: windows_builders
  gather_facts: false
  roles:
    - wcow.buildkit.containerd
"""


@pytest.mark.parametrize("extra_vars, expected", [
    ({"containerd_start_timeout": -5},
     "start_timeout (role variable containerd_start_timeout) must be at least 1 second, got -5"),
    ({"containerd_install_dir": "containerd"},
     "install_dir (role variable containerd_install_dir) must be an absolute Windows path"),
    ({"containerd_version": "2.1.99"},
     "check version (role variable containerd_version)."),
    ({"containerd_config": {"sandbox": "foo"}},
     "config.sandbox (role variable containerd_config) is not a setting containerd"),
    ({"containerd_checksum": "sha256:" + "1" * 64, "containerd_verify_checksum": False},
     "verify_checksum (role variable containerd_verify_checksum) is false"),
    # The option is named where the message says what to change, not in the words "checksum mismatch".
    ({"containerd_cni": {"bin_dir": "cni\\bin"}},
     "cni.bin_dir (role variable containerd_cni) must be an absolute Windows path"),
    ({"containerd_checksum": "sha256:" + "1" * 64},
     "update checksum (role variable containerd_checksum); otherwise"),
])
def test_errors_through_the_role_name_the_role_variable(simulator, fake_github, tmp_path, extra_vars, expected):
    options = {f"containerd_{k}": v for k, v in fake_github.options(cache_dir=str(tmp_path / "cache")).items()}
    play = simulator.playbook(ROLE_PLAY)
    run = simulator.run(play, None, "-e", json.dumps({**options, **extra_vars}))
    assert run.rc != 0
    assert expected in run.result()["msg"], run.result()["msg"]
    state = simulator.state_dir / "sim-host.json"
    assert not state.exists() or simulator.state()["services"] == {}
