# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 8: every release series, schema 4 (containerd 2.3) placement, newer-than-known releases."""
from __future__ import annotations

import tomllib

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _containerd_config as cc

PIPE = "\\\\.\\pipe\\containerd-builder"
GRPC4 = "io.containerd.server.v1.grpc"
IMAGES = "io.containerd.cri.v1.images"
RUNTIME = "io.containerd.cri.v1.runtime"
CRI = "io.containerd.grpc.v1.cri"

# Where each series reads each override: (release, overrides, key path in the rendered file).
OVERRIDE_PLACES = []
for _release in ("2.0.11", "2.1.9", "2.2.7", "2.3.4"):
    OVERRIDE_PLACES += [
        (_release, {"plugins": {IMAGES: {"pinned_images": {"sandbox": "pause:x"}}}},
         ("plugins", IMAGES, "pinned_images", "sandbox"), "pause:x"),
        (_release, {"plugins": {IMAGES: {"registry": {"config_path": "D:\\certs"}}}},
         ("plugins", IMAGES, "registry", "config_path"), "D:\\certs"),
        (_release, {"plugins": {RUNTIME: {"cni": {"conf_dir": "D:\\cni"}}}},
         ("plugins", RUNTIME, "cni", "conf_dir"), "D:\\cni"),
        (_release, {"root": "D:\\root", "state": "D:\\state"}, ("root",), "D:\\root"),
        (_release, {"plugins": {IMAGES: {"max_concurrent_downloads": 7}}},
         ("plugins", IMAGES, "max_concurrent_downloads"), 7),
    ]
OVERRIDE_PLACES += [
    ("1.7.34", {"plugins": {CRI: {"sandbox_image": "pause:x"}}}, ("plugins", CRI, "sandbox_image"), "pause:x"),
    ("1.7.34", {"plugins": {CRI: {"registry": {"config_path": "D:\\certs"}}}},
     ("plugins", CRI, "registry", "config_path"), "D:\\certs"),
    ("1.7.34", {"plugins": {CRI: {"cni": {"conf_dir": "D:\\cni"}}}}, ("plugins", CRI, "cni", "conf_dir"), "D:\\cni"),
    ("1.7.34", {"plugins": {CRI: {"max_concurrent_downloads": 7}}}, ("plugins", CRI, "max_concurrent_downloads"), 7),
]


def _get(config, path):
    for key in path:
        config = config[key]
    return config


@pytest.mark.parametrize("release, overrides, path, value", OVERRIDE_PLACES)
def test_overrides_land_where_the_series_reads_them(release, overrides, path, value):
    assert cc.check_overrides(release, overrides) == []
    assert _get(tomllib.loads(cc.render(release, overrides)), path) == value


@pytest.mark.parametrize("release, overrides, expected", [
    ("1.7.34", {"grpc": {"address": PIPE}}, PIPE),
    ("2.2.7", {"grpc": {"address": PIPE}}, PIPE),
    ("2.3.4", {"plugins": {GRPC4: {"address": PIPE}}}, PIPE),
    ("2.3.4", None, "\\\\.\\pipe\\containerd-containerd"),
    ("2.1.9", None, "\\\\.\\pipe\\containerd-containerd"),
])
def test_grpc_address_is_read_where_the_target_schema_keeps_it(release, overrides, expected):
    config = tomllib.loads(cc.render(release, overrides))
    assert cc.grpc_address(config, release) == expected
    assert cc.grpc_address(config) == expected  # from the file's own version key


def test_schema3_grpc_address_is_refused_for_2_3_naming_the_schema4_place():
    errors = cc.check_overrides("2.3.4", {"grpc": {"address": PIPE}})
    assert errors == [
        "config.grpc.address is where containerd 2.2 and older (config version 3 or 2) keep this setting; "
        "containerd 2.3.4 reads config version 4, where it is plugins.\"io.containerd.server.v1.grpc\".address. "
        "Move the value there."]
    with pytest.raises(cc.ContainerdConfigError, match="io.containerd.server.v1.grpc"):
        cc.render("2.3.4", {"grpc": {"address": PIPE}})


@pytest.mark.parametrize("given, home", [
    ({"grpc": {"tcp_address": "0.0.0.0:1"}}, 'plugins."io.containerd.server.v1.grpc-tcp".address'),
    ({"ttrpc": {"address": "x"}}, 'plugins."io.containerd.server.v1.ttrpc".address'),
    ({"debug": {"address": "x"}}, 'plugins."io.containerd.server.v1.debug".address'),
    ({"metrics": {"address": "127.0.0.1:1338"}}, 'plugins."io.containerd.server.v1.metrics".address'),
])
def test_other_schema3_server_keys_are_refused_for_2_3(given, home):
    errors = cc.check_overrides("2.3.4", given)
    assert len(errors) == 1 and f"where it is {home}." in errors[0]


def test_debug_level_stays_top_level_in_schema_4():
    assert cc.check_overrides("2.3.4", {"debug": {"level": "debug"}}) == []


@pytest.mark.parametrize("release, schema", [("2.2.7", 3), ("2.1.9", 3), ("1.7.34", 2)])
def test_schema4_grpc_address_is_refused_for_older_targets_naming_the_old_place(release, schema):
    errors = cc.check_overrides(release, {"plugins": {GRPC4: {"address": PIPE}}})
    assert errors == [
        f"config.plugins.\"io.containerd.server.v1.grpc\".address is where containerd 2.3 and later (config version 4) "
        f"keep this setting; containerd {release} reads config version {schema}, where it is grpc.address. "
        "Move the value there."]


def test_schema2_cri_keys_are_refused_for_2_3_too():
    errors = cc.check_overrides("2.3.4", {"plugins": {CRI: {"sandbox_image": "pause:x"}}})
    assert len(errors) == 1 and "reads config version 4" in errors[0] and "pinned_images.sandbox" in errors[0]


@pytest.mark.parametrize("release", ["2.4.0", "3.1.2"])
def test_release_newer_than_known_renders_newest_defaults_with_a_warning(release):
    assert cc.render(release, None) == cc.render("2.3.4", None)
    warning = cc.newer_series_warning(release)
    assert warning is not None and f"containerd {release} is newer" in warning and "containerd 2.3 defaults" in warning


@pytest.mark.parametrize("release", ["1.7.34", "2.0.0", "2.2.7", "2.3.4", "2.3.9"])
def test_known_series_have_no_warning(release):
    assert cc.newer_series_warning(release) is None


def test_2_2_adds_conf_d_imports_and_2_3_has_a_newer_pause_image():
    assert tomllib.loads(cc.render("2.2.7", None))["imports"] == ["C:\\Program Files\\containerd\\conf.d\\*.toml"]
    assert cc.sandbox_image(cc.default_config("2.3.4"), "2.3.4") == "registry.k8s.io/pause:3.10.2"
    assert cc.cni_dirs(cc.default_config("2.3.4"), "2.3.4")["bin_dirs"] == ["C:\\Program Files\\containerd\\cni\\bin"]
