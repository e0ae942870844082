# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expected digests of release archives, from every place a release publishes them (internal).

Pure parsers, fed the bytes of:
- a user's `checksum` option (`sha256:<hex>`, `sha512:<hex>` or bare hex);
- sha256sum-style files (`<hex>  <name>`, `<hex> *<name>`, a bare `<hex>`), as containerd
  (`.sha256sum`) and the Windows CNI plugins (`.sha256`, `.sha512`, names like
  `./release/<zip>`) publish them;
- in-toto statements (buildkit's `.provenance.json` / `.sbom.json`), plain or inside a DSSE
  envelope or a sigstore bundle, whose `subject[].digest.sha256` names the archive.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import typing as t

from ._releases import ArtifactError

ALGORITHMS = {"sha256": 64, "sha512": 128}
_HEX = re.compile(r"^[0-9a-fA-F]+$")

# Digests of Windows release archives that we checked against a public source, for releases
# or mirrors that do not publish a checksum file: {(project, file name): "sha256:<hex>"}.
# Empty on purpose: no entry could be confirmed by two independent public sources yet.
KNOWN_DIGESTS: dict[tuple[str, str], str] = {}


@dataclasses.dataclass(frozen=True)
class Checksum:
    """An expected digest and where it came from (shown in messages)."""

    algorithm: str
    digest: str
    origin: str

    @property
    def spec(self) -> str:
        return f"{self.algorithm}:{self.digest}"


USER_ORIGIN = "checksum option"  # checksum_origin of a digest the user gave


def _checked(algorithm: str, digest: str, origin: str, option: str | None = None) -> Checksum:
    digest = digest.strip().lower()
    if algorithm not in ALGORITHMS:
        raise ArtifactError(f"{origin}: unsupported digest algorithm {algorithm!r}: use sha256 or sha512",
                            option=option)
    if len(digest) != ALGORITHMS[algorithm] or not _HEX.match(digest):
        raise ArtifactError(
            f"{origin}: {digest!r} is not a {algorithm} digest ({ALGORITHMS[algorithm]} hex characters)", option=option)
    return Checksum(algorithm, digest, origin)


def parse_user_checksum(text: str) -> Checksum:
    """`sha256:<hex>`, `sha512:<hex>` or bare hex (the length tells the algorithm)."""
    value = str(text).strip()
    algorithm, sep, digest = value.partition(":")
    if not sep:
        algorithm, digest = {64: "sha256", 128: "sha512"}.get(len(value), ""), value
        if not algorithm:
            raise ArtifactError(
                f"checksum={text!r} is neither a sha256 (64 hex) nor a sha512 (128 hex) digest: "
                "give sha256:<hex> or sha512:<hex>", option="checksum")
    return _checked(algorithm.strip().lower(), digest, USER_ORIGIN, option="checksum")


def _name_matches(listed: str, file_name: str) -> bool:
    # sha256sum -b marks binary mode with '*'; CNI lists './release/<zip>'.
    name = listed.strip().lstrip("*").replace("\\", "/")
    return name.rsplit("/", 1)[-1] == file_name


def parse_checksum_file(text: str, file_name: str, algorithm: str, origin: str) -> Checksum:
    """The digest a sha256sum/sha512sum-style file gives for file_name."""
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    entries = []
    for line in lines:
        digest, _sep, name = line.partition(" ")
        entries.append((digest, name.strip()))
    for digest, name in entries:
        if name and _name_matches(name, file_name):
            return _checked(algorithm, digest, origin)
    # A single bare digest is the whole file's answer.
    if len(entries) == 1 and not entries[0][1]:
        return _checked(algorithm, entries[0][0], origin)
    raise ArtifactError(f"{origin} lists no digest for {file_name}: set checksum to the archive's digest")


def _statements(data: bytes, origin: str) -> list[dict[str, t.Any]]:
    """in-toto statements in a file: plain JSON, JSON lines, DSSE envelopes or sigstore bundles."""
    text = data.decode("utf-8-sig", errors="replace").strip()
    try:
        documents = [json.loads(text)]
    except ValueError:
        try:
            documents = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            raise ArtifactError(f"{origin} is not JSON: set checksum to the archive's digest") from None
    statements = []
    for document in documents:
        if not isinstance(document, dict):
            continue
        envelope = document.get("dsseEnvelope") if isinstance(document.get("dsseEnvelope"), dict) else document
        if "payload" in envelope and "payloadType" in envelope:
            try:
                document = json.loads(base64.b64decode(envelope["payload"]))
            except (ValueError, TypeError):
                raise ArtifactError(f"{origin}: its DSSE payload is not base64 JSON") from None
        if isinstance(document, dict) and isinstance(document.get("subject"), list):
            statements.append(document)
    return statements


def parse_in_toto(data: bytes, file_name: str, origin: str) -> Checksum:
    """The sha256 an in-toto statement's subject list gives for file_name."""
    statements = _statements(data, origin)
    if not statements:
        raise ArtifactError(f"{origin} holds no in-toto statement with a subject list")
    for statement in statements:
        for subject in statement["subject"]:
            if not isinstance(subject, dict) or not _name_matches(str(subject.get("name", "")), file_name):
                continue
            digest = (subject.get("digest") or {}).get("sha256")
            if digest:
                return _checked("sha256", str(digest), origin)
    raise ArtifactError(f"{origin} has no subject named {file_name}: set checksum to the archive's digest")


def known_checksum(project: str, file_name: str) -> Checksum | None:
    spec = KNOWN_DIGESTS.get((project, file_name))
    if spec is None:
        return None
    algorithm, _sep, digest = spec.partition(":")
    return _checked(algorithm, digest, "the collection's table of known digests")


def file_digests(path: str, algorithms: t.Iterable[str] = ("sha256",)) -> dict[str, str]:
    """Hex digests of a file in one read."""
    hashers = {name: hashlib.new(name) for name in set(algorithms) | {"sha256"}}
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            for hasher in hashers.values():
                hasher.update(chunk)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def mismatch_message(file_name: str, expected: Checksum, actual: str, url: str) -> str:
    # The option "checksum" is named only where the message says what to change, so that a role's error names
    # its variable there ("update checksum (role variable containerd_checksum)"), not in the first words.
    origin = "the digest you gave" if expected.origin == USER_ORIGIN else expected.origin
    return (f"{file_name} does not match the expected digest: expected {expected.algorithm} {expected.digest} "
            f"({origin}), actual {actual}, from {url}; nothing was installed. "
            "If the release was re-published, update checksum; otherwise check the mirror or download_base_url")
