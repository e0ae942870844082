# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerd config.toml rendering for win_containerd (internal).

config.toml is ``containerd config default`` of the target release deep-merged
with the user's ``config`` option.  The controller renders it from the defaults
shipped in ``containerd_defaults/<series>.toml``, so check mode and diff work
before any containerd binary is on the host.

Defaults by release series (``default_series``), each the capture of its newest
patch release known here:

* 1.7.x -> 1.7 (1.7.34), config schema ``version = 2``
* 2.0.x -> 2.0 (2.0.11), 2.1.x -> 2.1 (2.1.9), 2.2.x -> 2.2 (2.2.7): schema ``version = 3``
* 2.3.x -> 2.3 (2.3.4): schema ``version = 4`` (grpc/ttrpc/debug/metrics servers moved
  into ``plugins.'io.containerd.server.v1.*'``).
* anything newer -> the 2.3 defaults, with a warning (``newer_series_warning``).

Host-dependent values (see ``_HOST_DEPENDENT``): 1.7 has none; every 2.x series
writes the host's OS build in ``plugins.'io.containerd.runtime.v2.task'.platforms``.
It is left out of the rendered file so the host's containerd computes it.

Merge rule (``merge``): tables merge key by key; any other value (string, number,
boolean, array) replaces the default; ``None`` removes the key, so
``{"plugins": {"io.containerd.nri.v1.nri": None}}`` drops that table.  Arrays are
replaced whole, never appended to.
"""

from __future__ import annotations

import datetime
import difflib
import pathlib
import re
import tomllib
import types
import typing as t
from collections.abc import Mapping

try:
    import tomli_w
except ImportError:  # reported by render(), so a controller without it gets a message, not a traceback
    tomli_w = None


class ContainerdConfigError(ValueError):
    """A containerd version or config the renderer cannot use; the message says what to change."""


# The module option whose value is the user's override dict; error messages start with it.
OPTION = "config"

_Path = tuple[t.Any, ...]

# `containerd.exe config default` of the newest captured release of each series, shipped beside the
# host scripts (containerd_defaults/<series>.toml) and read the way _host reads scripts/.
DEFAULTS_DIR = pathlib.Path(__file__).resolve().parent / "containerd_defaults"
SERIES = ("1.7", "2.0", "2.1", "2.2", "2.3")
NEWEST_SERIES = SERIES[-1]
_SCHEMA_BY_SERIES = {"1.7": 2, "2.0": 3, "2.1": 3, "2.2": 3, "2.3": 4}

# Host-dependent values in `config default`, by series (found by diffing captures of one release made
# on different machines): 2.x writes the capturing host's OS build into
# plugins.'io.containerd.runtime.v2.task'.platforms (windows(<major>.<minor>.<build>)/amd64).
# 1.7 has none.  We LEAVE THAT KEY OUT of the rendered file rather than render the target's build:
# containerd fills a missing key from the same built-in default that `config default` printed, so the
# host's own containerd computes it at every start - it stays right after an in-place OS upgrade,
# needs no extra value from the host and no second source of truth for how containerd spells it.
# A user who wants a fixed list can still set it in `config`.
_HOST_DEPENDENT: Mapping[str, tuple[_Path, ...]] = types.MappingProxyType({
    "1.7": (),
    **{s: (("plugins", "io.containerd.runtime.v2.task", "platforms"),) for s in SERIES[1:]},
})


def _read_defaults(series: str) -> str:
    path = DEFAULTS_DIR / f"{series}.toml"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContainerdConfigError(f"wcow.buildkit is missing its containerd {series} defaults ({path}): "
                                    f"{exc.strerror}; reinstall the collection.") from None


class _Defaults(Mapping):
    """series -> `containerd config default` text, read from DEFAULTS_DIR on first use."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __getitem__(self, series: str) -> str:
        if series not in SERIES:
            raise KeyError(series)
        if series not in self._cache:
            self._cache[series] = _read_defaults(series)
        return self._cache[series]

    def __iter__(self) -> t.Iterator[str]:
        return iter(SERIES)

    def __len__(self) -> int:
        return len(SERIES)


DEFAULTS: Mapping[str, str] = _Defaults()

_VERSION = re.compile(r"v?(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?(?:[-+][0-9A-Za-z.+-]*)?")
# `containerd --version`: "containerd <module path> v<version> <commit>"; distro builds drop the "v".
_VERSION_LINE = re.compile(
    r"^\s*containerd\s+(?:\S+\s+)?v?(?P<version>\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)(?:\s|$)", re.M)

_CRI_V2 = "io.containerd.grpc.v1.cri"
_CRI_IMAGES = "io.containerd.cri.v1.images"
_CRI_RUNTIME = "io.containerd.cri.v1.runtime"
# Which 1.7 CRI keys go where in schema 3, as containerd 2.x's own migration moves them
# (plugins/cri/images/plugin.go and plugins/cri/runtime/plugin.go, configMigration).
_SERVER_KEYS = frozenset({"disable_tcp_service", "stream_server_address", "stream_server_port",
                          "stream_idle_timeout", "enable_tls_streaming", "x509_key_pair_streaming"})
_IMAGE_KEYS = frozenset({"registry", "image_decryption", "max_concurrent_downloads",
                         "image_pull_progress_timeout", "image_pull_with_sync_fs", "stats_collect_period"})
_IMAGE_KEYS_FROM_CONTAINERD = frozenset({"snapshotter", "disable_snapshot_annotations", "discard_unpacked_layers"})
# Plugin IDs renamed between the schemas (seen in the two defaults): 1.7 name -> 2.x name.
_RENAMED_PLUGINS = {"io.containerd.internal.v1.restart": "io.containerd.monitor.container.v1.restart"}

_SANDBOX_IMAGE_PATH = {2: ("plugins", _CRI_V2, "sandbox_image"),
                       3: ("plugins", _CRI_IMAGES, "pinned_images", "sandbox"),
                       4: ("plugins", _CRI_IMAGES, "pinned_images", "sandbox")}
_CNI_PATH = {2: ("plugins", _CRI_V2, "cni"), 3: ("plugins", _CRI_RUNTIME, "cni"), 4: ("plugins", _CRI_RUNTIME, "cni")}

# Schema 4 (containerd 2.3) moved the top-level server tables into plugins, as its own migration does
# (cmd/containerd/server/config migration to version 4): schema-3 key path -> schema-4 key path.
_SERVER_GRPC = "io.containerd.server.v1.grpc"
_SCHEMA4_MOVES: Mapping[_Path, _Path] = types.MappingProxyType({
    **{("grpc", k): ("plugins", _SERVER_GRPC, k)
       for k in ("address", "uid", "gid", "max_recv_message_size", "max_send_message_size")},
    ("grpc", "tcp_address"): ("plugins", "io.containerd.server.v1.grpc-tcp", "address"),
    **{("grpc", f"tcp_{k}"): ("plugins", "io.containerd.server.v1.grpc-tcp", k)
       for k in ("tls_ca", "tls_cert", "tls_key", "tls_common_name")},
    **{("ttrpc", k): ("plugins", "io.containerd.server.v1.ttrpc", k) for k in ("address", "uid", "gid")},
    **{("debug", k): ("plugins", "io.containerd.server.v1.debug", k) for k in ("address", "uid", "gid")},
    ("metrics", "address"): ("plugins", "io.containerd.server.v1.metrics", "address"),
    ("metrics", "grpc_histogram"): ("plugins", "io.containerd.metrics.v1.grpc-prometheus", "grpc_histogram"),
})
# Plugin tables only schema 4 has (the other way round: refused for a schema 2/3 target).
_SCHEMA4_PLUGINS = frozenset(path[1] for path in _SCHEMA4_MOVES.values())

# Where containerd's config structs hold maps, so the keys are names the user picks, not settings.
# The entries of a NAME table are checked against every entry the defaults have there (a new runtime
# against the keys of runhcs-wcow-process and runhcs-wcow-hypervisor); an OPAQUE table is never
# checked (runtime options belong to the runtime, timeouts and pinned images are free maps).
# "*" stands for any one key.
_NAME_TABLES = (("proxy_plugins",), ("stream_processors",), ("plugins", "*", "containerd", "runtimes"),
                ("plugins", "*", "registry", "mirrors"), ("plugins", "*", "registry", "configs"),
                ("plugins", "*", "registry", "auths"))
_OPAQUE_TABLES = (("timeouts",), ("plugins", "*", "pinned_images"), ("plugins", "*", "registry", "headers"),
                  ("plugins", "*", "containerd", "runtimes", "*", "options"),
                  ("plugins", "*", "containerd", "default_runtime", "options"),
                  ("plugins", "*", "containerd", "untrusted_workload_runtime", "options"))
# Settings containerd reads that its `config default` leaves out (omitempty fields of its structs).
_UNPRINTED: Mapping[_Path, frozenset[str]] = types.MappingProxyType({
    (): frozenset({"proxy_plugins"}),
    ("plugins", _CRI_IMAGES, "registry"): frozenset({"mirrors", "configs", "auths", "headers"}),
})
# The module option where a user lists keys containerd reads that its defaults do not show.
EXTRA_KEYS_OPTION = "config_extra_keys"

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_KIND_NOUNS = {"table": "a table (dictionary)", "array": "an array (list)", "string": "a string",
               "boolean": "a boolean", "number": "a number", "datetime": "a date/time"}


def default_series(version: str) -> str:
    """Return the key of ``DEFAULTS`` for a containerd version ("1.7" ... "2.3").

    A release newer than the newest known series uses the newest series (``newer_series_warning``
    says so).
    """
    match = _VERSION.fullmatch(version.strip()) if isinstance(version, str) else None
    if not match:
        raise ContainerdConfigError(
            f"containerd version {version!r} is not a version number; give it as a string like '2.1.5'.")
    major, minor = int(match["major"]), int(match["minor"])
    if (major, minor) == (1, 7):
        return "1.7"
    if major >= 2:
        return f"{major}.{minor}" if f"{major}.{minor}" in SERIES else NEWEST_SERIES
    raise ContainerdConfigError(
        f"containerd {version.strip()} is not supported: wcow.buildkit renders config.toml for containerd 1.7.x "
        f"and 2.0 or later ({', '.join(SERIES)} known); choose a version in that range.")


def newer_series_warning(version: str) -> str | None:
    """Return a warning when ``version`` is newer than every known series (rendered from the newest), else None."""
    series = default_series(version)
    match = _VERSION.fullmatch(version.strip())
    if series == NEWEST_SERIES and f"{match['major']}.{match['minor']}" != series:
        return (f"containerd {version.strip()} is newer than the newest series wcow.buildkit knows; its config.toml "
                f"is rendered from the containerd {series} defaults (config version {_SCHEMA_BY_SERIES[series]}). "
                "Check the result, or pin containerd_version to a known series.")
    return None


def schema_version(version: str) -> int:
    """Return the config.toml schema (``version = N``) that containerd ``version`` reads: 2, 3 or 4."""
    return _SCHEMA_BY_SERIES[default_series(version)]


def captured_default(version: str) -> dict[str, t.Any]:
    """Return ``containerd config default`` of the series of ``version`` exactly as captured, parsed."""
    return tomllib.loads(DEFAULTS[default_series(version)])


def default_config(version: str) -> dict[str, t.Any]:
    """Return the defaults rendered for ``version``: the capture without its host-dependent values (a fresh dict)."""
    config = captured_default(version)
    for path in _HOST_DEPENDENT[default_series(version)]:
        parent = _lookup(config, path[:-1])
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    return config


def grpc_address(config: Mapping[str, t.Any], version: str | None = None) -> str | None:
    """Return the grpc pipe a config.toml makes containerd listen on, or None when it sets none.

    Schema 2/3 keep it at ``grpc.address``, schema 4 (2.3) at
    ``plugins.'io.containerd.server.v1.grpc'.address``.  With ``version`` None (a file found on the
    host) the file's own ``version`` key decides.
    """
    if version is not None:
        schema = schema_version(version)
    else:
        schema = config.get("version") if isinstance(config.get("version"), int) else 3
    path = ("plugins", _SERVER_GRPC, "address") if schema >= 4 else ("grpc", "address")
    value = _lookup(config, path)
    return value if isinstance(value, str) and value else None


def merge(base: Mapping[str, t.Any], overrides: Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """Deep-merge ``overrides`` onto ``base`` and return a new dict; neither input is changed.

    Tables merge key by key; any other value replaces what ``base`` has; ``None``
    removes the key (removing a key ``base`` lacks is a no-op).  ``overrides=None``
    (``config: null`` in a task) changes nothing.  Values come back as plain
    dict/list/str/int/float/bool, so tagged Ansible values do not leak.
    """
    merged = _plain(base)
    for key, value in (overrides or {}).items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping):
            current = merged.get(key)
            merged[key] = merge(current if isinstance(current, Mapping) else {}, value)
        else:
            merged[key] = _plain(value)
    return merged


def cni_config(version: str, bin_dir: str | None = None, conf_dir: str | None = None) -> dict[str, t.Any]:
    """The settings that point containerd ``version``'s CRI plugin at the CNI folders, in that series' own keys.

    1.7 (``io.containerd.grpc.v1.cri``) and 2.0 read one ``bin_dir``; 2.1 and later read the list ``bin_dirs``
    (``bin_dir`` is deprecated there, and setting both stops containerd from starting), so ``bin_dir`` is
    emptied as those series' own defaults do. Folders not given are left out (containerd's defaults apply).
    """
    series = default_series(version)
    cni: dict[str, t.Any] = {}
    if bin_dir:
        cni.update({"bin_dir": bin_dir} if series in ("1.7", "2.0") else {"bin_dir": "", "bin_dirs": [bin_dir]})
    if conf_dir:
        cni["conf_dir"] = conf_dir
    if not cni:
        return {}
    config: dict[str, t.Any] = cni
    for key in reversed(_CNI_PATH[_SCHEMA_BY_SERIES[series]]):
        config = {key: config}
    return config


def check_overrides(version: str, overrides: Mapping[str, t.Any] | None,
                    extra_keys: t.Iterable[str] = ()) -> list[str]:
    """Return the problems ``overrides`` has for containerd ``version``; an empty list when it can be rendered.

    Reports values TOML cannot hold, a top-level ``version`` other than the
    target's schema, settings placed where the other schema keeps them (with the
    place this schema uses), keys the target's defaults do not have inside a
    table containerd defines (with the nearest valid name; ``extra_keys`` lists
    dotted key paths the user vouches for), values whose type differs from
    containerd's default for that key, and CNI ``bin_dir``/``bin_dirs`` use the
    target cannot honour.
    """
    series = default_series(version)
    if overrides is None:
        return []
    if not isinstance(overrides, Mapping):
        return [f"{OPTION} must be a dictionary of containerd settings, got {_type_noun(overrides)}."]
    errors: list[str] = []
    _check_toml_values(overrides, (), errors)
    schema = _SCHEMA_BY_SERIES[series]
    _check_version_key(version, schema, overrides, errors)
    plugins = overrides.get("plugins")
    if isinstance(plugins, Mapping):
        if schema >= 3:
            _check_schema2_keys(version, series, plugins, errors)
        else:
            _check_schema3_keys(version, plugins, errors)
    _check_schema4_moves(version, schema, overrides, errors)
    _check_kinds(overrides, default_config(version), (), errors)
    _check_cni_bin_dirs(version, series, overrides, errors)
    # Last, so a key another check already explains (a schema move, a version gate) is not reported twice.
    unknown = _UnknownKeys(version, frozenset(extra_keys or ()))
    unknown.walk(overrides, captured_default(version), ())
    errors += [e for path, e in unknown.errors if not any(_option_path(path) in known for known in errors)]
    return errors


def config_warnings(version: str, overrides: Mapping[str, t.Any] | None) -> list[str]:
    """Return warnings about ``overrides`` that do not stop rendering: plugins containerd ``version`` does not list."""
    if not isinstance(overrides, Mapping):
        return []
    unknown = _UnknownKeys(version, frozenset())
    unknown.walk(overrides, captured_default(version), ())
    return unknown.warnings


def render(version: str, overrides: Mapping[str, t.Any] | None, extra_keys: t.Iterable[str] = ()) -> str:
    """Return config.toml for containerd ``version``: its defaults merged with ``overrides``.

    The text depends only on the defaults series and the override values (keys
    are sorted), so equal input gives byte-identical output and a patch release
    alone does not rewrite the file.  Raises ``ContainerdConfigError`` listing
    every problem ``check_overrides`` finds.
    """
    series = default_series(version)
    errors = check_overrides(version, overrides, extra_keys)
    if errors:
        raise ContainerdConfigError("\n".join(errors))
    if tomli_w is None:
        raise ContainerdConfigError("Rendering containerd's config.toml needs the Python package tomli-w on the "
                                    "Ansible controller; install it with `pip install tomli-w`.")
    merged = merge(default_config(version), overrides or {})
    ordered = {"version": merged.pop("version")} if "version" in merged else {}
    ordered.update(_sorted_tables(merged))
    header = (f"# Managed by wcow.buildkit (win_containerd): `containerd config default` of containerd {series}\n"
              f"# merged with the module's {OPTION} option. Edits here are replaced; change {OPTION} instead.\n"
              "# Host-dependent defaults (runtime platforms) are left out: containerd computes them at start.\n\n")
    return header + tomli_w.dumps(ordered)


def parse_version_output(text: str) -> str | None:
    """Return the version from ``containerd --version`` output ("2.1.5"), or None when it is not there."""
    if not isinstance(text, str):
        return None
    match = _VERSION_LINE.search(text.lstrip("\ufeff"))
    return match["version"] if match else None


def sandbox_image(config: Mapping[str, t.Any], version: str) -> str | None:
    """Return the pause image a merged config pins for containerd ``version``, or None when it sets none.

    1.7: ``plugins."io.containerd.grpc.v1.cri".sandbox_image``;
    2.x: ``plugins."io.containerd.cri.v1.images".pinned_images.sandbox``.
    """
    value = _lookup(config, _SANDBOX_IMAGE_PATH[schema_version(version)])
    return value if isinstance(value, str) else None


def cni_dirs(config: Mapping[str, t.Any], version: str) -> dict[str, t.Any]:
    """Return where containerd ``version`` looks for CNI plugins and their config, per a merged config.

    ``{"bin_dirs": [...], "bin_dir": first of bin_dirs or None, "conf_dir": str or None}``.
    1.7 and 2.0 have one ``cni.bin_dir``; 2.1 reads ``cni.bin_dirs`` and, like
    containerd, lets a non-empty deprecated ``bin_dir`` win over the default
    ``bin_dirs``.  ``bin_dir`` is there because buildkitd takes a single
    ``--containerd-cni-binary-dir``.
    """
    series = default_series(version)
    cni = _lookup(config, _CNI_PATH[_SCHEMA_BY_SERIES[series]])
    cni = cni if isinstance(cni, Mapping) else {}
    bin_dir = cni.get("bin_dir") if isinstance(cni.get("bin_dir"), str) else ""
    if series not in ("1.7", "2.0"):
        bin_dirs = [d for d in cni.get("bin_dirs") or [] if isinstance(d, str)]
        if bin_dir and (not bin_dirs or bin_dirs == _default_bin_dirs()):
            bin_dirs = [bin_dir]
    else:
        bin_dirs = [bin_dir] if bin_dir else []
    conf_dir = cni.get("conf_dir")
    return {"bin_dirs": bin_dirs, "bin_dir": bin_dirs[0] if bin_dirs else None,
            "conf_dir": conf_dir if isinstance(conf_dir, str) and conf_dir else None}


def _default_bin_dirs() -> list[str]:
    return default_config("2.1.0")["plugins"][_CRI_RUNTIME]["cni"]["bin_dirs"]


def _plain(value: t.Any) -> t.Any:
    """Copy a value into builtin types (tagged Ansible str/int/dict/list are subclasses)."""
    if isinstance(value, Mapping):
        return {(str(k) if isinstance(k, str) else k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, bool):
        return bool(value)
    for builtin in (str, int, float):
        if isinstance(value, builtin):
            return builtin(value)
    return value


def _sorted_tables(value: t.Any) -> t.Any:
    """Sort table keys at every depth (arrays keep their order) so equal dicts render alike."""
    if isinstance(value, Mapping):
        return {k: _sorted_tables(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_sorted_tables(item) for item in value]
    return value


def _lookup(config: t.Any, path: _Path) -> t.Any:
    for key in path:
        if not isinstance(config, Mapping):
            return None
        config = config.get(key)
    return config


def _dotted(path: _Path) -> str:
    """Spell a key path the way TOML does: plugins."io.containerd.cri.v1.images".pinned_images."""
    parts = []
    for key in path:
        if isinstance(key, str) and _BARE_KEY.fullmatch(key):
            parts.append(key)
        elif isinstance(key, str):
            parts.append('"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            parts.append(f"[{key!r}]")
    return ".".join(parts)


def _option_path(path: _Path) -> str:
    return f"{OPTION}.{_dotted(path)}" if path else OPTION


def _kind(value: t.Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "table"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, (datetime.date, datetime.time)):
        return "datetime"
    return None


def _type_noun(value: t.Any) -> str:
    kind = _kind(value)
    return _KIND_NOUNS[kind] if kind else f"a {type(value).__name__}"


def _check_toml_values(table: Mapping[t.Any, t.Any], path: _Path, errors: list[str]) -> None:
    for key, value in table.items():
        here = path + (key,)
        if not isinstance(key, str):
            errors.append(f"{_option_path(path)} has the key {key!r} ({type(key).__name__}); TOML keys are "
                          "strings, so quote the key in YAML.")
            continue
        _check_toml_value(value, here, errors, in_array=False)


def _check_toml_value(value: t.Any, path: _Path, errors: list[str], in_array: bool) -> None:
    where = _option_path(path)
    if value is None:
        if in_array:
            errors.append(f"{where} contains null; TOML arrays cannot hold it, so remove that item.")
    elif isinstance(value, Mapping):
        _check_toml_values(value, path, errors)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_toml_value(item, path + (index,), errors, in_array=True)
    elif isinstance(value, datetime.time) and value.tzinfo is not None:
        errors.append(f"{where} is a time with a UTC offset, which TOML cannot hold; give it as a string.")
    elif _kind(value) is None:
        errors.append(f"{where} is {_type_noun(value)}, which TOML cannot hold; use a string, number, "
                      "boolean, list or dictionary.")


def _check_version_key(version: str, schema: int, overrides: Mapping[str, t.Any], errors: list[str]) -> None:
    if "version" not in overrides:
        return
    value = overrides["version"]
    if isinstance(value, int) and not isinstance(value, bool) and value == schema:
        return
    if value is None:
        errors.append(f"{OPTION}.version cannot be removed: containerd reads a config.toml without it as "
                      f"version 1. Leave it out of {OPTION}; containerd {version} needs version = {schema}.")
    else:
        errors.append(f"{OPTION}.version is {value!r}, but containerd {version} reads config version "
                      f"{schema}. Leave version out of {OPTION} (it is set for you) or set it to {schema}.")


def _schema3_home(cri_path: _Path, series: str) -> _Path | None:
    """Where schema 3 keeps a setting found at plugins."io.containerd.grpc.v1.cri".<cri_path>; None if it stays."""
    head = cri_path[0]
    if head in _SERVER_KEYS:
        return None
    if head == "sandbox_image":
        return _SANDBOX_IMAGE_PATH[3]
    if head in _IMAGE_KEYS:
        return ("plugins", _CRI_IMAGES) + cri_path
    if head == "containerd" and len(cri_path) > 1 and cri_path[1] in _IMAGE_KEYS_FROM_CONTAINERD:
        return ("plugins", _CRI_IMAGES) + cri_path[1:]
    if cri_path[:2] == ("cni", "bin_dir") and series not in ("1.7", "2.0"):
        return ("plugins", _CRI_RUNTIME, "cni", "bin_dirs")
    return ("plugins", _CRI_RUNTIME) + cri_path


def _schema2_home(plugin: str, rest: _Path) -> _Path | None:
    """Where schema 2 keeps a setting found at plugins.<plugin>.<rest> of schema 3; None if it has no such setting."""
    cri = ("plugins", _CRI_V2)
    head = rest[0]
    if plugin == _CRI_IMAGES:
        if rest[:2] == ("pinned_images", "sandbox"):
            return _SANDBOX_IMAGE_PATH[2]
        if head in _IMAGE_KEYS_FROM_CONTAINERD:
            return cri + ("containerd",) + rest
        if head in _IMAGE_KEYS:
            return cri + rest
        return None
    if rest[:2] == ("cni", "bin_dirs"):
        return cri + ("cni", "bin_dir")
    return cri + rest


def _split_keys(table: Mapping[str, t.Any], path: _Path, descend: t.Callable[[_Path], bool]) -> t.Iterator[_Path]:
    """Yield key paths of ``table``, going one level deeper wherever ``descend(path)`` says the schemas split."""
    for key, value in table.items():
        here = path + (key,)
        if isinstance(value, Mapping) and value and descend(here):
            yield from _split_keys(value, here, descend)
        else:
            yield here


def _check_schema4_moves(version: str, schema: int, overrides: Mapping[str, t.Any], errors: list[str]) -> None:
    """Refuse server settings given where the other schema keeps them (schema 4 moved them into plugins)."""
    for old, new in _SCHEMA4_MOVES.items():
        given, home = (old, new) if schema >= 4 else (new, old)
        if _lookup(overrides, given) is None:
            continue
        if schema >= 4:
            errors.append(f"{_option_path(given)} is where containerd 2.2 and older (config version 3 or 2) keep "
                          f"this setting; containerd {version} reads config version 4, where it is "
                          f"{_dotted(home)}. Move the value there.")
        else:
            errors.append(f"{_option_path(given)} is where containerd 2.3 and later (config version 4) keep this "
                          f"setting; containerd {version} reads config version {schema}, where it is "
                          f"{_dotted(home)}. Move the value there.")
    if schema >= 4:
        return
    plugins = overrides.get("plugins")
    known = {new[:3] for new in _SCHEMA4_MOVES.values()}
    for plugin in sorted(_SCHEMA4_PLUGINS & set(plugins if isinstance(plugins, Mapping) else ())):
        table = plugins[plugin]
        extra = [k for k in (table if isinstance(table, Mapping) else {None: None})
                 if ("plugins", plugin, k) not in known]
        if extra:
            errors.append(f"{_option_path(('plugins', plugin))} is a containerd 2.3 (config version 4) plugin; "
                          f"containerd {version} reads config version {schema}, which has no such plugin. Remove it "
                          "or target containerd 2.3.")


def _check_schema2_keys(version: str, series: str, plugins: Mapping[str, t.Any], errors: list[str]) -> None:
    intro = f"containerd {version} reads config version {_SCHEMA_BY_SERIES[series]}"
    cri = plugins.get(_CRI_V2)
    if isinstance(cri, Mapping):
        for cri_path in _split_keys(cri, (), lambda p: p in {("containerd",), ("cni",)}):
            home = _schema3_home(cri_path, series)
            if home is None:
                continue
            as_list = " (a list of directories)" if home[-1] == "bin_dirs" else ""
            errors.append(f"{_option_path(('plugins', _CRI_V2) + cri_path)} is where containerd 1.7 (config "
                          f"version 2) keeps this setting; {intro}, where it is {_dotted(home)}{as_list}. "
                          "Move the value there.")
    for old, new in _RENAMED_PLUGINS.items():
        if old in plugins:
            errors.append(f"{_option_path(('plugins', old))} is the containerd 1.7 name of this plugin; {intro}, "
                          f"where it is {_dotted(('plugins', new))}. Move the value there.")


def _check_schema3_keys(version: str, plugins: Mapping[str, t.Any], errors: list[str]) -> None:
    intro = f"containerd {version} reads config version 2"
    for plugin in (_CRI_IMAGES, _CRI_RUNTIME):
        table = plugins.get(plugin)
        if not isinstance(table, Mapping):
            if plugin in plugins:
                errors.append(f"{_option_path(('plugins', plugin))} is a containerd 2.x (config version 3) plugin; "
                              f"{intro}, which keeps CRI settings under {_dotted(('plugins', _CRI_V2))}.")
            continue
        for rest in _split_keys(table, (), lambda p: p in {("pinned_images",), ("cni",)}):
            where = _option_path(("plugins", plugin) + rest)
            home = _schema2_home(plugin, rest)
            if home is None:
                errors.append(f"{where} is a containerd 2.x (config version 3) setting that {intro} does not "
                              f"have; remove it, or target containerd 2.x.")
            else:
                one_dir = " (a single directory)" if rest[:2] == ("cni", "bin_dirs") else ""
                errors.append(f"{where} is where containerd 2.x (config version 3) keeps this setting; {intro}, "
                              f"where it is {_dotted(home)}{one_dir}. Move the value there.")
    for old, new in _RENAMED_PLUGINS.items():
        if new in plugins:
            errors.append(f"{_option_path(('plugins', new))} is the containerd 2.x name of this plugin; {intro}, "
                          f"where it is {_dotted(('plugins', old))}. Move the value there.")


def _matches(path: _Path, patterns: tuple[_Path, ...]) -> bool:
    return any(len(path) == len(p) and all(want in ("*", got) for want, got in zip(p, path)) for p in patterns)


class _UnknownKeys:
    """Finds keys containerd would ignore: containerd 2.x logs "Ignoring unknown key" and 1.7 says nothing."""

    def __init__(self, version: str, extra: frozenset[str]) -> None:
        self.version, self.extra = version.strip(), extra
        self.errors: list[tuple[_Path, str]] = []
        self.warnings: list[str] = []
        self.root: Mapping[str, t.Any] = {}

    def walk(self, overrides: Mapping[str, t.Any], defaults: Mapping[str, t.Any], path: _Path) -> None:
        if not path:
            self.root = defaults
        if _matches(path, _OPAQUE_TABLES) or (path and not defaults):
            return  # a free map, or a table the defaults show empty: nothing to compare with
        named = _matches(path, _NAME_TABLES)
        entry_keys = {k: v for entry in defaults.values() if isinstance(entry, Mapping) for k, v in entry.items()}
        for key, value in overrides.items():
            here = path + (key,)
            if not isinstance(key, str) or value is None or _dotted(here) in self.extra:
                continue  # a non-string key is reported elsewhere; removing an absent key changes nothing
            if named:
                if isinstance(value, Mapping):
                    self.walk(value, defaults.get(key) or entry_keys, here)
            elif key in defaults:
                if isinstance(value, Mapping) and isinstance(defaults[key], Mapping):
                    self.walk(value, defaults[key], here)
            elif key in _UNPRINTED.get(tuple("*" if p == "*" else p for p in path), ()):
                continue
            elif path == ("plugins",):
                self.warnings.append(
                    f"{_option_path(here)}: containerd {self.version} lists no plugin {key!r}, so the table is written "
                    "as given and only a plugin of that name (one of your own, or a proxy plugin) reads it. Check "
                    f"the name if you meant a built-in plugin{self._nearest(key, defaults, 0.85)}.")
            else:
                self.errors.append((here, self._unknown(here, defaults)))

    def _nearest(self, key: str, table: Mapping[str, t.Any], cutoff: float = 0.6) -> str:
        # Plugin IDs share long prefixes (io.containerd.), so they need a closer match to be a likely typo.
        close = difflib.get_close_matches(key, [k for k in table if isinstance(k, str)], n=1, cutoff=cutoff)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def _elsewhere(self, key: str) -> list[_Path]:
        found: list[_Path] = []

        def look(table: Mapping[str, t.Any], path: _Path) -> None:
            for name, value in table.items():
                if name == key:
                    found.append(path + (name,))
                if isinstance(value, Mapping):
                    look(value, path + (name,))
        look(self.root, ())
        return found[:2]

    def _unknown(self, here: _Path, defaults: Mapping[str, t.Any]) -> str:
        table = f"the table {_dotted(here[:-1])}" if here[:-1] else "the top level of config.toml"
        hint = self._nearest(here[-1], defaults).strip(" ()")
        if not hint:
            places = self._elsewhere(here[-1])
            hint = f"it is a setting at {' and '.join(_dotted(p) for p in places)}" if places else ""
        end = f"; {hint}" + ("" if hint.endswith("?") else ".") if hint else "."
        return (f"{_option_path(here)} is not a setting containerd {self.version} has in {table}{end} "
                "containerd ignores unknown keys, so it would have no effect. Fix "
                f"the name, or if containerd {self.version} really reads it, list it in {EXTRA_KEYS_OPTION}: "
                f"[{_dotted(here)!r}].")


def _check_kinds(overrides: Mapping[str, t.Any], defaults: Mapping[str, t.Any], path: _Path,
                 errors: list[str]) -> None:
    """Report values whose type differs from containerd's default for the same key (keys it lacks are free)."""
    for key, value in overrides.items():
        if value is None or key not in defaults or path + (key,) == ("version",):
            continue
        expected, found = _kind(defaults[key]), _kind(value)
        if found is None:
            continue  # already reported by _check_toml_values
        where = _option_path(path + (key,))
        if expected != found:
            example = "" if expected in ("table", "array") else f" (containerd's default is {defaults[key]!r})"
            quote = " Quote the value in YAML." if expected == "string" and found in ("number", "boolean") else ""
            errors.append(f"{where} must be {_KIND_NOUNS[expected]}{example}; got {_KIND_NOUNS[found]}.{quote}")
        elif expected == "table":
            _check_kinds(value, defaults[key], path + (key,), errors)


def _check_cni_bin_dirs(version: str, series: str, overrides: Mapping[str, t.Any], errors: list[str]) -> None:
    schema = _SCHEMA_BY_SERIES[series]
    cni_path = _CNI_PATH[schema]
    if series in ("1.7", "2.0"):
        if isinstance(_lookup(overrides, cni_path), Mapping) and "bin_dirs" in _lookup(overrides, cni_path):
            errors.append(f"{_option_path(cni_path + ('bin_dirs',))} needs containerd 2.1 or later; containerd "
                          f"{version} ignores it. Set {_dotted(cni_path + ('bin_dir',))} to one directory instead.")
        return
    cni = _lookup(merge(default_config(version), overrides), cni_path)
    if not isinstance(cni, Mapping):
        return
    bin_dirs = cni.get("bin_dirs")
    if cni.get("bin_dir") and bin_dirs and bin_dirs != _default_bin_dirs():
        errors.append(f"{_option_path(cni_path)} sets both bin_dir and bin_dirs; containerd {version} refuses to "
                      "start with both. Set only bin_dirs (bin_dir is deprecated since containerd 2.1).")
