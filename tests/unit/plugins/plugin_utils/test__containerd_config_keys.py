# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 14, item 1: keys containerd would silently ignore are refused, with the nearest valid name."""
from __future__ import annotations

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _containerd_config as cc

IMAGES = "io.containerd.cri.v1.images"
RUNTIME = "io.containerd.cri.v1.runtime"
CRI = "io.containerd.grpc.v1.cri"


@pytest.mark.parametrize("version, overrides, named, hint", [
    ("2.1.5", {"plugins": {IMAGES: {"pinned_image": {"sandbox": "x"}}}},
     f'config.plugins."{IMAGES}".pinned_image', "did you mean 'pinned_images'?"),
    ("2.3.4", {"plugins": {IMAGES: {"pinned_image": {"sandbox": "x"}}}},
     f'config.plugins."{IMAGES}".pinned_image', "did you mean 'pinned_images'?"),
    ("2.1.5", {"sandbox": "foo"}, "config.sandbox",
     f'it is a setting at plugins."{IMAGES}".pinned_images.sandbox.'),
    ("1.7.29", {"plugins": {CRI: {"sandbox_imag": "x"}}}, f'config.plugins."{CRI}".sandbox_imag',
     "did you mean 'sandbox_image'?"),
    ("2.2.7", {"plugins": {IMAGES: {"max_concurent_downloads": 2}}},
     f'config.plugins."{IMAGES}".max_concurent_downloads', "did you mean 'max_concurrent_downloads'?"),
    ("2.1.5", {"debug": {"levle": "debug"}}, "config.debug.levle", "did you mean 'level'?"),
    ("2.1.5", {"plugins": {RUNTIME: {"containerd": {"runtimes": {"mine": {"runtime_typ": "x"}}}}}},
     f'config.plugins."{RUNTIME}".containerd.runtimes.mine.runtime_typ', "did you mean 'runtime_type'?"),
    ("2.0.11", {"rot": "D:\\containerd"}, "config.rot", "did you mean 'root'?"),
])
def test_a_key_containerd_would_ignore_is_refused_with_the_nearest_name(version, overrides, named, hint):
    errors = cc.check_overrides(version, overrides)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{named} is not a setting containerd {version} has in ")
    assert hint in errors[0] and "containerd ignores unknown keys" in errors[0]
    with pytest.raises(cc.ContainerdConfigError, match="config_extra_keys"):
        cc.render(version, overrides)


@pytest.mark.parametrize("version, overrides", [
    # maps whose keys are the user's names, not settings
    ("2.1.5", {"plugins": {IMAGES: {"pinned_images": {"my-pause": "registry.example/pause:1"}}}}),
    ("2.1.5", {"plugins": {RUNTIME: {"containerd": {"runtimes": {
        "mine": {"runtime_type": "io.containerd.runhcs.v1", "options": {"Anything": 1}}}}}}}),
    ("2.3.4", {"timeouts": {"io.containerd.timeout.something.new": "5s"}}),
    ("1.7.29", {"plugins": {CRI: {"registry": {"mirrors": {"docker.io": {"endpoint": ["https://m.example"]}}}}}}),
    # deprecated settings containerd 2.x still reads but `config default` does not print
    ("2.1.5", {"plugins": {IMAGES: {"registry": {"mirrors": {"docker.io": {"endpoint": ["https://m.example"]}}}}}}),
    ("2.2.7", {"proxy_plugins": {"stargz": {"type": "snapshot", "address": "\\\\.\\pipe\\stargz"}}}),
    # a table the defaults show empty: nothing to compare with
    ("2.1.5", {"plugins": {"io.containerd.tracing.processor.v1.otlp": {"endpoint": "127.0.0.1:4317"}}}),
    # removing a key is never a typo that changes behaviour
    ("2.1.5", {"plugins": {"io.containerd.nri.v1.nri": None}}),
])
def test_names_of_the_users_own_and_keys_containerd_reads_are_accepted(version, overrides):
    assert cc.check_overrides(version, overrides) == []


def test_the_user_can_vouch_for_a_key_containerd_does_not_list():
    overrides = {"plugins": {IMAGES: {"future_setting": True}}}
    assert len(cc.check_overrides("2.1.5", overrides)) == 1
    vouched = [f'plugins."{IMAGES}".future_setting']
    assert cc.check_overrides("2.1.5", overrides, vouched) == []
    assert "future_setting = true" in cc.render("2.1.5", overrides, vouched)


def test_an_unknown_plugin_table_is_written_with_a_warning():
    overrides = {"plugins": {"io.containerd.snapshotter.v1.mine": {"root_path": "D:\\snap"},
                             "io.containerd.gc.v1.schedular": {"pause_threshold": 0.05}}}
    assert cc.check_overrides("2.1.5", overrides) == []
    warnings = cc.config_warnings("2.1.5", overrides)
    assert len(warnings) == 2
    assert all("lists no plugin" in w for w in warnings)
    mine, typo = warnings
    assert "did you mean" not in mine  # a plugin of the user's own is not a near miss
    assert "did you mean 'io.containerd.gc.v1.scheduler'?" in typo
    assert 'root_path = "D:\\\\snap"' in cc.render("2.1.5", overrides)


def test_a_key_explained_by_a_schema_check_is_not_reported_twice():
    errors = cc.check_overrides("2.3.4", {"grpc": {"address": "\\\\.\\pipe\\x"}})
    assert len(errors) == 1 and "io.containerd.server.v1.grpc" in errors[0]
    errors = cc.check_overrides("2.0.11", {"plugins": {RUNTIME: {"cni": {"bin_dirs": ["D:\\cni"]}}}})
    assert len(errors) == 1 and "needs containerd 2.1 or later" in errors[0]
