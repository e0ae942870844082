"""The networking role between containerd and buildkitd: shared CNI folders, buildkitd on the cni network."""

from __future__ import annotations

import base64
import json
import tomllib

import pytest

CONF = r"C:\Program Files\containerd\cni\conf\0-containerd-nat.conf"
BIN = r"C:\Program Files\containerd\cni\bin"


def _play(fake_github, tmp_path, containerd_version="2.1.5", networking=None, play_vars=None):
    common = fake_github.options(cache_dir=str(tmp_path / "cache"))

    def prefixed(prefix):
        return {f"{prefix}{k}": v for k, v in common.items()}
    return json.dumps([{
        "hosts": "windows_builders", "gather_facts": False, "vars": play_vars or {},
        "roles": [
            {"role": "wcow.buildkit.containerd", "vars": {"containerd_version": containerd_version,
                                                          **prefixed("containerd_")}},
            {"role": "wcow.buildkit.networking", "vars": {"networking_version": "0.3.1", **prefixed("networking_"),
                                                          **(networking or {})}},
            {"role": "wcow.buildkit.buildkitd", "vars": {"buildkitd_version": "0.24.0", **prefixed("buildkitd_")}},
        ],
    }])


def _state_file(state, path):
    return base64.b64decode(state["files"][path.lower()]["content"]).decode()


def _labels(state):
    return state["services"]["buildkitd"]["buildkitd"]["worker"]["labels"]


@pytest.mark.parametrize("containerd_version", ["1.7.29", "2.0.11", "2.3.4"])
def test_site_order_gives_buildkitd_the_cni_network_and_containerd_the_same_folders(
        simulator, fake_github, tmp_path, containerd_version):
    run = simulator.run(simulator.playbook(_play(fake_github, tmp_path, containerd_version)))
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert _labels(state)["org.mobyproject.buildkit.worker.network"] == "cni"
    line = state["services"]["buildkitd"]["command_line"]
    assert f'--containerd-cni-config-path "{CONF}"' in line and f'--containerd-cni-binary-dir "{BIN}"' in line
    config = tomllib.loads(_state_file(state, r"C:\Program Files\containerd\config.toml"))
    # Where each schema keeps them: 1.7 the CRI plugin's cni.bin_dir, 2.0 the runtime's bin_dir, 2.1+ bin_dirs.
    cri = "io.containerd.grpc.v1.cri" if containerd_version.startswith("1.") else "io.containerd.cri.v1.runtime"
    cni = config["plugins"][cri]["cni"]
    bins = cni["bin_dirs"] if containerd_version >= "2.1" else [cni["bin_dir"]]
    assert bins == [BIN] and cni["conf_dir"] == r"C:\Program Files\containerd\cni\conf"
    assert json.loads(_state_file(state, CONF))["type"] == "nat"


@pytest.mark.parametrize("containerd_version", ["1.7.29", "2.0.11", "2.3.4"])
def test_containerd_cni_set_once_moves_containerd_the_plugins_the_conf_and_buildkitd(
        simulator, fake_github, tmp_path, containerd_version):
    bin_dir, conf_dir = r"C:\cni\bin", r"C:\cni\conf"  # as group_vars would set it: once, for every role
    play = _play(fake_github, tmp_path, containerd_version,
                 play_vars={"containerd_cni": {"bin_dir": bin_dir, "conf_dir": conf_dir}})
    run = simulator.run(simulator.playbook(play))
    assert run.rc == 0, run.stdout
    state = simulator.state()
    config = tomllib.loads(_state_file(state, r"C:\Program Files\containerd\config.toml"))
    cri = "io.containerd.grpc.v1.cri" if containerd_version.startswith("1.") else "io.containerd.cri.v1.runtime"
    cni = config["plugins"][cri]["cni"]
    if containerd_version >= "2.1":  # bin_dir emptied: containerd 2.1+ refuses to start with both set
        assert cni["bin_dirs"] == [bin_dir] and cni["bin_dir"] == ""
    else:
        assert cni["bin_dir"] == bin_dir and "bin_dirs" not in cni
    assert cni["conf_dir"] == conf_dir
    conf = conf_dir + r"\0-containerd-nat.conf"
    assert json.loads(_state_file(state, conf))["type"] == "nat"
    assert (bin_dir + r"\nat.exe").lower() in state["files"]
    line = state["services"]["buildkitd"]["command_line"]
    # No space in these paths, so the frozen command line carries them unquoted.
    assert f"--containerd-cni-config-path {conf} " in line and f"--containerd-cni-binary-dir {bin_dir} " in line
    assert _labels(state)["org.mobyproject.buildkit.worker.network"] == "cni"
    assert not any(path.startswith(BIN.lower()) for path in state["files"])


def test_networking_off_gives_buildkitd_no_cni_flags(simulator, fake_github, tmp_path):
    run = simulator.run(simulator.playbook(_play(fake_github, tmp_path, networking={"networking_mode": "off"})))
    assert run.rc == 0, run.stdout
    state = simulator.state()
    assert "--containerd-cni" not in state["services"]["buildkitd"]["command_line"]
    assert _labels(state)["org.mobyproject.buildkit.worker.network"] == ""
