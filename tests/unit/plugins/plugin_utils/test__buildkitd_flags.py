# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""buildkitd flags by version, checked against the real --help of each captured release."""
from __future__ import annotations

import pathlib

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildkitd_flags as bf
from ansible_collections.wcow.buildkit.plugins.plugin_utils._buildkitd_flags import (
    BuildkitdFlagsError, BuildkitdVersionError)

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "buildkitd"
EXE = r"C:\Program Files\buildkit\bin\buildkitd.exe"
TLS = {"cert": r"C:\ProgramData\buildkitd\tls\cert.pem", "key": r"C:\ProgramData\buildkitd\tls\key.pem",
       "ca": r"C:\ProgramData\buildkitd\tls\ca.pem"}
CNI = {"config_path": r"C:\Program Files\containerd\cni\conf\0-containerd-nat.conf",
       "binary_dir": r"C:\Program Files\containerd\cni\bin"}


def help_text(version: str) -> str:
    return (FIXTURES / f"buildkitd-{version}-help.txt").read_text()


def _value(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


@pytest.mark.parametrize("version", bf.KNOWN_VERSIONS)
def test_table_agrees_with_each_captured_help(version):
    assert bf.available_flags(version) == bf.flags_from_help(help_text(version))


@pytest.mark.parametrize("version", bf.KNOWN_VERSIONS)
def test_version_output_is_parsed(version):
    assert bf.version_from_output((FIXTURES / f"buildkitd-{version}-version.txt").read_text()) == version


@pytest.mark.parametrize("version", bf.KNOWN_VERSIONS)
def test_full_argv_uses_only_flags_that_help_lists(version):
    options = {"exe": EXE, "log_file": r"C:\ProgramData\buildkitd\buildkitd.log", "debug": True,
               "tcp": "0.0.0.0:1234", "tls": TLS, "allowed_groups": ["docker-users", "builders"], "cni": CNI,
               "root": r"D:\buildstate"}
    argv = bf.register_argv(version, options)
    listed = bf.flags_from_help(help_text(version))
    assert [a for a in argv if a.startswith("--") and a not in listed] == []
    assert argv[:4] == [EXE, "--register-service", "--service-name", "buildkitd"]
    assert _value(argv, "--addr") == ["npipe:////./pipe/buildkitd", "tcp://0.0.0.0:1234"]
    assert _value(argv, "--group") == ["docker-users,builders"]
    assert _value(argv, "--config") == [bf.DEFAULT_CONFIG]
    assert _value(argv, "--containerd-cni-config-path") == [CNI["config_path"]]
    assert _value(argv, "--tlscacert") == [TLS["ca"]]
    # the same argv when the planner passes the installed binary's own help
    assert bf.register_argv(version, options, help_text(version)) == argv


@pytest.mark.parametrize("version, cdi_flag", [("0.13.2", None), ("0.18.2", None), ("0.20.2", "--cdi-disabled"),
                                               ("0.24.0", "--cdi-disabled"), ("0.32.2", "--cdi-disabled")])
def test_cdi_is_disabled_from_0_20_so_no_warning_is_left(version, cdi_flag):
    argv = bf.register_argv(version, {"exe": EXE})
    assert ("--cdi-disabled" in argv) == bool(cdi_flag)
    assert bf.required_dirs(version, {"exe": EXE}) == []


def test_log_folder_must_exist_before_start():
    assert bf.required_dirs("0.13.2", {"log_file": r"C:\ProgramData\buildkitd\logs\b.log"}) == [
        r"C:\ProgramData\buildkitd\logs"]


@pytest.mark.parametrize("version, message", [
    ("0.13.1", r"allowed_groups: buildkit 0\.13\.1 does not apply --group to its named pipe; 0\.13\.2 or later"),
    ("0.12.5", r"version: buildkit 0\.12\.5 cannot run as a Windows service; 0\.13\.0 or later"),
])
def test_groups_on_an_old_version_fail_naming_both_versions(version, message):
    with pytest.raises(BuildkitdVersionError, match=message):
        bf.register_argv(version, {"exe": EXE, "allowed_groups": ["docker-users"]})


@pytest.mark.parametrize("version", bf.KNOWN_VERSIONS)
def test_hyperv_isolation_fails_on_every_known_release(version):
    with pytest.raises(BuildkitdVersionError, match=rf"hyperv_isolation: buildkit {version} has no Hyper-V"):
        bf.register_argv(version, {"exe": EXE, "hyperv_isolation": True}, help_text(version))


def test_hyperv_isolation_passes_once_the_installed_help_lists_it():
    future = help_text("0.32.2").replace(
        "   --containerd-worker-gc ",
        "   --containerd-worker-hyperv-isolation  use Hyper-V isolation\n   --containerd-worker-gc ")
    argv = bf.register_argv("0.33.0", {"exe": EXE, "hyperv_isolation": True}, future)
    assert argv[-1] == bf.HYPERV_FLAG
    with pytest.raises(BuildkitdVersionError):  # without the help, the table knows no such flag
        bf.register_argv("0.33.0", {"exe": EXE, "hyperv_isolation": True})


@pytest.mark.parametrize("options, message", [
    ({"tcp": "0.0.0.0:1234"}, r"tcp: a TCP listener needs TLS .* set tcp_insecure: true"),
    ({"tls": TLS}, r"tls: TLS applies to the TCP listener only"),
    ({"tcp": "0.0.0.0:1234", "tls": {"cert": TLS["cert"]}}, r"tls: key, ca missing"),
    ({"tcp": "0.0.0.0:99999", "tls": TLS}, r"tcp: '0\.0\.0\.0:99999' is not a listen address"),
    ({"tcp": "1234", "tls": TLS}, r"tcp: '1234' is not a listen address"),
    ({"log_file": r"logs\b.log"}, r"log_file: 'logs\\\\b\.log' is not an absolute Windows path"),
    ({"config": "buildkitd.toml"}, r"config: 'buildkitd\.toml' is not an absolute"),
    ({"allowed_groups": ["a,b"]}, r"allowed_groups: 'a,b' is not a local group name"),
    ({"allowed_groups": [""]}, r"allowed_groups: '' is not a local group name"),
    ({"cni": {"config_path": CNI["config_path"]}}, r"cni: give both config_path and binary_dir"),
    ({"cni": "C:\\cni"}, r"cni: give a dictionary"),
    ({"tcp": "0.0.0.0:1234", "tls": ["a"]}, r"tls: give a dictionary"),
])
def test_bad_requests_are_named(options, message):
    with pytest.raises(BuildkitdFlagsError, match=message):
        bf.register_argv("0.24.0", {"exe": EXE, **options})


def test_tcp_insecure_listens_without_tls():
    argv = bf.register_argv("0.24.0", {"exe": EXE, "tcp": "tcp://10.0.0.5:1234", "tcp_insecure": True})
    assert _value(argv, "--addr")[-1] == "tcp://10.0.0.5:1234" and "--tlscert" not in argv


def test_pipe_only_install_is_minimal():
    assert bf.register_argv("0.24.0", {"exe": EXE}) == [
        EXE, "--register-service", "--service-name", "buildkitd", "--config", bf.DEFAULT_CONFIG,
        "--addr", "npipe:////./pipe/buildkitd", "--containerd-worker-addr", r"\\.\pipe\containerd-containerd",
        "--cdi-disabled"]


def test_docker_engine_containerd_is_passed():
    argv = bf.register_argv("0.18.2", {"exe": EXE, "containerd_address": r"\\.\pipe\docker-containerd"})
    assert _value(argv, "--containerd-worker-addr") == [r"\\.\pipe\docker-containerd"]


@pytest.mark.parametrize("version, moved", [("0.20.2", False), ("0.21.9", False), ("0.22.0", True), ("0.24.0", True)])
def test_cni_defaults_move_in_0_22(version, moved):
    defaults = bf.cni_defaults(version)
    assert defaults["config_path"].startswith(r"C:\Program Files\containerd") == moved
    help_version = {"0.20.2": "0.20.2", "0.24.0": "0.24.0"}.get(version)
    if help_version:  # the captured help states the same default
        assert defaults["config_path"].replace("\\", "\\\\") in help_text(help_version)


@pytest.mark.parametrize("version, fixed", [("0.13.2", "0.31.2"), ("0.30.1", "0.31.2"), ("0.31.1", "0.31.2"),
                                            ("0.31.2", None), ("0.32.0", None), ("0.32.2", None), ("0.40.0", None)])
def test_security_fix_warning_names_the_fixed_version(version, fixed):
    warnings = bf.security_warnings(version)
    if fixed is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and f"buildkit {version} predates a security fix" in warnings[0]
        assert f"Install {fixed} or later" in warnings[0] and "cache mount" in warnings[0]


@pytest.mark.parametrize("text", ["latest", "0.13", "", "v0.x.1"])
def test_bad_version_is_named(text):
    with pytest.raises(BuildkitdFlagsError, match="is not a version number"):
        bf.parse_version(text)
