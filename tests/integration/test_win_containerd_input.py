"""Issue 14: what a new user trips over gets a message naming the option and the fix; the host is unchanged."""

from __future__ import annotations

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
