# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""buildkitd.toml rendering for win_buildkitd (internal).

The file is rendered on the controller from the module's ``config`` dict, so check
mode and diff work before buildkitd is on the host.  buildkitd itself decodes the
file into its Config struct (cmd/buildkitd/config/config.go) with go-toml and
silently ignores keys it does not know, so a typo would be lost without a word:
here every key of the sections we model is checked, and an unknown one is refused
with the nearest valid name.  Sections we do not model (dns, history, frontend,
otel, system, log) only need to be tables.

Garbage collection is written with the keys of the target version
(``translate_gc``): from 0.17 ``reservedSpace``/``maxUsedSpace``/``minFreeSpace``
(worker level and per ``gcpolicy``), which replaced ``gckeepstorage`` (worker) and
``keepBytes`` (policy); before 0.17 only the old keys exist.  Either spelling is
accepted and written the way the target reads it; a key the target cannot express
(``maxUsedSpace``/``minFreeSpace`` before 0.17) fails naming the version needed.

Values that are ``None`` are left out.  Tables are written with sorted keys, so the
digest (``sha256`` of the UTF-8 bytes, what the host's state script reports) only
changes when the content does.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import typing as t
from collections.abc import Mapping

try:
    import tomli_w
except ImportError:  # reported by render_config(), so a controller without it gets a message
    tomli_w = None


class BuildkitdConfigError(ValueError):
    """A config the renderer refuses; the message names the key and the fix."""


OPTION = "config"
HEADER = "# Managed by wcow.buildkit (win_buildkitd): edits here are replaced on the next run.\n"
GC_SPACE_KEYS_SINCE = (0, 17, 0)
CDI_SINCE = (0, 20, 0)
SECURITY_DESCRIPTOR_SINCE = (0, 13, 2)

# Value kinds.
SPACE = "disk space"  # bytes (integer) or a string such as "10GB" or "20%"
DURATION = "duration"  # seconds (integer) or a string such as "48h"
TABLE = "table"  # any table, not checked further


@dataclasses.dataclass(frozen=True)
class ListOf:
    item: t.Any


@dataclasses.dataclass(frozen=True)
class MapOf:
    value: t.Any


_TLS = {"cert": str, "key": str, "ca": str}
_GRPC = {"address": ListOf(str), "debugAddress": str, "uid": int, "gid": int, "securityDescriptor": str, "tls": _TLS}
_GC_POLICY = {"all": bool, "filters": ListOf(str), "keepDuration": DURATION, "keepBytes": SPACE,
              "reservedSpace": SPACE, "maxUsedSpace": SPACE, "minFreeSpace": SPACE}
_CONTAINERD = {
    "address": str, "enabled": bool, "labels": MapOf(str), "platforms": ListOf(str), "namespace": str,
    "runtime": {"name": str, "path": str, "options": TABLE},
    "gc": bool, "gckeepstorage": SPACE, "reservedSpace": SPACE, "maxUsedSpace": SPACE, "minFreeSpace": SPACE,
    "gcpolicy": ListOf(_GC_POLICY),
    "networkMode": str, "cniConfigPath": str, "cniBinaryPath": str, "cniPoolSize": int, "bridgeName": str,
    "bridgeSubnet": str, "snapshotter": str, "apparmor-profile": str, "selinux": bool, "max-parallelism": int,
    "defaultCgroupParent": str, "rootless": bool,
}
_REGISTRY = {"mirrors": ListOf(str), "http": bool, "insecure": bool, "ca": ListOf(str),
             "keypair": ListOf({"key": str, "cert": str}), "tlsconfigdir": ListOf(str)}
SCHEMA: Mapping[str, t.Any] = {
    "debug": bool, "trace": bool, "root": str, "insecure-entitlements": ListOf(str),
    "log": TABLE, "grpc": _GRPC, "otel": TABLE, "cdi": {"disabled": bool, "specDirs": ListOf(str),
                                                        "autoAllowed": ListOf(str)},
    "worker": {"containerd": _CONTAINERD}, "registry": MapOf(_REGISTRY), "dns": TABLE, "history": TABLE,
    "frontend": TABLE, "system": TABLE, "provenanceEnvDir": str,
}
# What a Windows build refuses to make sense of, with the way out.
_NOT_ON_WINDOWS = {("worker", "oci"): "Windows builds have only the containerd worker; put these settings "
                                      "under config.worker.containerd"}

# Settings a flag on the frozen command line overrides (buildkitd applies flags after the file).
FLAG_OF: Mapping[tuple[str, ...], str] = {
    ("root",): "--root", ("debug",): "--debug", ("grpc", "address"): "--addr",
    ("grpc", "tls", "cert"): "--tlscert", ("grpc", "tls", "key"): "--tlskey", ("grpc", "tls", "ca"): "--tlscacert",
    ("worker", "containerd", "address"): "--containerd-worker-addr",
    ("worker", "containerd", "cniConfigPath"): "--containerd-cni-config-path",
    ("worker", "containerd", "cniBinaryPath"): "--containerd-cni-binary-dir",
    ("cdi", "disabled"): "--cdi-disabled", ("cdi", "specDirs"): "--cdi-spec-dir",
}

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?")
_SPACE_TEXT = re.compile(r"\s*\d+(\.\d+)?\s*([KMGTP]i?B?|B|%)?\s*", re.I)
_DURATION_TEXT = re.compile(r"\s*(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+\s*")


@dataclasses.dataclass(frozen=True)
class RenderedConfig:
    text: str
    sha256: str
    warnings: tuple[str, ...]


def _version(version: str) -> tuple[int, int, int]:
    match = _VERSION.fullmatch(str(version).strip())
    if not match:
        raise BuildkitdConfigError(f"version: buildkit version {version!r} is not a version number; "
                                   "give it like '0.20.2'.")
    return int(match[1]), int(match[2]), int(match[3])


def _name(path: tuple[t.Any, ...]) -> str:
    text = OPTION
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            text += f".{part}"
        else:
            text += f'."{part}"'
    return text


def _nearest(word: str, choices: t.Iterable[str]) -> str | None:
    choices = list(choices)
    folded = {c.lower(): c for c in choices}
    if word.lower() in folded:
        return folded[word.lower()]
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return match[0] if match else None


def _kind(value: t.Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table (dictionary)"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _check(value: t.Any, spec: t.Any, path: tuple[t.Any, ...], errors: list[str]) -> None:
    if value is None:
        return
    if spec is bool or spec is str:
        if not isinstance(value, spec):
            errors.append(f"{_name(path)} must be {'a boolean' if spec is bool else 'a string'}, not {_kind(value)}.")
    elif spec is int:
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{_name(path)} must be an integer, not {_kind(value)}.")
    elif spec == SPACE:
        if not ((isinstance(value, int) and not isinstance(value, bool) and value >= 0)
                or (isinstance(value, str) and _SPACE_TEXT.fullmatch(value))):
            errors.append(f"{_name(path)} must be bytes (an integer) or a size such as '10GB' or '20%', not {value!r}.")
    elif spec == DURATION:
        if not ((isinstance(value, int) and not isinstance(value, bool) and value >= 0)
                or (isinstance(value, str) and _DURATION_TEXT.fullmatch(value))):
            errors.append(f"{_name(path)} must be seconds (an integer) or a duration such as '48h', not {value!r}.")
    elif spec == TABLE:
        if not isinstance(value, Mapping):
            errors.append(f"{_name(path)} must be a table (dictionary), not {_kind(value)}.")
    elif isinstance(spec, ListOf):
        if not isinstance(value, (list, tuple)):
            errors.append(f"{_name(path)} must be a list, not {_kind(value)}.")
            return
        for index, item in enumerate(value):
            _check(item, spec.item, (*path, index), errors)
    elif isinstance(spec, MapOf):
        if not isinstance(value, Mapping):
            errors.append(f"{_name(path)} must be a table (dictionary), not {_kind(value)}.")
            return
        for name, item in value.items():
            _check(item, spec.value, (*path, str(name)), errors)
    elif isinstance(spec, Mapping):
        if not isinstance(value, Mapping):
            errors.append(f"{_name(path)} must be a table (dictionary), not {_kind(value)}.")
            return
        for name, item in value.items():
            name = str(name)
            if (*path, name) in _NOT_ON_WINDOWS:
                errors.append(f"{_name((*path, name))}: {_NOT_ON_WINDOWS[(*path, name)]}.")
            elif name not in spec:
                near = _nearest(name, spec)
                hint = f"did you mean {near!r}? " if near else ""
                errors.append(f"{_name((*path, name))}: unknown key; {hint}valid keys here: "
                              f"{', '.join(sorted(spec))}.")
            else:
                _check(item, spec[name], (*path, name), errors)


def _plain(value: t.Any) -> t.Any:
    """Drop None, turn tagged str subclasses and tuples into plain values, sort table keys."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0])) if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value if v is not None]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


# (old key, new key) per table kind.
_GC_RENAMES = {"worker": ("gckeepstorage", "reservedSpace"), "policy": ("keepBytes", "reservedSpace")}
_GC_NEW_ONLY = ("maxUsedSpace", "minFreeSpace")


def _translate_table(table: dict[str, t.Any], kind: str, path: tuple[t.Any, ...], new: bool,
                     version: str, errors: list[str], notes: list[str]) -> None:
    old_key, new_key = _GC_RENAMES[kind]
    if old_key in table and new_key in table:
        errors.append(f"{_name(path)}: give {new_key!r} or {old_key!r}, not both (they are the same setting).")
        return
    if new and old_key in table:
        table[new_key] = table.pop(old_key)
        notes.append(f"{_name((*path, old_key))} is written as {new_key!r}, the key buildkit {version} reads "
                     f"(renamed in 0.17.0).")
    elif not new:
        if new_key in table:
            table[old_key] = table.pop(new_key)
        for key in _GC_NEW_ONLY:
            if key in table:
                errors.append(f"{_name((*path, key))}: buildkit {version} has no {key!r}; 0.17.0 or later is "
                              f"needed. Choose version 0.17.0 or newer, or use {old_key!r} only.")


def translate_gc(version: str, config: dict[str, t.Any], errors: list[str], notes: list[str]) -> None:
    """Rewrite the GC keys of ``config`` (in place) into the spelling ``version`` reads."""
    new = _version(version) >= GC_SPACE_KEYS_SINCE
    worker = ((config.get("worker") or {}).get("containerd"))
    if not isinstance(worker, dict):
        return
    path = ("worker", "containerd")
    _translate_table(worker, "worker", path, new, version, errors, notes)
    for index, policy in enumerate(worker.get("gcpolicy") or []):
        if isinstance(policy, dict):
            _translate_table(policy, "policy", (*path, "gcpolicy", index), new, version, errors, notes)


def _check_versioned(version: str, config: Mapping[str, t.Any], errors: list[str]) -> None:
    found = _version(version)
    if "cdi" in config and found < CDI_SINCE:
        errors.append(f"{_name(('cdi',))}: buildkit {version} has no CDI support; 0.20.0 or later is needed. "
                      "Choose version 0.20.0 or newer, or drop the cdi table.")
    grpc = config.get("grpc")
    if isinstance(grpc, Mapping) and "securityDescriptor" in grpc and found < SECURITY_DESCRIPTOR_SINCE:
        errors.append(f"{_name(('grpc', 'securityDescriptor'))}: buildkit {version} ignores it; 0.13.2 or later "
                      "is needed. Choose version 0.13.2 or newer, or use allowed_groups.")


def check_config(version: str, config: Mapping[str, t.Any] | None) -> list[str]:
    """Every problem with ``config`` for buildkit ``version``, each naming the key and the fix (empty: fine)."""
    if config is None:
        return []
    if not isinstance(config, Mapping):
        return [f"{OPTION} must be a dictionary of buildkitd.toml settings, not {_kind(config)}."]
    errors: list[str] = []
    _check(config, SCHEMA, (), errors)
    if not errors:
        _check_versioned(version, config, errors)
    return errors


def prepare(version: str, config: Mapping[str, t.Any] | None) -> tuple[dict[str, t.Any], list[str]]:
    """``config`` checked and written the way ``version`` reads it: (plain dict, notes). Raises on any problem."""
    errors = check_config(version, config)
    notes: list[str] = []
    plain = _plain(config or {})
    if not errors:
        translate_gc(version, plain, errors, notes)
    if errors:
        raise BuildkitdConfigError(" ".join(errors))
    return plain, notes


def render_config(version: str, config: Mapping[str, t.Any] | None) -> RenderedConfig:
    """buildkitd.toml for ``version``: its text, digest and notes (GC keys renamed for the target)."""
    plain, notes = prepare(version, config)
    if tomli_w is None:
        raise BuildkitdConfigError("The controller lacks the Python package tomli_w, needed to write "
                                   "buildkitd.toml; install the collection's requirements.txt.")
    text = HEADER + tomli_w.dumps(plain)
    return RenderedConfig(text=text, sha256=digest(text), warnings=tuple(notes))


def digest(text: str) -> str:
    """sha256 of the file as written on the host (UTF-8, no BOM): compare with the state script's digest."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shadowed_by_flags(config: Mapping[str, t.Any] | None, argv: list[str]) -> list[str]:
    """Warnings for settings in ``config`` that a flag on the service's command line overrides."""
    warnings = []
    for path, flag in FLAG_OF.items():
        value: t.Any = config or {}
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None and flag in argv:
            warnings.append(f"{_name(path)} is overridden by {flag} on the service command line; "
                            "set it through the module option instead.")
    return warnings
