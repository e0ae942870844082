"""download_file's twin over HTTPS with a certificate the host does not trust (127.0.0.1 only)."""

from __future__ import annotations

import datetime
import hashlib
import http.server
import ipaddress
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from wcow_sim.artifacts import download_file
from wcow_sim.host import Host, ScriptFailure
from wcow_sim.state import new_state

BODY = b"release archive bytes"


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


@pytest.fixture
def https_url(tmp_path):
    cert_file, key_file = _self_signed(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/containerd.tar.gz"
    server.shutdown()
    server.server_close()


PATH = r"C:\ProgramData\wcow.buildkit\artifacts\containerd.tar.gz"


def test_untrusted_certificate_is_refused_when_validating(https_url):
    host = Host("h", new_state())
    with pytest.raises(ScriptFailure, match="Could not establish trust relationship"):
        download_file(host, {"Url": https_url, "Path": PATH, "ValidateCerts": True})
    assert host.file(PATH) is None


def test_untrusted_certificate_is_accepted_with_validate_certs_false(https_url):
    host = Host("h", new_state())
    answer = download_file(host, {"Url": https_url, "Path": PATH, "ValidateCerts": False,
                                  "Hash": hashlib.sha256(BODY).hexdigest()})
    assert answer["changed"] is True and host.read_bytes(PATH) == BODY
