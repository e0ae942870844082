# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every checksum format the releases publish, and the user's checksum option."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from fake_github import dsse_envelope, in_toto_statement, release_files

from ansible_collections.wcow.buildkit.plugins.plugin_utils._checksums import (
    KNOWN_DIGESTS, ArtifactError, file_digests, known_checksum, parse_checksum_file, parse_in_toto,
    parse_user_checksum,
)

ZIP = "windows-container-networking-cni-amd64-v0.3.3.zip"
SHA256 = hashlib.sha256(b"archive").hexdigest()
SHA512 = hashlib.sha512(b"archive").hexdigest()


@pytest.mark.parametrize("given, algorithm, digest", [
    (f"sha256:{SHA256}", "sha256", SHA256),
    (f"SHA256:{SHA256.upper()}", "sha256", SHA256),
    (SHA256, "sha256", SHA256),
    (f"sha512:{SHA512}", "sha512", SHA512),
    (f"  {SHA512}  ", "sha512", SHA512),
])
def test_user_checksum(given, algorithm, digest):
    checksum = parse_user_checksum(given)
    assert (checksum.algorithm, checksum.digest) == (algorithm, digest)
    assert checksum.spec == f"{algorithm}:{digest}"


@pytest.mark.parametrize("given, fragment", [
    ("md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm 'md5'"),
    ("sha256:abc", "is not a sha256 digest"),
    (f"sha256:{SHA512}", "is not a sha256 digest"),
    ("sha256:" + "z" * 64, "is not a sha256 digest"),
    ("abc123", "neither a sha256"),
])
def test_user_checksum_refused_names_the_option(given, fragment):
    with pytest.raises(ArtifactError) as caught:
        parse_user_checksum(given)
    assert caught.value.option == "checksum" and fragment in str(caught.value)


@pytest.mark.parametrize("text, file_name, algorithm", [
    # containerd .sha256sum: sha256sum output.
    (f"{SHA256}  containerd-1.7.29-windows-amd64.tar.gz\n", "containerd-1.7.29-windows-amd64.tar.gz", "sha256"),
    # sha256sum -b marks binary mode.
    (f"{SHA256} *containerd-1.7.29-windows-amd64.tar.gz\n", "containerd-1.7.29-windows-amd64.tar.gz", "sha256"),
    # CNI: the file name field reads ./release/<zip>; CRLF and a BOM do not matter.
    (f"\ufeff{SHA256}  ./release/{ZIP}\r\n", ZIP, "sha256"),
    (f"{SHA512}  ./release/{ZIP}\n", ZIP, "sha512"),
    # A file listing several archives.
    (f"{'0' * 64}  other.zip\n{SHA256}  {ZIP}\n", ZIP, "sha256"),
    # A bare digest.
    (f"{SHA256}\n", ZIP, "sha256"),
])
def test_checksum_file_formats(text, file_name, algorithm):
    checksum = parse_checksum_file(text, file_name, algorithm, "https://example/x.sha")
    assert checksum.digest == (SHA256 if algorithm == "sha256" else SHA512)
    assert checksum.origin == "https://example/x.sha"


@pytest.mark.parametrize("text, fragment", [
    (f"{SHA256}  other.zip\n", f"lists no digest for {ZIP}"),
    (f"{SHA256}  other.zip\n{SHA256}  more.zip\n", f"lists no digest for {ZIP}"),
    (f"{SHA256[:40]}  {ZIP}\n", "is not a sha256 digest"),
    ("", f"lists no digest for {ZIP}"),
])
def test_checksum_file_without_our_archive(text, fragment):
    with pytest.raises(ArtifactError, match=fragment):
        parse_checksum_file(text, ZIP, "sha256", "u")


def test_fake_release_files_match_what_the_parsers_expect():
    # The fake server's files must be the real formats, or every other test proves nothing.
    files = release_files("cni", {"version": "0.3.1"})
    data = files["windows-container-networking-cni-amd64-v0.3.1.zip"]
    assert "windows-container-networking-cni-amd64-v0.3.1.zip.sha256" not in files
    sha512_line = files["windows-container-networking-cni-amd64-v0.3.1.zip.sha512"].decode()
    assert sha512_line.split()[1] == "./release/windows-container-networking-cni-amd64-v0.3.1.zip"
    checksum = parse_checksum_file(sha512_line, "windows-container-networking-cni-amd64-v0.3.1.zip", "sha512", "u")
    assert checksum.digest == hashlib.sha512(data).hexdigest()


BUILDKIT = "buildkit-v0.24.0.windows-amd64.tar.gz"


def _statement(name: str = BUILDKIT, data: bytes = b"archive") -> bytes:
    return in_toto_statement({name: data}, "https://slsa.dev/provenance/v0.2", {"builder": {"id": ""}})


@pytest.mark.parametrize("document", [
    pytest.param(_statement(), id="statement"),
    pytest.param(in_toto_statement({"buildkit-v0.24.0.windows-amd64.provenance.json": b"x", BUILDKIT: b"archive"},
                                   "https://spdx.dev/Document", {}), id="several-subjects"),
    pytest.param(json.dumps({"payloadType": "application/vnd.in-toto+json",
                             "payload": base64.b64encode(_statement()).decode(), "signatures": []}).encode(),
                 id="dsse-envelope"),
    pytest.param(dsse_envelope(_statement()), id="sigstore-bundle"),
    pytest.param(_statement().replace(b"\n", b"") + b"\n" + _statement("other.tar.gz").replace(b"\n", b""),
                 id="json-lines"),
    pytest.param(_statement(name=f"windows_amd64/{BUILDKIT}"), id="platform-folder"),
])
def test_in_toto_subject_digest(document):
    checksum = parse_in_toto(document, BUILDKIT, "https://example/p.json")
    assert (checksum.algorithm, checksum.digest) == ("sha256", SHA256)


@pytest.mark.parametrize("document, fragment", [
    (_statement(name="buildkit-v0.24.0.linux-amd64.tar.gz"), f"no subject named {BUILDKIT}"),
    (b"{not json", "is not JSON"),
    (json.dumps({"_type": "https://in-toto.io/Statement/v0.1"}).encode(), "no in-toto statement"),
    (json.dumps({"payloadType": "application/vnd.in-toto+json", "payload": "%%%"}).encode(), "not base64 JSON"),
])
def test_in_toto_refusals_say_to_set_checksum(document, fragment):
    with pytest.raises(ArtifactError, match=fragment):
        parse_in_toto(document, BUILDKIT, "https://example/p.json")


# pytest reports an empty table as skipped (empty parameter set), never as a pass.
@pytest.mark.parametrize("entry", sorted(KNOWN_DIGESTS.items()), ids=lambda e: e[0][1])
def test_known_digests_table_entry_is_well_formed(entry):
    (project, name), spec = entry
    assert known_checksum(project, name).spec == spec.lower()


def test_known_digests_table_lookup(monkeypatch):
    name = "buildkit-v0.13.2.windows-amd64.tar.gz"
    monkeypatch.setitem(KNOWN_DIGESTS, ("buildkit", name), "sha256:" + "AB" * 32)
    found = known_checksum("buildkit", name)
    assert found.spec == "sha256:" + "ab" * 32 and found.origin == "the collection's table of known digests"
    assert known_checksum("buildkit", "buildkit-v9.9.9.windows-amd64.tar.gz") is None
    assert known_checksum("containerd", name) is None  # keyed by project too


def test_a_malformed_known_digest_is_refused(monkeypatch):
    monkeypatch.setitem(KNOWN_DIGESTS, ("buildkit", "x.tar.gz"), "sha256:abc")
    with pytest.raises(ArtifactError):
        known_checksum("buildkit", "x.tar.gz")


def test_file_digests_in_one_read(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"archive")
    assert file_digests(str(path), ("sha512",)) == {"sha256": SHA256, "sha512": SHA512}
