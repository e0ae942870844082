# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_buildkitd's ``registries`` option: buildkitd.toml ``[registry."<host>"]`` tables and the files they name (internal).

BuildKit pulls base images and pushes results through its own resolver (moby/buildkit util/resolver), configured
only by buildkitd.toml's ``[registry."<host>"]`` tables: ``mirrors``, ``http``, ``insecure``, ``ca`` (a list of PEM
files) and ``keypair`` (``[{cert, key}]``), plus ``tlsconfigdir`` (folders whose ``*.crt`` are CAs and
``*.cert``/``*.key`` client pairs). buildkitd has no default certs folder (nothing like containerd's ``certs.d``
or Docker's ``certs.d`` is read unless a table names it), and containerd's CRI registry settings never reach it.
A mirror is a registry of its own: its ``http``/``insecure``/``ca`` come from its own table, not the upstream's.

Here each registry's CA and client pair (PEM text or a controller path) become files in
``<certs_dir>\\<host>\\`` (``ca.crt``, ``client.cert``, ``client.key``; a ``:`` in ``host:port`` is ``_``, as
Windows file names cannot hold it), uploaded through win_buildkitd's TLS-file plumbing (digests read in the
state round trip, written and buildkitd restarted only when they change), and the table names them. A Windows
path instead (``C:\\pki\\ca.pem``) is a file already on the host: named as it is, checked to exist.
"""

from __future__ import annotations

import dataclasses
import difflib
import ntpath
import re
import typing as t

from . import _certs

OPTION = "registries"
DEFAULT_CERTS_DIR = r"C:\ProgramData\buildkitd\certs.d"
KEYS = ("mirrors", "http", "insecure", "ca", "client_cert", "client_key")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_MIRROR = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?(?:/\S*)?$")


class RegistryError(ValueError):
    """A registries value the module refuses; the message names the key and the fix."""


@dataclasses.dataclass(frozen=True)
class Registries:
    # buildkitd.toml's `registry` table, keyed by host.
    table: dict[str, dict[str, t.Any]]
    # (host path, PEM text) to upload, the private keys among them, and (option, path) of files already on the host.
    files: tuple[tuple[str, str], ...] = ()
    keys: tuple[str, ...] = ()
    host_files: tuple[tuple[str, str], ...] = ()


def is_host_path(value: t.Any) -> bool:
    r"""A Windows absolute path (C:\x, C:/x or \\server\share\x), not PEM text or a controller path."""
    text = str(value or "").strip()
    return bool(re.match(r"^[A-Za-z]:[\\/]", text) or text.startswith("\\\\")) and "-----BEGIN " not in text


def folder_name(host: str) -> str:
    """The host's folder under certs_dir: `registry.local:5000` -> `registry.local_5000` (no `:` in Windows names)."""
    return host.replace(":", "_").replace("[", "").replace("]", "")


def _nearest(word: str, choices: t.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]}?" if close else f"; valid keys: {', '.join(choices)}"


def _check_host(host: t.Any) -> str:
    if not isinstance(host, str) or not host.strip():
        raise RegistryError(f"{OPTION}: each key is a registry host such as docker.io or registry.example.com:5000, "
                            f"got {host!r}")
    if "://" in host:
        bare = host.split("://", 1)[1].split("/", 1)[0]
        raise RegistryError(f"{OPTION}: {host!r} is a URL; key each registry by its host (and port) only, e.g. "
                            f"{bare!r} (buildkitd speaks https unless http: true)")
    if not _HOST.match(host):
        raise RegistryError(f"{OPTION}: {host!r} is not a registry host; give host or host:port, e.g. "
                            "registry.example.com:5000 (no path, no spaces)")
    return host


def _bool(where: str, value: t.Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise RegistryError(f"{where} must be true or false, got {value!r}")


def _strings(where: str, value: t.Any) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
        raise RegistryError(f"{where} must be a string or a list of strings, got {value!r}")
    return [v.strip() for v in items]


def _check_ca(where: str, pem: bytes) -> None:
    _certs.require_cryptography()
    from cryptography import x509  # pylint: disable=import-outside-toplevel

    try:
        if not x509.load_pem_x509_certificates(pem):
            raise ValueError("no certificate")
    except ValueError:
        raise RegistryError(f"{where}: not a PEM certificate (-----BEGIN CERTIFICATE-----); give the registry's "
                            "CA certificate as PEM text or a path to one on the controller") from None


def _check_pair(where: str, cert_pem: bytes, key_pem: bytes) -> None:
    _certs.require_cryptography()
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise RegistryError(f"{where}.client_cert: not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise RegistryError(f"{where}.client_key: not an unencrypted PEM private key (buildkitd cannot ask for a "
                            "passphrase)") from None
    public = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*public) != key.public_key().public_bytes(*public):
        raise RegistryError(f"{where}.client_key does not belong to {where}.client_cert")


def _material(where: str, value: str) -> bytes:
    """PEM text or a controller file's bytes, ending in one newline (templating drops a PEM text's last one)."""
    try:
        return _certs.read_material(where, value).rstrip(b"\r\n") + b"\n"
    except _certs.CertError as exc:
        raise RegistryError(str(exc)) from None


def plan(registries: t.Mapping[str, t.Any] | None, certs_dir: str = DEFAULT_CERTS_DIR) -> Registries:
    """The registry table and the files it names, checked; None or {} -> no table, no files."""
    if not registries:
        return Registries(table={})
    if not isinstance(registries, t.Mapping):
        raise RegistryError(f"{OPTION} must be a dict of registry host -> settings, got {registries!r}")
    table: dict[str, dict[str, t.Any]] = {}
    files: list[tuple[str, str]] = []
    keys: list[str] = []
    host_files: list[tuple[str, str]] = []
    for host, settings in registries.items():
        host = _check_host(host)
        where = f"{OPTION}.{host}"
        settings = settings or {}
        if not isinstance(settings, t.Mapping):
            raise RegistryError(f"{where} must be a dict with any of {', '.join(KEYS)}, got {settings!r}")
        for key in settings:
            if key not in KEYS:
                raise RegistryError(f"{where}: unknown key {key!r}{_nearest(str(key), KEYS)}")
        entry: dict[str, t.Any] = {}
        mirrors = _strings(f"{where}.mirrors", settings.get("mirrors"))
        for mirror in mirrors:
            if "://" in mirror or not _MIRROR.match(mirror):
                raise RegistryError(f"{where}.mirrors: {mirror!r}: give host[:port][/path] without a scheme, e.g. "
                                    "mirror.example.com or harbor.example.com/proxy.docker.io (buildkitd speaks "
                                    "https; a mirror on plain http needs its own entry with http: true)")
        if mirrors:
            entry["mirrors"] = mirrors
        for flag in ("http", "insecure"):
            value = _bool(f"{where}.{flag}", settings.get(flag))
            if value is not None:
                entry[flag] = value
        folder = ntpath.join(certs_dir.rstrip("\\"), folder_name(host))
        cas = []
        for index, value in enumerate(_strings(f"{where}.ca", settings.get("ca"))):
            if is_host_path(value):
                cas.append(value)
                host_files.append((f"{where}.ca", value))
                continue
            pem = _material(f"{where}.ca", value)
            _check_ca(f"{where}.ca", pem)
            path = ntpath.join(folder, "ca.crt" if index == 0 else f"ca-{index + 1}.crt")
            files.append((path, pem.decode("ascii", errors="replace")))
            cas.append(path)
        if cas:
            entry["ca"] = cas
        cert, key = settings.get("client_cert"), settings.get("client_key")
        if bool(cert) != bool(key):
            missing = "client_key" if cert else "client_cert"
            raise RegistryError(f"{where}.{missing} missing: a client certificate needs both client_cert and client_key")
        if cert and key:
            pair = {}
            loaded = {}
            for name, value, file_name in (("cert", cert, "client.cert"), ("key", key, "client.key")):
                if is_host_path(value):
                    pair[name] = value
                    host_files.append((f"{where}.client_{name}", value))
                    continue
                loaded[name] = _material(f"{where}.client_{name}", value)
                path = ntpath.join(folder, file_name)
                files.append((path, loaded[name].decode("ascii", errors="replace")))
                pair[name] = path
                if name == "key":
                    keys.append(path)
            if len(loaded) == 2:
                _check_pair(where, loaded["cert"], loaded["key"])
            entry["keypair"] = [{"cert": pair["cert"], "key": pair["key"]}]
        if entry:
            table[host] = entry
    return Registries(table=table, files=tuple(files), keys=tuple(keys), host_files=tuple(host_files))


def merge(config: t.Mapping[str, t.Any] | None, table: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
    """config with the registries' tables added under `registry`; a host in both is refused (one place each)."""
    if not table:
        return dict(config) if config is not None else None
    config = dict(config or {})
    own = config.get("registry") or {}
    if not isinstance(own, t.Mapping):
        return config  # render_config names the bad type
    both = sorted(set(own) & set(table))
    if both:
        raise RegistryError(f"{OPTION}: {', '.join(both)} is also under config.registry; set each registry in one "
                            "place (registries places its CA and client files on the host; config.registry takes "
                            "paths already there)")
    config["registry"] = {**own, **table}
    return config
