# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""buildkitd.toml rendering: keys checked against buildkitd's Config struct, GC keys per version."""
from __future__ import annotations

import hashlib
import tomllib

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildkitd_config as bc
from ansible_collections.wcow.buildkit.plugins.plugin_utils import _buildkitd_flags as bf
from ansible_collections.wcow.buildkit.plugins.plugin_utils._buildkitd_config import BuildkitdConfigError

FULL = {
    "debug": True,
    "grpc": {"address": ["npipe:////./pipe/buildkitd", "tcp://0.0.0.0:1234"],
             "tls": {"cert": r"C:\ProgramData\buildkitd\tls\cert.pem", "key": r"C:\ProgramData\buildkitd\tls\key.pem",
                     "ca": r"C:\ProgramData\buildkitd\tls\ca.pem"}},
    "worker": {"containerd": {
        "address": r"\\.\pipe\containerd-containerd", "cniConfigPath": r"C:\cni\conf\0-containerd-nat.conf",
        "cniBinaryPath": r"C:\cni\bin", "gc": True, "reservedSpace": "10GB",
        "gcpolicy": [{"filters": ["type==exec.cachemount"], "keepDuration": "48h", "reservedSpace": "5GB"},
                     {"all": True, "reservedSpace": "20GB"}]}},
    "registry": {"docker.io": {"mirrors": ["mirror.example.com"]},
                 "registry.local:5000": {"http": True, "insecure": True, "ca": [r"C:\certs\local.pem"]}},
}


def test_full_config_round_trips_through_toml():
    rendered = bc.render_config("0.24.0", FULL)
    assert rendered.text.startswith(bc.HEADER)
    assert tomllib.loads(rendered.text) == FULL
    assert rendered.sha256 == hashlib.sha256(rendered.text.encode("utf-8")).hexdigest()
    assert '[registry."registry.local:5000"]' in rendered.text
    assert rendered.warnings == ()


def test_digest_ignores_key_order_and_none():
    reordered = {"registry": FULL["registry"], "worker": FULL["worker"], "grpc": FULL["grpc"], "debug": True,
                 "root": None}
    assert bc.render_config("0.24.0", reordered).sha256 == bc.render_config("0.24.0", FULL).sha256
    assert bc.render_config("0.24.0", {**FULL, "debug": False}).sha256 != bc.render_config("0.24.0", FULL).sha256


@pytest.mark.parametrize("version, worker, policy", [
    ("0.13.2", {"gckeepstorage": "10GB"}, {"keepBytes": "5GB"}),
    ("0.16.9", {"gckeepstorage": "10GB"}, {"keepBytes": "5GB"}),
    ("0.17.0", {"reservedSpace": "10GB"}, {"reservedSpace": "5GB"}),
    ("0.32.2", {"reservedSpace": "10GB"}, {"reservedSpace": "5GB"}),
])
@pytest.mark.parametrize("spelling", ["new", "old"])
def test_gc_keys_follow_the_target_version(version, worker, policy, spelling):
    keys = ("reservedSpace", "reservedSpace") if spelling == "new" else ("gckeepstorage", "keepBytes")
    config = {"worker": {"containerd": {"gc": True, keys[0]: "10GB", "gcpolicy": [{"all": True, keys[1]: "5GB"}]}}}
    rendered = bc.render_config(version, config)
    written = tomllib.loads(rendered.text)["worker"]["containerd"]
    assert {k: v for k, v in written.items() if k not in ("gc", "gcpolicy")} == worker
    assert {k: v for k, v in written["gcpolicy"][0].items() if k != "all"} == policy
    renamed = spelling == "old" and bc._version(version) >= bc.GC_SPACE_KEYS_SINCE
    assert bool(rendered.warnings) == renamed


@pytest.mark.parametrize("config, message", [
    ({"worker": {"containerd": {"maxUsedSpace": "50GB"}}},
     r"config\.worker\.containerd\.maxUsedSpace: buildkit 0\.16\.1 has no 'maxUsedSpace'; 0\.17\.0 or later"),
    ({"worker": {"containerd": {"gcpolicy": [{"minFreeSpace": "10%"}]}}},
     r"config\.worker\.containerd\.gcpolicy\[0\]\.minFreeSpace: buildkit 0\.16\.1 has no"),
    ({"cdi": {"disabled": True}}, r"config\.cdi: buildkit 0\.16\.1 has no CDI support; 0\.20\.0"),
])
def test_keys_an_old_version_lacks_name_the_version_needed(config, message):
    with pytest.raises(BuildkitdConfigError, match=message):
        bc.render_config("0.16.1", config)
    bc.render_config("0.20.2", config)  # fine once the version has it


@pytest.mark.parametrize("config, message", [
    ({"regsitry": {}}, r"config\.regsitry: unknown key; did you mean 'registry'\?"),
    ({"GRPC": {}}, r"config\.GRPC: unknown key; did you mean 'grpc'\?"),
    ({"workers": {}}, r"config\.workers: unknown key; did you mean 'worker'\?"),
    ({"nonsense": 1}, r"config\.nonsense: unknown key; valid keys here: cdi, debug"),
    ({"grpc": {"adress": []}}, r"config\.grpc\.adress: unknown key; did you mean 'address'\?"),
    ({"worker": {"containerd": {"cniConfigpath": "x"}}}, r"did you mean 'cniConfigPath'\?"),
    ({"worker": {"oci": {"enabled": True}}}, r"config\.worker\.oci: Windows builds have only the containerd worker"),
    ({"registry": {"docker.io": {"mirror": ["m"]}}}, r'config\.registry\."docker\.io"\.mirror: unknown key; did you mean '
                                                     r"'mirrors'\?"),
    ({"registry": {"docker.io": {"http": "yes"}}}, r'config\.registry\."docker\.io"\.http must be a boolean, not a string'),
    ({"grpc": {"address": "tcp://0.0.0.0:1234"}}, r"config\.grpc\.address must be a list, not a string"),
    ({"worker": {"containerd": {"reservedSpace": "lots"}}}, r"must be bytes \(an integer\) or a size such as '10GB'"),
    ({"worker": {"containerd": {"gcpolicy": [{"keepDuration": "2 days"}]}}}, r"keepDuration must be seconds"),
    ({"worker": {"containerd": {"cniPoolSize": True}}}, r"cniPoolSize must be an integer, not a boolean"),
    ({"worker": {"containerd": {"gckeepstorage": 1, "reservedSpace": 2}}}, r"give 'reservedSpace' or 'gckeepstorage', not both"),
    ({"dns": "1.1.1.1"}, r"config\.dns must be a table \(dictionary\), not a string"),
])
def test_bad_config_is_refused_naming_the_key(config, message):
    with pytest.raises(BuildkitdConfigError, match=message):
        bc.render_config("0.24.0", config)


def test_not_a_dict_and_bad_version():
    assert bc.check_config("0.24.0", ["debug"]) == ["config must be a dictionary of buildkitd.toml settings, not a list."]
    with pytest.raises(BuildkitdConfigError, match="version: buildkit version 'latest' is not a version number"):
        bc.render_config("latest", {})


def test_every_error_is_reported_at_once():
    errors = bc.check_config("0.24.0", {"regsitry": {}, "grpc": {"adress": []}})
    assert len(errors) == 2


def test_empty_config_is_just_the_header():
    assert bc.render_config("0.24.0", None).text == bc.HEADER


def test_settings_a_flag_overrides_are_named():
    argv = bf.register_argv("0.24.0", {"exe": r"C:\Program Files\buildkit\bin\buildkitd.exe"})
    warnings = bc.shadowed_by_flags(FULL, argv)
    assert [w.split(" ")[0] for w in warnings] == ["config.grpc.address", "config.worker.containerd.address"]
    assert "--addr" in warnings[0]
