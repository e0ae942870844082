# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side TLS material: certificates parsed back and checked (SANs, EKUs, expiry, key modes)."""
from __future__ import annotations

import concurrent.futures
import datetime
import ipaddress
import ssl
import stat
import threading

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _certs
from ansible_collections.wcow.buildkit.plugins.plugin_utils._certs import CertError

NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.timezone.utc)


def _cert(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def ca(tmp_path):
    return _certs.ensure_ca(tmp_path / "ca", now=NOW)


def test_ca_is_created_once_and_reused(tmp_path):
    first = _certs.ensure_ca(tmp_path / "ca", now=NOW)
    second = _certs.ensure_ca(tmp_path / "ca", now=NOW + datetime.timedelta(days=400))
    assert first.changed and not second.changed
    assert first.cert.serial_number == second.cert.serial_number
    assert _mode(tmp_path / "ca" / "ca-key.pem") == 0o600 and _mode(tmp_path / "ca") == 0o700
    basic = first.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca is True


def test_ca_key_is_owner_only_whatever_the_umask(tmp_path):
    import os
    old = os.umask(0)
    try:
        _certs.ensure_ca(tmp_path / "ca", now=NOW)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "ca" / "ca-key.pem") == 0o600


def test_parallel_forks_share_one_ca(tmp_path):
    barrier = threading.Barrier(4)

    def make(_index):
        barrier.wait()
        return _certs.ensure_ca(tmp_path / "ca", now=NOW).cert.serial_number

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        serials = set(pool.map(make, range(4)))
    assert len(serials) == 1


def test_server_cert_has_the_host_names_and_server_auth(ca, tmp_path):
    dns, ips = _certs.server_names("win1.corp.example", addresses=["10.0.0.5", "fe80::1", "win1.corp.example"])
    assert (dns, ips) == (["win1.corp.example", "win1"], ["10.0.0.5", "fe80::1"])
    issued = _certs.ensure_server_cert(ca, tmp_path / "hosts" / "win1", dns, ips, now=NOW)
    cert = _cert(issued.cert_path)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["win1.corp.example", "win1"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.5"), ipaddress.ip_address("fe80::1")]
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    cert.verify_directly_issued_by(ca.cert)
    assert cert.not_valid_after_utc == NOW + datetime.timedelta(days=_certs.LEAF_DAYS)
    assert _mode(issued.key_path) == 0o600 and issued.changed and issued.reason == "missing"
    assert issued.ca_path.read_bytes() == ca.cert_pem


def test_an_ip_only_host_gets_no_bogus_short_name():
    assert _certs.server_names("10.0.0.5") == ([], ["10.0.0.5"])
    with pytest.raises(CertError, match="needs at least one name or address"):
        _certs.server_names("")


def test_client_bundle_has_client_auth_and_works_with_the_server_cert(ca, tmp_path):
    dns, ips = _certs.server_names("localhost", addresses=["127.0.0.1"])
    server = _certs.ensure_server_cert(ca, tmp_path / "server", dns, ips, now=NOW)
    client = _certs.ensure_client_bundle(ca, tmp_path / "client", now=NOW)
    assert sorted(p.name for p in (tmp_path / "client").iterdir() if not p.name.startswith(".")) == [
        "ca.pem", "cert.pem", "key.pem"]
    cert = _cert(client.cert_path)
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert _mode(client.key_path) == 0o600
    # the material loads into real TLS contexts on both sides, with client verification required
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(server.cert_path, server.key_path)
    server_ctx.load_verify_locations(server.ca_path)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_cert_chain(client.cert_path, client.key_path)
    client_ctx.load_verify_locations(client.ca_path)


def test_second_run_reuses_and_renewal_happens_near_expiry(ca, tmp_path):
    dns, ips = ["win1"], ["10.0.0.5"]
    first = _certs.ensure_server_cert(ca, tmp_path / "h", dns, ips, now=NOW)
    again = _certs.ensure_server_cert(ca, tmp_path / "h", dns, ips, now=NOW + datetime.timedelta(days=700))
    assert not again.changed and again.not_after == first.not_after
    late = NOW + datetime.timedelta(days=_certs.LEAF_DAYS - 10)
    renewed = _certs.ensure_server_cert(ca, tmp_path / "h", dns, ips, renew_days=30, now=late)
    assert renewed.changed and "within 30 days" in renewed.reason
    assert renewed.not_after == late + datetime.timedelta(days=_certs.LEAF_DAYS)


def test_changed_names_or_a_new_ca_reissue(ca, tmp_path):
    _certs.ensure_server_cert(ca, tmp_path / "h", ["win1"], [], now=NOW)
    assert _certs.ensure_server_cert(ca, tmp_path / "h", ["win1", "win1.corp"], [], now=NOW).reason == "names changed"
    other = _certs.ensure_ca(tmp_path / "other-ca", now=NOW)
    assert _certs.ensure_server_cert(other, tmp_path / "h", ["win1", "win1.corp"], [], now=NOW).reason == \
        "not issued by the current CA"


def test_ca_near_expiry_is_renewed(tmp_path):
    first = _certs.ensure_ca(tmp_path / "ca", days=40, now=NOW)
    later = _certs.ensure_ca(tmp_path / "ca", days=40, renew_days=30, now=NOW + datetime.timedelta(days=15))
    assert later.changed and later.cert.serial_number != first.cert.serial_number


def test_half_a_ca_is_refused(tmp_path):
    _certs.ensure_ca(tmp_path / "ca", now=NOW)
    (tmp_path / "ca" / "ca-key.pem").unlink()
    with pytest.raises(CertError, match="ca.pem is there without its partner"):
        _certs.ensure_ca(tmp_path / "ca", now=NOW)


def test_user_material_is_validated(ca, tmp_path):
    server = _certs.ensure_server_cert(ca, tmp_path / "s", ["win1"], [], now=NOW)
    client = _certs.ensure_client_bundle(ca, tmp_path / "c", now=NOW)
    other = _certs.ensure_ca(tmp_path / "other", now=NOW)
    cert, key, ca_pem = server.cert_path.read_bytes(), server.key_path.read_bytes(), ca.cert_pem
    assert _certs.validate_material(cert, key, ca_pem, now=NOW) == []
    errors = _certs.validate_material(cert, client.key_path.read_bytes(), other.cert_pem, now=NOW)
    assert [e.split(":", maxsplit=1)[0] for e in errors] == ["tls_key", "tls_cert"]
    assert "does not belong" in errors[0] and "not issued by the CA in tls_ca" in errors[1]
    assert "expired on" in _certs.validate_material(cert, key, ca_pem, now=NOW + datetime.timedelta(days=900))[0]
    wrong_use = _certs.validate_material(client.cert_path.read_bytes(), client.key_path.read_bytes(), ca_pem, now=NOW)
    assert len(wrong_use) == 1 and "lacks serverAuth" in wrong_use[0]
    assert "not a PEM certificate" in _certs.validate_material(b"junk", key, ca_pem)[0]


def test_material_is_read_from_text_or_path(ca, tmp_path):
    assert _certs.read_material("tls_ca", ca.cert_pem.decode()) == ca.cert_pem
    assert _certs.read_material("tls_ca", str(ca.cert_path)) == ca.cert_pem
    with pytest.raises(CertError, match=r"tls_ca: cannot read .*nope\.pem"):
        _certs.read_material("tls_ca", str(tmp_path / "nope.pem"))


def test_describe_reports_sans_and_expiry(ca, tmp_path):
    issued = _certs.ensure_server_cert(ca, tmp_path / "h", ["win1"], ["10.0.0.5"], now=NOW)
    facts = _certs.describe(issued.cert_path)
    assert facts["dns_names"] == ["win1"] and facts["ip_addresses"] == ["10.0.0.5"]
    assert facts["not_after"].startswith("2029-02-28")
