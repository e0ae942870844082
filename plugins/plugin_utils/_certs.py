# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates for buildkitd's TCP listener (mutual TLS), made on the controller (internal).

Everything here runs on the controller with the ``cryptography`` package; nothing
is hand-built ASN.1.

* ``ensure_ca(folder)``: a CA kept in a folder the user chooses, created once and
  reused by every host and every later run.  Ansible runs hosts in parallel forks,
  so creation holds an exclusive lock on ``<folder>/.lock``.
* ``ensure_server_cert(ca, folder, names)``: per host, SANs = its FQDN, short name
  and IP addresses, EKU serverAuth; renewed when within ``renew_days`` of expiry,
  when the names changed, or when the CA is not the one that signed it.
* ``ensure_client_bundle(ca, folder)``: ca.pem, cert.pem, key.pem for buildx
  (EKU clientAuth), renewed on the same rules.
* ``validate_material``: a user's own PKI (PEM text or controller paths): the
  certificate matches its key, was issued by the CA, is in date and allows its use.

Private keys are written owner-only (0600, whatever the umask), through a
temporary file renamed into place, so a reader never sees half a key.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import ipaddress
import os
import pathlib
import typing as t

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # reported by require_cryptography(), so the controller gets a message, not a traceback
    x509 = None

try:
    import fcntl
except ImportError:  # not POSIX: no Ansible controller runs there
    fcntl = None


class CertError(ValueError):
    """Certificate material that cannot be used or made; the message names the file and the fix."""


CA_DAYS = 3650
LEAF_DAYS = 825
RENEW_DAYS = 30
CA_CERT, CA_KEY = "ca.pem", "ca-key.pem"
SERVER_CERT, SERVER_KEY = "cert.pem", "key.pem"
CLIENT_CERT, CLIENT_KEY = "cert.pem", "key.pem"
PURPOSES = ("server", "client")


def require_cryptography() -> None:
    if x509 is None:
        raise CertError("The controller lacks the Python package cryptography, needed to make TLS certificates; "
                        "install the collection's requirements.txt, or pass your own certificates.")


@dataclasses.dataclass
class CA:
    cert: t.Any
    key: t.Any
    cert_path: pathlib.Path
    changed: bool = False

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


@dataclasses.dataclass
class Issued:
    """A leaf certificate on the controller: paths, and why it was (re)issued (None: reused)."""
    cert_path: pathlib.Path
    key_path: pathlib.Path
    ca_path: pathlib.Path
    reason: str | None
    not_after: datetime.datetime

    @property
    def changed(self) -> bool:
        return self.reason is not None


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or datetime.datetime.now(datetime.timezone.utc)


def write_private(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` readable by its owner only (0600), atomically."""
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is masked by the umask; this is not
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_public(path: pathlib.Path, data: bytes) -> None:
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _folder(folder: str | os.PathLike) -> pathlib.Path:
    path = pathlib.Path(folder).expanduser()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise CertError(f"tls_ca_dir: cannot create {path}: {exc.strerror}; choose a folder the controller user "
                        "can write.") from None
    return path


@contextlib.contextmanager
def _locked(folder: pathlib.Path) -> t.Iterator[None]:
    """Exclusive lock across Ansible's forks (each host runs in its own process)."""
    if fcntl is None:
        yield
        return
    with open(folder / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _new_key() -> t.Any:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: t.Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _builder(subject: str, issuer: t.Any, public_key: t.Any, days: int, now: datetime.datetime) -> t.Any:
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))  # tolerate a host clock a little behind
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _make_ca(common_name: str, days: int, now: datetime.datetime) -> tuple[t.Any, t.Any]:
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (_builder(common_name, name, key.public_key(), days, now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def _load_cert(data: bytes, what: str) -> t.Any:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise CertError(f"{what}: not a PEM certificate (expected '-----BEGIN CERTIFICATE-----').") from None


def _load_key(data: bytes, what: str) -> t.Any:
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise CertError(f"{what}: not an unencrypted PEM private key (an encrypted key cannot be used by "
                        "buildkitd).") from None


def ensure_ca(folder: str | os.PathLike, common_name: str = "wcow.buildkit CA", days: int = CA_DAYS,
              renew_days: int = RENEW_DAYS, now: datetime.datetime | None = None) -> CA:
    """The CA in ``folder``: loaded when present and valid for more than ``renew_days``, else (re)made."""
    require_cryptography()
    now = _now(now)
    path = _folder(folder)
    cert_path, key_path = path / CA_CERT, path / CA_KEY
    with _locked(path):
        if cert_path.exists() and key_path.exists():
            cert = _load_cert(cert_path.read_bytes(), str(cert_path))
            key = _load_key(key_path.read_bytes(), str(key_path))
            if not _same_key(cert, key):
                raise CertError(f"{cert_path} does not belong to {key_path}; restore the pair, or move both away "
                                "to make a new CA (every host and client then gets new certificates).")
            if cert.not_valid_after_utc - now > datetime.timedelta(days=renew_days):
                return CA(cert, key, cert_path)
        elif cert_path.exists() or key_path.exists():
            present = cert_path if cert_path.exists() else key_path
            raise CertError(f"{present} is there without its partner; restore it, or remove {present.name} to make "
                            "a new CA.")
        cert, key = _make_ca(common_name, days, now)
        write_private(key_path, _key_pem(key))
        write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return CA(cert, key, cert_path, changed=True)


def server_names(fqdn: str, short_name: str | None = None,
                 addresses: t.Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """SAN lists for a host: DNS names (FQDN, short name; IP literals moved to the IPs) and IP addresses."""
    dns: list[str] = []
    ips: list[str] = []
    if short_name is None and fqdn and not _is_ip(fqdn):
        short_name = fqdn.split(".")[0]
    for item in [fqdn, short_name, *addresses]:
        text = str(item or "").strip().rstrip(".")
        if not text:
            continue
        try:
            ip = str(ipaddress.ip_address(text))
        except ValueError:
            if text.lower() not in (d.lower() for d in dns):
                dns.append(text)
        else:
            if ip not in ips:
                ips.append(ip)
    if not dns and not ips:
        raise CertError("tls: the server certificate needs at least one name or address (inventory_hostname, "
                        "ansible_host or tls_san).")
    return dns, ips


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(str(text).strip())
    except ValueError:
        return False
    return True


def _sans(cert: t.Any) -> tuple[list[str], list[str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return san.get_values_for_type(x509.DNSName), [str(a) for a in san.get_values_for_type(x509.IPAddress)]


def _eku(cert: t.Any) -> list[t.Any] | None:
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None


def _same_key(cert: t.Any, key: t.Any) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def _issued_by(cert: t.Any, ca_cert: t.Any) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _issue(ca: CA, common_name: str, purpose: str, days: int, now: datetime.datetime,
           dns: list[str] = (), ips: list[str] = ()) -> tuple[t.Any, t.Any]:
    key = _new_key()
    builder = (_builder(common_name, ca.cert.subject, key.public_key(), days, now)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if purpose == "server"
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                              critical=False))
    if dns or ips:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]), critical=False)
    return builder.sign(ca.key, hashes.SHA256()), key


def renewal_reason(cert_path: pathlib.Path, key_path: pathlib.Path, ca: CA, renew_days: int,
                   now: datetime.datetime, dns: list[str] | None = None, ips: list[str] | None = None) -> str | None:
    """Why the certificate at ``cert_path`` must be (re)issued, or None when it can stay."""
    if not cert_path.exists() or not key_path.exists():
        return "missing"
    try:
        cert = _load_cert(cert_path.read_bytes(), str(cert_path))
        key = _load_key(key_path.read_bytes(), str(key_path))
    except CertError as exc:
        return f"unreadable ({exc})"
    if not _same_key(cert, key):
        return "key does not match the certificate"
    if not _issued_by(cert, ca.cert):
        return "not issued by the current CA"
    left = cert.not_valid_after_utc - now
    if left <= datetime.timedelta(days=renew_days):
        return f"expires {cert.not_valid_after_utc:%Y-%m-%d}, within {renew_days} days"
    if dns is not None or ips is not None:
        have_dns, have_ips = _sans(cert)
        if sorted(d.lower() for d in have_dns) != sorted(d.lower() for d in dns or []) or \
                sorted(have_ips) != sorted(ips or []):
            return "names changed"
    return None


def _ensure_leaf(ca: CA, folder: str | os.PathLike, cert_name: str, key_name: str, common_name: str, purpose: str,
                 days: int, renew_days: int, now: datetime.datetime | None,
                 dns: list[str] | None = None, ips: list[str] | None = None) -> Issued:
    now = _now(now)
    path = _folder(folder)
    cert_path, key_path, ca_path = path / cert_name, path / key_name, path / CA_CERT
    with _locked(path):
        reason = renewal_reason(cert_path, key_path, ca, renew_days, now, dns, ips)
        if reason is not None:
            cert, key = _issue(ca, common_name, purpose, days, now, list(dns or []), list(ips or []))
            write_private(key_path, _key_pem(key))
            write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        if not ca_path.exists() or ca_path.read_bytes() != ca.cert_pem:
            write_public(ca_path, ca.cert_pem)
        not_after = _load_cert(cert_path.read_bytes(), str(cert_path)).not_valid_after_utc
    return Issued(cert_path, key_path, ca_path, reason, not_after)


def ensure_server_cert(ca: CA, folder: str | os.PathLike, dns: list[str], ips: list[str], days: int = LEAF_DAYS,
                       renew_days: int = RENEW_DAYS, now: datetime.datetime | None = None) -> Issued:
    """The server certificate of one host in ``folder`` (cert.pem, key.pem, ca.pem), (re)issued when needed."""
    require_cryptography()
    if not dns and not ips:
        raise CertError("tls: the server certificate needs at least one DNS name or IP address.")
    common_name = (dns or ips)[0]
    return _ensure_leaf(ca, folder, SERVER_CERT, SERVER_KEY, common_name, "server", days, renew_days, now, dns, ips)


def ensure_client_bundle(ca: CA, folder: str | os.PathLike, common_name: str = "buildx-client",
                         days: int = LEAF_DAYS, renew_days: int = RENEW_DAYS,
                         now: datetime.datetime | None = None) -> Issued:
    """The buildx client bundle in ``folder`` (ca.pem, cert.pem, key.pem), (re)issued when needed."""
    require_cryptography()
    return _ensure_leaf(ca, folder, CLIENT_CERT, CLIENT_KEY, common_name, "client", days, renew_days, now)


def read_material(option: str, value: str) -> bytes:
    """A user-given PEM: the text itself when it holds a PEM block, else a path on the controller."""
    if not isinstance(value, str) or not value.strip():
        raise CertError(f"{option}: give PEM text or a path to a PEM file on the controller.")
    if "-----BEGIN " in value:
        return value.encode("ascii", errors="replace")
    path = pathlib.Path(value).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CertError(f"{option}: cannot read {path}: {exc.strerror}; give PEM text or a readable file.") from None


def validate_material(cert_pem: bytes, key_pem: bytes, ca_pem: bytes, purpose: str = "server",
                      names: tuple[str, str, str] = ("tls_cert", "tls_key", "tls_ca"),
                      now: datetime.datetime | None = None) -> list[str]:
    """Problems with user-provided material (empty: usable). ``names`` are the options named in messages."""
    require_cryptography()
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    now = _now(now)
    try:
        cert = _load_cert(cert_pem, names[0])
        key = _load_key(key_pem, names[1])
        ca_cert = _load_cert(ca_pem, names[2])
    except CertError as exc:
        return [str(exc)]
    errors = []
    if not _same_key(cert, key):
        errors.append(f"{names[1]}: this key does not belong to the certificate in {names[0]}; give the matching pair.")
    if not _issued_by(cert, ca_cert):
        errors.append(f"{names[0]}: not issued by the CA in {names[2]} (issuer {cert.issuer.rfc4514_string()!r}); "
                      "give the CA that signed it.")
    if cert.not_valid_after_utc <= now:
        errors.append(f"{names[0]}: expired on {cert.not_valid_after_utc:%Y-%m-%d}; renew it.")
    elif cert.not_valid_before_utc > now:
        errors.append(f"{names[0]}: not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC.")
    eku = _eku(cert)
    wanted = ExtendedKeyUsageOID.SERVER_AUTH if purpose == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    if eku is not None and wanted not in eku:
        errors.append(f"{names[0]}: its extended key usage lacks {purpose}Auth, so a TLS peer refuses it; "
                      f"issue it with {purpose}Auth.")
    return errors


def describe(cert_path: pathlib.Path) -> dict[str, t.Any]:
    """Facts for the module's result: subject, SANs, expiry."""
    cert = _load_cert(pathlib.Path(cert_path).read_bytes(), str(cert_path))
    dns, ips = _sans(cert)
    return {"subject": cert.subject.rfc4514_string(), "dns_names": dns, "ip_addresses": ips,
            "not_after": cert.not_valid_after_utc.isoformat()}
