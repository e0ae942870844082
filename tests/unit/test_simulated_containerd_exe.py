"""The simulated containerd.exe loads its config like the real one (cmd/containerd/command/main.go)."""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "simulated"))

from wcow_sim.containerd import containerd_exe, sc_exe  # noqa: E402
from wcow_sim.host import Host  # noqa: E402
from wcow_sim.state import new_state  # noqa: E402

EXE = r"C:\Program Files\containerd\bin\containerd.exe"
CONFIG = r"C:\Program Files\containerd\config.toml"


def _host(version: str, config: str | None) -> Host:
    host = Host("h", new_state())
    host.write_file(EXE, f"SIMULATED-EXE containerd {version}".encode())
    if config is not None:
        host.write_file(CONFIG, config.encode())
    return host


@pytest.mark.parametrize("version, config, error", [
    ("1.7.29", "version = 3\n", "unsupported config version `3`"),
    ("2.1.5", "version = 4\n", "expected containerd config version equal to or less than `3`, got `4`"),
    ("2.1.5", "version = 3\nroot = 5\n", "toml: cannot decode TOML integer into struct field config.Config.Root of type string"),
    ("1.7.29", "version = 2\n[plugins.cri]\n", 'invalid plugin key URI "cri" expect io.containerd.x.vx'),
    ("2.1.5", "version = 3\ndisabled_plugins = ['cri']\n", 'invalid disabled plugin URI "cri"'),
    ("2.1.5", "version = 3\n[grpc\n", "failed to load TOML from"),
])
def test_register_refuses_what_the_binary_refuses(version, config, error):
    host = _host(version, config)
    rc, _out, err = containerd_exe(host, EXE, ["--register-service", "--config", CONFIG])
    assert rc == 1 and error in err and host.service("containerd") is None
    rc, _out, err = containerd_exe(host, EXE, ["--config", CONFIG, "config", "dump"])
    assert rc == 1 and error in err


def test_unregister_loads_the_default_config_too():
    host = _host("2.1.5", "version = 3\n")
    assert containerd_exe(host, EXE, ["--register-service"])[0] == 0
    host.write_file(CONFIG, b"version = 4\n")
    rc, _out, err = containerd_exe(host, EXE, ["--unregister-service"])
    assert rc == 1 and "got `4`" in err and host.service("containerd") is not None
    assert sc_exe(host, r"C:\Windows\System32\sc.exe", ["delete", "containerd"])[0] == 0  # sc.exe reads no config
    assert host.service("containerd") is None
    assert sc_exe(host, r"C:\Windows\System32\sc.exe", ["delete", "containerd"])[0] == 1060


def test_register_creates_root_and_state_and_needs_an_explicit_config_to_exist():
    host = _host("2.1.5", "version = 3\nroot = 'D:\\r'\nstate = 'D:\\s'\n")
    assert containerd_exe(host, EXE, ["--register-service", "--config", CONFIG])[0] == 0
    assert host.is_dir(r"D:\r") and host.is_dir(r"D:\s")
    rc, _out, err = containerd_exe(host, EXE, ["--register-service", "--service-name", "b", "--config", r"C:\nope.toml"])
    assert rc == 1 and "cannot find the file" in err
    assert containerd_exe(_host("2.1.5", None), EXE, ["--config", r"C:\nope.toml", "config", "dump"])[0] == 0
    assert containerd_exe(_host("1.7.29", None), EXE, ["--config", r"C:\nope.toml", "config", "dump"])[0] == 1


@pytest.mark.parametrize("version, config, migrated_from", [
    ("2.3.4", "version = 3\n", 3),
    ("2.2.7", "version = 2\n", 2),
    ("2.3.4", "version = 4\n", None),
    ("2.1.5", "version = 3\n", None),
    ("1.7.29", "version = 2\n", None),
])
def test_a_start_migrates_an_older_config_in_memory_and_logs_it(version, config, migrated_from):
    host = _host(version, config)
    log = r"C:\ProgramData\containerd\containerd.log"
    host.make_dir(r"C:\ProgramData\containerd")
    assert containerd_exe(host, EXE, ["--register-service", "--config", CONFIG, "--log-file", log])[0] == 0
    assert host.start_service("containerd") is True
    text = host.read_bytes(log).decode()
    expected = (f"Configuration migrated from version {migrated_from}, use `containerd config migrate` to avoid migration"
                if migrated_from else None)
    assert (expected in text) if expected else ("Configuration migrated" not in text)
    assert host.read_bytes(CONFIG).decode() == config  # migrated in memory only: the file is never rewritten
