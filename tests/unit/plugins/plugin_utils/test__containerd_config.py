# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import copy
import pathlib
import tomllib

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _containerd_config as cc
from ansible_collections.wcow.buildkit.plugins.plugin_utils._containerd_config import ContainerdConfigError

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "containerd"
CAPTURED = ["1.7.29", "2.0.11", "2.1.5"]
CRI = "io.containerd.grpc.v1.cri"
IMAGES = "io.containerd.cri.v1.images"
RUNTIME = "io.containerd.cri.v1.runtime"
CNI_BIN = "C:\\Program Files\\containerd\\cni\\bin"
CNI_CONF = "C:\\Program Files\\containerd\\cni\\conf"


def fixture_text(version: str, what: str) -> str:
    return (FIXTURES / f"containerd-{version}-{what}.txt").read_text()


class TaggedStr(str):
    """Stands in for Ansible's tagged str (a str subclass carrying metadata)."""


class TaggedDict(dict):
    """Stands in for Ansible's tagged dict."""


# --- embedded defaults --------------------------------------------------------------------------

SHIPPED = pathlib.Path(cc.__file__).resolve().parent / "containerd_defaults"
# series -> (release captured, schema); the shipped file is that release's `containerd.exe config default`.
SERIES_TABLE = {"1.7": ("1.7.34", 2), "2.0": ("2.0.11", 3), "2.1": ("2.1.9", 3), "2.2": ("2.2.7", 3),
                "2.3": ("2.3.4", 4)}
PLATFORMS = ("plugins", "io.containerd.runtime.v2.task", "platforms")


def test_every_series_ships_a_defaults_file():
    assert sorted(p.stem for p in SHIPPED.glob("*.toml")) == sorted(SERIES_TABLE) == sorted(cc.SERIES)


@pytest.mark.parametrize("series", sorted(SERIES_TABLE))
def test_rendered_default_is_config_default_without_host_values(series):
    release, schema = SERIES_TABLE[series]
    captured = tomllib.loads((SHIPPED / f"{series}.toml").read_text())
    assert captured["version"] == schema
    rendered = tomllib.loads(cc.render(release, None))
    if series == "1.7":
        assert rendered == captured  # 1.7 writes nothing host-dependent
        return
    # The capture names the capturing machine's build; the rendered file leaves the key to the host's containerd.
    assert captured["plugins"]["io.containerd.runtime.v2.task"]["platforms"][0].startswith("windows(")
    assert "platforms" not in rendered["plugins"]["io.containerd.runtime.v2.task"]
    del captured["plugins"]["io.containerd.runtime.v2.task"]["platforms"]
    assert rendered == captured


@pytest.mark.parametrize("series", ["2.0", "2.1", "2.2", "2.3"])
def test_no_captured_os_build_reaches_any_host(series):
    text = cc.render(SERIES_TABLE[series][0], None)
    assert "windows(" not in text and "6.1.7601" not in text and "10.0.18362" not in text


def test_platforms_set_by_the_user_are_kept():
    value = ["windows(10.0.20348)/amd64"]
    text = cc.render("2.3.4", {"plugins": {"io.containerd.runtime.v2.task": {"platforms": value}}})
    assert tomllib.loads(text)["plugins"]["io.containerd.runtime.v2.task"]["platforms"] == value


def test_default_config_returns_a_fresh_dict():
    first = cc.default_config("2.1.5")
    first["root"] = "changed"
    assert cc.default_config("2.1.5")["root"] == "C:\\ProgramData\\containerd\\root"


# --- versions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("version, series, schema", [
    ("1.7.0", "1.7", 2),
    ("1.7.29", "1.7", 2),
    ("v1.7.34", "1.7", 2),
    ("2.0.0", "2.0", 3),
    ("2.0.11", "2.0", 3),
    ("2.1.0-rc.1", "2.1", 3),
    ("2.1.5", "2.1", 3),
    ("2.1", "2.1", 3),
    ("2.1.9", "2.1", 3),
    ("2.2.1", "2.2", 3),
    ("2.2.7", "2.2", 3),
    (" 2.3.0 ", "2.3", 4),
    ("2.3.4", "2.3", 4),
    ("2.4.0", "2.3", 4),
    ("3.0.0", "2.3", 4),
])
def test_version_picks_defaults_and_schema(version, series, schema):
    assert cc.default_series(version) == series
    assert cc.schema_version(version) == schema
    assert cc.default_config(version)["version"] == schema


UNSUPPORTED = (": wcow.buildkit renders config.toml for containerd 1.7.x and 2.0 or later (1.7, 2.0, 2.1, 2.2, 2.3 "
               "known); choose a version in that range.")
NOT_A_VERSION = " is not a version number; give it as a string like '2.1.5'."


@pytest.mark.parametrize("version, message", [
    ("1.6.24", "containerd 1.6.24 is not supported" + UNSUPPORTED),
    ("1.8.0", "containerd 1.8.0 is not supported" + UNSUPPORTED),
    ("0.2.1", "containerd 0.2.1 is not supported" + UNSUPPORTED),
    ("latest", "containerd version 'latest'" + NOT_A_VERSION),
    ("", "containerd version ''" + NOT_A_VERSION),
    (2.1, "containerd version 2.1" + NOT_A_VERSION),
    (None, "containerd version None" + NOT_A_VERSION),
])
@pytest.mark.parametrize("call", [
    cc.schema_version,
    cc.default_config,
    lambda v: cc.render(v, None),
    lambda v: cc.check_overrides(v, {}),
    lambda v: cc.sandbox_image({}, v),
    lambda v: cc.cni_dirs({}, v),
])
def test_unsupported_version_is_a_clear_error(version, message, call):
    with pytest.raises(ContainerdConfigError) as err:
        call(version)
    assert str(err.value) == message


@pytest.mark.parametrize("version", CAPTURED)
def test_parse_version_output_of_the_real_binaries(version):
    assert cc.parse_version_output(fixture_text(version, "version")) == version


@pytest.mark.parametrize("text, expected", [
    ("\ufeffcontainerd github.com/containerd/containerd/v2 v2.1.5 fcd43222d6b0\r\n", "2.1.5"),
    ("WARNING: something\ncontainerd github.com/containerd/containerd/v2 v2.2.0-rc.1 abc\n", "2.2.0-rc.1"),
    ("containerd containerd.io 1.7.22 7f7fdf5fed64eb6a7caf99b3e12efcf9d60e311c\n", "1.7.22"),
    ("containerd github.com/containerd/containerd v1.7.29\n", "1.7.29"),
    ("buildkitd github.com/moby/buildkit v0.13.2 596ef8f\n", None),
    ("containerd: command not found\n", None),
    ("", None),
    (None, None),
])
def test_parse_version_output(text, expected):
    assert cc.parse_version_output(text) == expected


# --- merge --------------------------------------------------------------------------------------

@pytest.mark.parametrize("base, overrides, expected", [
    pytest.param({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}, {"a": {"x": 1, "y": 3}}, id="tables-merge-by-key"),
    pytest.param({"a": {"b": {"c": 1, "d": 2}}}, {"a": {"b": {"c": 9}}}, {"a": {"b": {"c": 9, "d": 2}}},
                 id="deep-tables"),
    pytest.param({"a": 1}, {"a": "s"}, {"a": "s"}, id="scalar-replaces"),
    pytest.param({"a": [1, 2]}, {"a": [3]}, {"a": [3]}, id="array-replaced-not-appended"),
    pytest.param({"a": [{"x": 1}]}, {"a": [{"y": 2}]}, {"a": [{"y": 2}]}, id="array-of-tables-replaced"),
    pytest.param({"a": 1, "b": 2}, {"a": None}, {"b": 2}, id="none-removes"),
    pytest.param({"a": {"x": 1, "y": 2}}, {"a": {"x": None}}, {"a": {"y": 2}}, id="none-removes-nested"),
    pytest.param({"a": 1}, {"missing": None}, {"a": 1}, id="none-on-missing-is-noop"),
    pytest.param({}, {"new": {"x": 1, "gone": None}}, {"new": {"x": 1}}, id="new-table-drops-none"),
    pytest.param({"a": 1}, {"a": {"x": 1}}, {"a": {"x": 1}}, id="table-replaces-scalar"),
    pytest.param({"a": {"x": 1}}, {"a": 5}, {"a": 5}, id="scalar-replaces-table"),
    pytest.param({"a": {"x": 1}}, {"a": {}}, {"a": {"x": 1}}, id="empty-table-changes-nothing"),
    pytest.param({"a": 1}, {"b": 2}, {"a": 1, "b": 2}, id="new-key-added"),
    pytest.param({"a": {"x": 1}}, None, {"a": {"x": 1}}, id="no-overrides"),
])
def test_merge(base, overrides, expected):
    assert cc.merge(base, overrides) == expected


def test_merge_leaves_inputs_alone_and_shares_nothing():
    base = {"a": {"x": [1, 2]}, "b": 1}
    overrides = {"a": {"y": [3]}, "b": None}
    base_before, overrides_before = copy.deepcopy(base), copy.deepcopy(overrides)
    merged = cc.merge(base, overrides)
    merged["a"]["x"].append(99)
    merged["a"]["y"].append(99)
    assert (base, overrides) == (base_before, overrides_before)


def test_merge_returns_builtin_types():
    merged = cc.merge({}, TaggedDict(root=TaggedStr("D:\\c"), items=(TaggedStr("a"),)))
    assert not isinstance(merged, TaggedDict) and not isinstance(merged["root"], TaggedStr)
    assert isinstance(merged["items"], list) and not isinstance(merged["items"][0], TaggedStr)
    assert merged == {"root": "D:\\c", "items": ["a"]}


# --- render -------------------------------------------------------------------------------------

SAMPLE_OVERRIDES = {
    "root": "D:\\containerd\\root",
    "grpc": {"address": "\\\\.\\pipe\\containerd-builder"},
    "debug": {"level": "info"},
    "plugins": {"io.containerd.runtime.v2.task": {"platforms": ["windows/amd64"]}},
}


@pytest.mark.parametrize("version", CAPTURED + ["2.2.1"])
@pytest.mark.parametrize("overrides", [None, SAMPLE_OVERRIDES], ids=["defaults", "overrides"])
def test_render_round_trips_and_is_deterministic(version, overrides):
    text = cc.render(version, overrides)
    assert text.startswith("# Managed by wcow.buildkit")
    assert tomllib.loads(text) == cc.merge(cc.default_config(version), overrides or {})
    assert cc.render(version, copy.deepcopy(overrides)) == text


def test_render_ignores_key_order_and_ansible_types():
    reordered = {k: SAMPLE_OVERRIDES[k] for k in reversed(SAMPLE_OVERRIDES)}
    tagged = TaggedDict(root=TaggedStr(SAMPLE_OVERRIDES["root"]),
                        grpc=TaggedDict(address=TaggedStr(SAMPLE_OVERRIDES["grpc"]["address"])),
                        debug={"level": "info"}, plugins=SAMPLE_OVERRIDES["plugins"])
    expected = cc.render("2.1.5", SAMPLE_OVERRIDES)
    assert cc.render("2.1.5", reordered) == expected
    assert cc.render("2.1.5", tagged) == expected


def test_render_orders_new_keys_by_name_not_by_arrival():
    first = {"proxy_plugins": {"b": {"type": "snapshot", "address": "p2"}, "a": {"address": "p1", "type": "snapshot"}}}
    second = {"proxy_plugins": {"a": {"type": "snapshot", "address": "p1"}, "b": {"address": "p2", "type": "snapshot"}}}
    text = cc.render("2.1.5", first)
    assert text == cc.render("2.1.5", second)
    assert text.index("[proxy_plugins.a]") < text.index("[proxy_plugins.b]")


@pytest.mark.parametrize("version", ["2.1.5", "2.1.6", "2.1.9"])
def test_render_depends_on_the_defaults_series_not_the_patch_release(version):
    assert cc.render(version, SAMPLE_OVERRIDES) == cc.render("2.1.0", SAMPLE_OVERRIDES)


@pytest.mark.parametrize("version, schema_line", [("1.7.29", "version = 2"), ("2.0.11", "version = 3"),
                                                  ("2.1.5", "version = 3"), ("2.2.7", "version = 3"),
                                                  ("2.3.4", "version = 4")])
def test_render_keeps_the_schema_version_of_the_target(version, schema_line):
    text = cc.render(version, {"debug": {"level": "debug"}})
    assert text.splitlines()[4] == schema_line
    assert tomllib.loads(text)["version"] == int(schema_line[-1])


@pytest.mark.parametrize("value, toml_text", [
    ("D:\\containerd\\root", '"D:\\\\containerd\\\\root"'),
    ("\\\\.\\pipe\\containerd-containerd", '"\\\\\\\\.\\\\pipe\\\\containerd-containerd"'),
    ("C:\\trailing\\", '"C:\\\\trailing\\\\"'),
    ('C:\\with "quote"', '"C:\\\\with \\"quote\\""'),
    # TOML basic strings may hold a tab as is; tomli_w keeps it.
    ("C:\\Users\\über\\tab\there", '"C:\\\\Users\\\\über\\\\tab\there"'),
])
@pytest.mark.parametrize("version", ["1.7.29", "2.1.5"])
def test_windows_paths_survive_toml(version, value, toml_text):
    text = cc.render(version, {"root": value, "stream_processors": {"x": {"args": [value]}}})
    assert f"root = {toml_text}\n" in text
    parsed = tomllib.loads(text)
    assert parsed["root"] == value
    assert parsed["stream_processors"]["x"]["args"] == [value]


def test_render_removes_a_table_set_to_none():
    text = cc.render("2.1.5", {"plugins": {"io.containerd.nri.v1.nri": None}})
    assert "io.containerd.nri.v1.nri" not in text
    assert "io.containerd.gc.v1.scheduler" in tomllib.loads(text)["plugins"]


# --- sandbox image and CNI dirs -----------------------------------------------------------------

@pytest.mark.parametrize("version, path, default", [
    ("1.7.29", ("plugins", CRI, "sandbox_image"), "registry.k8s.io/pause:3.8"),
    ("2.0.11", ("plugins", IMAGES, "pinned_images", "sandbox"), "registry.k8s.io/pause:3.10"),
    ("2.1.5", ("plugins", IMAGES, "pinned_images", "sandbox"), "registry.k8s.io/pause:3.10"),
])
def test_sandbox_image_override_lands_at_the_schema_key(version, path, default):
    assert cc.sandbox_image(cc.default_config(version), version) == default
    image = "mcr.microsoft.com/oss/kubernetes/pause:3.9"
    overrides: dict = image
    for key in reversed(path):
        overrides = {key: overrides}
    parsed = tomllib.loads(cc.render(version, overrides))
    assert cc.sandbox_image(parsed, version) == image
    node = parsed
    for key in path:
        node = node[key]
    assert node == image
    assert default not in cc.render(version, overrides)


def test_sandbox_image_is_none_when_the_config_has_none():
    assert cc.sandbox_image({}, "2.1.5") is None
    assert cc.sandbox_image({"plugins": "broken"}, "1.7.29") is None


@pytest.mark.parametrize("version, overrides, expected", [
    pytest.param("1.7.29", {}, {"bin_dirs": [CNI_BIN], "bin_dir": CNI_BIN, "conf_dir": CNI_CONF}, id="1.7"),
    pytest.param("2.0.11", {}, {"bin_dirs": [CNI_BIN], "bin_dir": CNI_BIN, "conf_dir": CNI_CONF}, id="2.0"),
    pytest.param("2.1.5", {}, {"bin_dirs": [CNI_BIN], "bin_dir": CNI_BIN, "conf_dir": CNI_CONF}, id="2.1"),
    pytest.param("1.7.29", {"plugins": {CRI: {"cni": {"bin_dir": "D:\\cni\\bin", "conf_dir": "D:\\cni\\conf"}}}},
                 {"bin_dirs": ["D:\\cni\\bin"], "bin_dir": "D:\\cni\\bin", "conf_dir": "D:\\cni\\conf"},
                 id="1.7-custom"),
    pytest.param("2.0.11", {"plugins": {RUNTIME: {"cni": {"bin_dir": "D:\\cni\\bin"}}}},
                 {"bin_dirs": ["D:\\cni\\bin"], "bin_dir": "D:\\cni\\bin", "conf_dir": CNI_CONF}, id="2.0-custom"),
    pytest.param("2.1.5", {"plugins": {RUNTIME: {"cni": {"bin_dirs": ["D:\\a", "D:\\b"]}}}},
                 {"bin_dirs": ["D:\\a", "D:\\b"], "bin_dir": "D:\\a", "conf_dir": CNI_CONF}, id="2.1-bin_dirs"),
    pytest.param("2.1.5", {"plugins": {RUNTIME: {"cni": {"bin_dir": "D:\\old"}}}},
                 {"bin_dirs": ["D:\\old"], "bin_dir": "D:\\old", "conf_dir": CNI_CONF},
                 id="2.1-deprecated-bin_dir-wins-over-default-bin_dirs"),
    pytest.param("2.1.5", {"plugins": {RUNTIME: {"cni": {"bin_dirs": [], "conf_dir": ""}}}},
                 {"bin_dirs": [], "bin_dir": None, "conf_dir": None}, id="2.1-none"),
])
def test_cni_dirs(version, overrides, expected):
    assert cc.cni_dirs(tomllib.loads(cc.render(version, overrides)), version) == expected


def test_cni_dirs_of_a_config_without_cri_settings():
    assert cc.cni_dirs({"plugins": {}}, "2.1.5") == {"bin_dirs": [], "bin_dir": None, "conf_dir": None}


# --- other-schema keys and version --------------------------------------------------------------

@pytest.mark.parametrize("version, overrides, found, hint", [
    pytest.param("2.1.5", {"plugins": {CRI: {"sandbox_image": "p"}}},
                 f'config.plugins."{CRI}".sandbox_image', f'plugins."{IMAGES}".pinned_images.sandbox',
                 id="sandbox_image"),
    pytest.param("2.0.11", {"plugins": {CRI: {"cni": {"conf_dir": "D:\\c"}}}},
                 f'config.plugins."{CRI}".cni.conf_dir', f'plugins."{RUNTIME}".cni.conf_dir', id="cni-conf_dir"),
    pytest.param("2.0.11", {"plugins": {CRI: {"cni": {"bin_dir": "D:\\c"}}}},
                 f'config.plugins."{CRI}".cni.bin_dir', f'plugins."{RUNTIME}".cni.bin_dir.', id="cni-bin_dir-2.0"),
    pytest.param("2.1.5", {"plugins": {CRI: {"cni": {"bin_dir": "D:\\c"}}}},
                 f'config.plugins."{CRI}".cni.bin_dir', f'plugins."{RUNTIME}".cni.bin_dirs (a list',
                 id="cni-bin_dir-2.1"),
    pytest.param("2.1.5", {"plugins": {CRI: {"containerd": {"snapshotter": "windows"}}}},
                 f'config.plugins."{CRI}".containerd.snapshotter', f'plugins."{IMAGES}".snapshotter',
                 id="snapshotter"),
    pytest.param("2.1.5", {"plugins": {CRI: {"containerd": {"default_runtime_name": "runhcs-wcow-hypervisor"}}}},
                 f'config.plugins."{CRI}".containerd.default_runtime_name',
                 f'plugins."{RUNTIME}".containerd.default_runtime_name', id="default_runtime_name"),
    pytest.param("2.1.5", {"plugins": {CRI: {"registry": {"config_path": "C:\\certs.d"}}}},
                 f'config.plugins."{CRI}".registry', f'plugins."{IMAGES}".registry', id="registry"),
    pytest.param("2.1.5", {"plugins": {CRI: {"enable_cdi": True}}},
                 f'config.plugins."{CRI}".enable_cdi', f'plugins."{RUNTIME}".enable_cdi', id="runtime-key"),
    pytest.param("2.1.5", {"plugins": {"io.containerd.internal.v1.restart": {"interval": "5s"}}},
                 'config.plugins."io.containerd.internal.v1.restart"',
                 'plugins."io.containerd.monitor.container.v1.restart"', id="renamed-plugin"),
    pytest.param("1.7.29", {"plugins": {IMAGES: {"pinned_images": {"sandbox": "p"}}}},
                 f'config.plugins."{IMAGES}".pinned_images.sandbox', f'plugins."{CRI}".sandbox_image',
                 id="2.x-sandbox-on-1.7"),
    pytest.param("1.7.29", {"plugins": {IMAGES: {"snapshotter": "windows"}}},
                 f'config.plugins."{IMAGES}".snapshotter', f'plugins."{CRI}".containerd.snapshotter',
                 id="2.x-snapshotter-on-1.7"),
    pytest.param("1.7.29", {"plugins": {RUNTIME: {"cni": {"bin_dirs": ["D:\\c"]}}}},
                 f'config.plugins."{RUNTIME}".cni.bin_dirs', f'plugins."{CRI}".cni.bin_dir (a single directory)',
                 id="2.x-bin_dirs-on-1.7"),
    pytest.param("1.7.29", {"plugins": {IMAGES: {"runtime_platforms": {}}}},
                 f'config.plugins."{IMAGES}".runtime_platforms', "does not have; remove it",
                 id="2.x-only-setting-on-1.7"),
    pytest.param("1.7.29", {"plugins": {RUNTIME: "x"}},
                 f'config.plugins."{RUNTIME}" is a containerd 2.x', f'plugins."{CRI}"', id="2.x-plugin-not-table"),
    pytest.param("1.7.29", {"plugins": {"io.containerd.monitor.container.v1.restart": {"interval": "5s"}}},
                 'config.plugins."io.containerd.monitor.container.v1.restart"',
                 'plugins."io.containerd.internal.v1.restart"', id="renamed-plugin-on-1.7"),
])
def test_setting_of_the_other_schema_is_reported_with_its_new_place(version, overrides, found, hint):
    errors = cc.check_overrides(version, overrides)
    assert len(errors) == 1, errors
    assert errors[0].startswith(found)
    assert hint in errors[0]
    assert f"containerd {version} reads config version {cc.schema_version(version)}" in errors[0]
    with pytest.raises(ContainerdConfigError) as err:
        cc.render(version, overrides)
    assert str(err.value) == errors[0]


@pytest.mark.parametrize("version", ["2.0.11", "2.1.5"])
def test_cri_server_settings_stay_under_the_grpc_cri_plugin_in_2x(version):
    overrides = {"plugins": {CRI: {"stream_server_port": "10010", "enable_tls_streaming": False}}}
    assert cc.check_overrides(version, overrides) == []
    assert tomllib.loads(cc.render(version, overrides))["plugins"][CRI]["stream_server_port"] == "10010"


def test_every_misplaced_key_is_reported():
    overrides = {"plugins": {CRI: {"sandbox_image": "p", "cni": {"conf_dir": "c", "bin_dir": "b"},
                                   "containerd": {"snapshotter": "s", "runtimes": {}}}}}
    errors = cc.check_overrides("2.1.5", overrides)
    assert [e.split(" is where", maxsplit=1)[0] for e in errors] == [
        f'config.plugins."{CRI}".sandbox_image',
        f'config.plugins."{CRI}".cni.conf_dir',
        f'config.plugins."{CRI}".cni.bin_dir',
        f'config.plugins."{CRI}".containerd.snapshotter',
        f'config.plugins."{CRI}".containerd.runtimes',
    ]


@pytest.mark.parametrize("version, value, problem", [
    ("1.7.29", 2, None),
    ("2.0.11", 3, None),
    ("2.1.5", 3, None),
    ("1.7.29", 3, "config.version is 3, but containerd 1.7.29 reads config version 2"),
    ("2.1.5", 2, "config.version is 2, but containerd 2.1.5 reads config version 3"),
    ("2.1.5", "3", "config.version is '3'"),
    ("2.1.5", 3.0, "config.version is 3.0"),
    ("2.1.5", True, "config.version is True"),
    ("2.0.11", None, "config.version cannot be removed"),
])
def test_version_key_must_match_the_target_schema(version, value, problem):
    errors = cc.check_overrides(version, {"version": value})
    if problem is None:
        assert errors == []
        assert tomllib.loads(cc.render(version, {"version": value}))["version"] == value
    else:
        assert len(errors) == 1 and errors[0].startswith(problem), errors
        assert f"version = {cc.schema_version(version)}" in errors[0] or \
            f"set it to {cc.schema_version(version)}" in errors[0]


def test_upgrade_renders_the_same_overrides_in_the_new_schema():
    overrides = {"root": "D:\\containerd\\root", "debug": {"level": "info"},
                 "grpc": {"address": "\\\\.\\pipe\\containerd-builder"}}
    old = tomllib.loads(cc.render("1.7.29", overrides))
    new = tomllib.loads(cc.render("2.1.5", overrides))
    assert (old["version"], new["version"]) == (2, 3)
    for parsed in (old, new):
        assert parsed["root"] == "D:\\containerd\\root"
        assert parsed["grpc"]["address"] == "\\\\.\\pipe\\containerd-builder"
        assert parsed["debug"]["level"] == "info"
    assert "sandbox_image" in old["plugins"][CRI] and "sandbox_image" not in new["plugins"][CRI]
    assert IMAGES not in old["plugins"] and {IMAGES, RUNTIME} <= set(new["plugins"])
    assert new == cc.merge(cc.default_config("2.1.5"), overrides)
    assert cc.cni_dirs(new, "2.1.5")["bin_dirs"] == [CNI_BIN]


def test_upgrade_with_a_1_7_only_override_asks_for_the_2x_place():
    overrides = {"plugins": {CRI: {"sandbox_image": "example.com/pause:1"}}}
    assert cc.sandbox_image(tomllib.loads(cc.render("1.7.29", overrides)), "1.7.29") == "example.com/pause:1"
    with pytest.raises(ContainerdConfigError, match=f'plugins."{IMAGES}".pinned_images.sandbox'):
        cc.render("2.1.5", overrides)


# --- CNI bin_dir / bin_dirs ---------------------------------------------------------------------

@pytest.mark.parametrize("version, overrides, problem", [
    ("2.1.5", {"plugins": {RUNTIME: {"cni": {"bin_dir": "D:\\a", "bin_dirs": ["D:\\b"]}}}},
     "sets both bin_dir and bin_dirs; containerd 2.1.5 refuses to start"),
    ("2.1.5", {"plugins": {RUNTIME: {"cni": {"bin_dir": "D:\\a", "bin_dirs": [CNI_BIN]}}}}, None),
    ("2.1.5", {"plugins": {RUNTIME: {"cni": {"bin_dir": "D:\\a"}}}}, None),
    ("2.0.11", {"plugins": {RUNTIME: {"cni": {"bin_dirs": ["D:\\b"]}}}},
     f'config.plugins."{RUNTIME}".cni.bin_dirs needs containerd 2.1 or later'),
    ("1.7.29", {"plugins": {CRI: {"cni": {"bin_dirs": ["D:\\b"]}}}},
     f'config.plugins."{CRI}".cni.bin_dirs needs containerd 2.1 or later'),
])
def test_cni_bin_dir_and_bin_dirs(version, overrides, problem):
    errors = cc.check_overrides(version, overrides)
    if problem is None:
        assert errors == []
    else:
        assert len(errors) == 1 and problem in errors[0], errors


# --- values and types ---------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, problem", [
    pytest.param({"grpc": {"address": 5}}, "config.grpc.address must be a string (containerd's default is "
                 "'\\\\\\\\.\\\\pipe\\\\containerd-containerd'); got a number. Quote the value in YAML.", id="number"),
    pytest.param({"plugins": {CRI: {"stream_server_port": 10010}}},
                 f'config.plugins."{CRI}".stream_server_port must be a string', id="port-number"),
    pytest.param({"plugins": "x"}, "config.plugins must be a table (dictionary); got a string.", id="table"),
    pytest.param({"disabled_plugins": "io.containerd.nri.v1.nri"}, "config.disabled_plugins must be an array",
                 id="array"),
    pytest.param({"debug": {"level": ["info"]}}, "config.debug.level must be a string", id="array-for-string"),
    pytest.param({"metrics": {"grpc_histogram": "yes"}}, "config.metrics.grpc_histogram must be a boolean",
                 id="boolean"),
    pytest.param({"imports": ["a", None]}, "config.imports.[1] contains null", id="null-in-array"),
    pytest.param({"proxy_plugins": {1: {}}}, "config.proxy_plugins has the key 1 (int)", id="int-key"),
    pytest.param({"proxy_plugins": {"p": {"x": {1, 2}}}}, 'config.proxy_plugins.p.x is a set', id="set"),
    pytest.param({"proxy_plugins": {"p": {"x": b"raw"}}}, "config.proxy_plugins.p.x is a bytes", id="bytes"),
])
def test_bad_values_are_reported_by_option_path(overrides, problem):
    errors = cc.check_overrides("2.1.5", overrides)
    assert len(errors) == 1 and errors[0].startswith(problem), errors
    with pytest.raises(ContainerdConfigError):
        cc.render("2.1.5", overrides)


@pytest.mark.parametrize("overrides", [
    pytest.param({"plugins": {"io.containerd.gc.v1.scheduler": {"pause_threshold": 1}}}, id="int-for-float"),
    pytest.param({"proxy_plugins": {"my": {"type": "snapshot", "address": "\\\\.\\pipe\\my"}}}, id="new-table"),
    pytest.param({"plugins": {IMAGES: {"registry": {"config_path": "C:\\certs.d"}}}}, id="registry"),
    pytest.param({"timeouts": {"io.containerd.timeout.shim.load": "10s"}}, id="dotted-key"),
])
def test_good_overrides_have_no_problems(overrides):
    assert cc.check_overrides("2.1.5", overrides) == []
    assert tomllib.loads(cc.render("2.1.5", overrides)) == cc.merge(cc.default_config("2.1.5"), overrides)


@pytest.mark.parametrize("overrides, found", [(["root", "D:\\x"], "an array (list)"), ("root = 'D:\\x'", "a string")])
def test_overrides_must_be_a_dictionary(overrides, found):
    expected = f"config must be a dictionary of containerd settings, got {found}."
    assert cc.check_overrides("2.1.5", overrides) == [expected]


def test_render_lists_every_problem():
    with pytest.raises(ContainerdConfigError) as err:
        cc.render("2.1.5", {"version": 2, "plugins": {CRI: {"sandbox_image": "p"}}, "grpc": {"address": 1}})
    assert len(str(err.value).splitlines()) == 3


def test_render_without_tomli_w_says_what_to_install(monkeypatch):
    monkeypatch.setattr(cc, "tomli_w", None)
    with pytest.raises(ContainerdConfigError, match="needs the Python package tomli-w on the Ansible controller; install it with `pip install tomli-w`"):
        cc.render("2.1.5", None)


@pytest.mark.parametrize("version, table, bins", [
    ("1.7.34", "io.containerd.grpc.v1.cri", {"bin_dir": r"D:\cni\bin"}),
    ("2.0.11", "io.containerd.cri.v1.runtime", {"bin_dir": r"D:\cni\bin"}),
    ("2.1.9", "io.containerd.cri.v1.runtime", {"bin_dir": "", "bin_dirs": [r"D:\cni\bin"]}),
    ("2.2.7", "io.containerd.cri.v1.runtime", {"bin_dir": "", "bin_dirs": [r"D:\cni\bin"]}),
    ("2.3.4", "io.containerd.cri.v1.runtime", {"bin_dir": "", "bin_dirs": [r"D:\cni\bin"]}),
])
def test_cni_folders_land_in_each_series_own_keys_and_render(version, table, bins):
    overrides = cc.cni_config(version, r"D:\cni\bin", r"D:\cni\conf")
    assert overrides == {"plugins": {table: {"cni": {**bins, "conf_dir": r"D:\cni\conf"}}}}
    assert cc.check_overrides(version, overrides) == []  # valid keys of that schema, never both bin settings
    rendered = tomllib.loads(cc.render(version, overrides))["plugins"][table]["cni"]
    assert rendered["conf_dir"] == r"D:\cni\conf" and (rendered.get("bin_dirs") or [rendered["bin_dir"]]) == [r"D:\cni\bin"]


def test_cni_folders_not_given_leave_containerds_defaults():
    assert cc.cni_config("2.3.4") == {}
    only_conf = {"plugins": {"io.containerd.cri.v1.runtime": {"cni": {"conf_dir": r"D:\c"}}}}
    assert cc.cni_config("2.0.11", conf_dir=r"D:\c") == only_conf
