"""Contracts of verify_file.ps1 and download_file.ps1 (release archives on the host).

download_file really downloads, but only from this machine (127.0.0.1 / localhost):
tests serve releases with tests/fixtures/fake_github.py and never reach the internet.
The fault `corrupt_download` flips the downloaded bytes, as a broken proxy would.
"""

from __future__ import annotations

import hashlib
import http.client
import ssl
import typing as t
import urllib.parse

from .host import Host, ScriptFailure
from .registry import script

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
_ALGORITHMS = {"SHA256": "sha256", "SHA512": "sha512"}


def _algorithm(params: dict[str, t.Any]) -> str:
    name = str(params.get("Algorithm") or "SHA256").upper()
    if name not in _ALGORITHMS:
        # ValidateSet rejects it before the script body runs.
        raise ScriptFailure(f"Cannot validate argument on parameter 'Algorithm'. The argument \"{name}\" does not "
                            "belong to the set \"SHA256,SHA512\"")
    return name


def _digest(data: bytes, algorithm: str) -> str:
    return hashlib.new(_ALGORITHMS[algorithm], data).hexdigest()


@script("verify_file")
def verify_file(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    path = params["Path"]
    algorithm = _algorithm(params)
    expected = str(params.get("Hash") or "").lower()
    entry = host.file(path)
    if entry is None:
        if expected:
            raise ScriptFailure(f"checksum check failed: {path} does not exist")
        return {"path": path, "exists": False, "sha256": None, "algorithm": algorithm, "digest": None,
                "changed": False}
    data = host.read_bytes(path)
    digest = _digest(data, algorithm)
    if expected and digest != expected:
        if params.get("RemoveOnMismatch", True):
            host.remove_file(path)
            host.event("verify_file_removed", path)
        raise ScriptFailure(f"checksum mismatch for {path}: expected {algorithm.lower()} {expected}, actual {digest}")
    return {"path": path, "exists": True, "sha256": entry["sha256"], "algorithm": algorithm, "digest": digest,
            "size": len(data), "changed": False}


def _local(url: str, what: str) -> urllib.parse.SplitResult:
    parsed = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or parsed.hostname not in _LOCAL_HOSTS:
        raise ScriptFailure(f"Unable to connect to the remote server ({url}): the simulated host only reaches "
                            f"127.0.0.1 ({what})")
    return parsed


def _tls_context(validate_certs: bool) -> ssl.SSLContext:
    """The host trusts the system store; ValidateCerts false skips the check (-SkipCertificateCheck on
    PowerShell 7, a validation callback on 5.1)."""
    return ssl.create_default_context() if validate_certs else ssl._create_unverified_context()  # noqa: S323


def _fetch(url: str, proxy: str, validate_certs: bool = True) -> bytes:
    """GET url like Invoke-WebRequest: follows redirects, through the proxy when one is given."""
    for _redirect in range(5):
        target = _local(url, "Url")
        via = _local(proxy, "Proxy") if proxy else target
        if via.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                via.hostname, via.port, timeout=30, context=_tls_context(validate_certs))
        else:
            connection = http.client.HTTPConnection(via.hostname, via.port, timeout=30)
        try:
            # Through a proxy the request line carries the absolute URL.
            origin_form = urllib.parse.urlunsplit(("", "", target.path or "/", target.query, ""))
            connection.request("GET", url if proxy else origin_form)
            response = connection.getresponse()
            body = response.read()
        except ssl.SSLCertVerificationError:
            # Windows PowerShell 5.1's text for a certificate the host does not trust.
            raise ScriptFailure(f"The underlying connection was closed: Could not establish trust relationship for "
                                f"the SSL/TLS secure channel. ({url})") from None
        except OSError as exc:
            raise ScriptFailure(f"Unable to connect to the remote server ({url}): {exc}") from None
        finally:
            connection.close()
        if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
            url = urllib.parse.urljoin(url, response.getheader("Location"))
            continue
        if response.status != 200:
            raise ScriptFailure(f"The remote server returned an error: ({response.status}) {response.reason}. ({url})")
        return body
    raise ScriptFailure(f"Too many automatic redirections were attempted. ({url})")


@script("download_file")
def download_file(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    url, path = params["Url"], params["Path"]
    algorithm = _algorithm(params)
    expected = str(params.get("Hash") or "").lower()
    entry = host.file(path)
    if expected and entry is not None:
        present = _digest(host.read_bytes(path), algorithm)
        if present == expected:
            return {"path": path, "url": url, "sha256": entry["sha256"], "algorithm": algorithm, "digest": present,
                    "changed": False}
    data = _fetch(url, str(params.get("Proxy") or ""), bool(params.get("ValidateCerts", True)))
    if host.fault("corrupt_download"):
        data = bytes(b ^ 0xFF for b in data[:64]) + data[64:] + b"\0"
    digest = _digest(data, algorithm)
    if expected and digest != expected:
        # The real script wrote a temporary file and deleted it: nothing at Path changes.
        host.event("download_file_rejected", url)
        raise ScriptFailure(f"checksum mismatch for {url}: expected {algorithm.lower()} {expected}, actual {digest}; "
                            "the download was deleted")
    sha256 = hashlib.sha256(data).hexdigest()
    same = entry is not None and entry["sha256"] == sha256
    host.write_file(path, data)
    host.event("download_file", url, path, f"proxy={params.get('Proxy') or ''}")
    return {"path": path, "url": url, "sha256": sha256, "algorithm": algorithm, "digest": digest, "changed": not same}
