# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release artifacts: the right bytes on a host, proven to be the right bytes (internal).

Every install module (containerd, buildkit, the Windows CNI plugins) calls:

1. `prepare(project, options, download=not check_mode, warn=...)` on the controller:
   resolves the version (`latest` through the GitHub API, once per run), enforces the
   minimum, finds the expected digest (the user's `checksum` wins; else the release's
   checksum file or in-toto statement; else the table of known digests) and, in
   controller mode, downloads once into the digest-keyed cache and verifies.
2. `observe_step(artifact, remote_path)` in its observe round trip (what the host has), and
   `is_current(artifact, answer)` to plan.
3. `stage(host, artifact, remote_path, answer)` when applying: transfers the cached file
   (controller mode) or asks the host to download it (host mode), and returns the step
   that proves the bytes on the host, to run first in the apply round trip.

Nothing reaches the host before the bytes are verified on the controller (controller,
archive) or by the host itself before they are renamed into place (host mode).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import typing as t
import urllib.parse

from ._cache import DownloadCache, cache_root, once_per_run
from ._checksums import (
    Checksum, file_digests, known_checksum, mismatch_message, parse_checksum_file, parse_in_toto,
    parse_user_checksum,
)
from ._host import Step
from ._releases import (
    PROJECTS, ArtifactError, Project, ReleaseClient, check_url, is_prerelease, normalize_version, release_file_url,
    version_key,
)

if t.TYPE_CHECKING:
    from ._host import WindowsHost

__all__ = [
    "ARTIFACT_ARGUMENT_SPEC", "Artifact", "ArtifactError", "PROJECTS", "Project", "is_current", "observe_step",
    "prepare", "resolve_version", "stage",
]

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_DOWNLOAD_BASE_URL = "https://github.com"
DEFAULT_CACHE_DIR = "~/.cache/wcow.buildkit"

ARTIFACT_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "version": {"type": "str", "default": "latest"},
    "source": {"type": "str", "default": "controller", "choices": ["controller", "host"]},
    "archive_path": {"type": "path"},
    "checksum": {"type": "str"},
    "verify_checksum": {"type": "bool", "default": True},
    "include_prereleases": {"type": "bool", "default": False},
    "github_api_url": {"type": "str", "default": DEFAULT_API_URL},
    "download_base_url": {"type": "str", "default": DEFAULT_DOWNLOAD_BASE_URL},
    "github_token": {"type": "str", "no_log": True},
    "cache_dir": {"type": "path", "default": DEFAULT_CACHE_DIR},
    "download_proxy": {"type": "str"},
    "validate_certs": {"type": "bool", "default": True},
}


@dataclasses.dataclass(frozen=True)
class Artifact:
    """A resolved release archive and how it reaches hosts.

    `sha256` is known whenever the bytes were seen or a sha256 was published; it is None only in
    host mode for a release that publishes sha512 alone (`checksum` then carries the sha512).
    `checksum` is the expected digest as `algorithm:hex` (None when verification is off).
    """

    project: str
    version: str
    file_name: str
    url: str
    sha256: str | None
    local_path: str | None
    source: str
    checksum: str | None = None
    checksum_origin: str = ""
    proxy: str | None = None
    validate_certs: bool = True

    @property
    def verified(self) -> bool:
        return self.checksum is not None


@dataclasses.dataclass(frozen=True)
class _Settings:
    version: str
    source: str
    archive_path: str | None
    checksum: Checksum | None
    verify_checksum: bool
    include_prereleases: bool
    github_api_url: str
    download_base_url: str
    github_token: str | None
    cache_dir: str
    download_proxy: str | None
    validate_certs: bool


def _settings(options: dict[str, t.Any]) -> _Settings:
    """Options with the spec's defaults, checked beyond what the argument spec can check."""
    values = {name: spec.get("default") for name, spec in ARTIFACT_ARGUMENT_SPEC.items()}
    values.update({k: v for k, v in options.items() if k in values and v is not None})
    version = str(values["version"]).strip()
    version = "latest" if version.lower() == "latest" else normalize_version(version)
    source = str(values["source"])
    if source not in ("controller", "host"):
        raise ArtifactError(f"source={source!r} is not one of controller, host", option="source")
    checksum = parse_user_checksum(values["checksum"]) if values["checksum"] else None
    verify = bool(values["verify_checksum"])
    if checksum is not None and not verify:
        raise ArtifactError("checksum is set but verify_checksum is false: remove one of them "
                            "(a given checksum is always verified)", option="verify_checksum")
    archive_path = values["archive_path"] or None
    if archive_path and source == "host":
        raise ArtifactError("archive_path is a file on the controller but source is host: remove source: host "
                            "(the archive is copied from the controller)", option="archive_path")
    return _Settings(
        version=version,
        source=source,
        archive_path=archive_path,
        checksum=checksum,
        verify_checksum=verify,
        include_prereleases=bool(values["include_prereleases"]),
        github_api_url=check_url(str(values["github_api_url"]), "github_api_url"),
        download_base_url=str(values["download_base_url"]).strip(),
        github_token=values["github_token"] or os.environ.get("GITHUB_TOKEN") or None,
        cache_dir=str(values["cache_dir"]),
        download_proxy=values["download_proxy"] or None,
        validate_certs=bool(values["validate_certs"]),
    )


def _project(name: str | Project) -> Project:
    if isinstance(name, Project):  # a project variant (buildx for one client platform)
        return name
    try:
        return PROJECTS[name]
    except KeyError:
        raise ArtifactError(f"internal error: unknown project {name!r} (known: {', '.join(PROJECTS)})") from None


def _client(settings: _Settings) -> ReleaseClient:
    return ReleaseClient(api_url=settings.github_api_url, token=settings.github_token,
                         validate_certs=settings.validate_certs)


def _archive_version(project: Project, settings: _Settings, archive: pathlib.Path) -> str:
    """A local archive's version: pinned, or read from its release file name (no network)."""
    version = settings.version if settings.version != "latest" else project.version_from_asset(archive.name)
    if version is None:
        raise ArtifactError(
            f"cannot tell the {project.name} version of {archive.name} from its name: set version "
            f"(the release names it {project.asset_name('X.Y.Z')})", option="version")
    return version


def _resolve(project: Project, settings: _Settings, client: ReleaseClient) -> str:
    if settings.archive_path:
        return _archive_version(project, settings, pathlib.Path(settings.archive_path))
    if settings.version != "latest":
        return settings.version

    def ask_github() -> str:
        return client.latest_version(project, settings.include_prereleases)

    key = {"project": project.name, "api": settings.github_api_url, "prereleases": settings.include_prereleases}
    if project.checksum_kind == "checksums_txt":  # buildx: the newest release that has this platform's binary
        key["asset"] = project.asset_template
    version, _reused = once_per_run(cache_root(settings.cache_dir), key, ask_github)
    return version


def resolve_version(project: str | Project, options: dict[str, t.Any]) -> str:
    """The version to install: pinned as given (without 'v'), `latest` from the releases API once per run,
    or with archive_path, the version in the archive's release file name."""
    proj = _project(project)
    settings = _settings(options)
    with _client(settings) as client:
        return _resolve(proj, settings, client)


# -- expected digests ---------------------------------------------------------------------
def _release_checksum(client: ReleaseClient, project: Project, settings: _Settings, version: str,
                      file_name: str) -> Checksum:
    """The digest the release itself publishes for its archive."""
    def url(name: str) -> str:
        return release_file_url(settings.download_base_url, project, version, name)

    tried = []
    if project.checksum_kind == "sha256sum":
        candidates = [(f"{file_name}.sha256sum", "sha256")]
    elif project.checksum_kind == "sha256_or_sha512":
        candidates = [(f"{file_name}.sha256", "sha256"), (f"{file_name}.sha512", "sha512")]
    elif project.checksum_kind == "checksums_txt":
        candidates = [("checksums.txt", "sha256")]
    else:
        candidates = [(name, "in-toto") for name in project.attestation_names(version)]
    for name, kind in candidates:
        location = url(name)
        tried.append(location)
        data = client.get_small(location)
        if data is None:
            continue
        if kind == "in-toto":
            return parse_in_toto(data, file_name, location)
        return parse_checksum_file(data.decode("utf-8", errors="replace"), file_name, kind, location)
    missing = _missing_release(client, project, version)
    if missing:
        raise missing
    raise ArtifactError(
        f"no checksum published for {file_name} (tried {', '.join(tried)}): set checksum to the digest its "
        "publisher gives (sha256:<hex>). Only for a source you trust without one, verify_checksum: false installs "
        "unverified bytes", option="checksum",
    )


def _missing_release(client: ReleaseClient, project: Project, version: str) -> ArtifactError | None:
    """A release without checksum files is most often a mistyped version: say so first, with the nearest ones.

    None when the release exists, or when the API cannot tell (a mirror without it).
    """
    try:
        releases = client.list_releases(project)
    except ArtifactError:
        return None
    tags = [str(r.get("tag_name", "")) for r in releases if not r.get("draft")]
    published = {v for v in map(project.version_from_tag, tags) if v}
    if not published or version in published:
        return None
    same_series = [v for v in published if v.split(".")[:2] == version.split(".")[:2] and not is_prerelease(v)]
    if same_series:
        nearest = sorted(same_series, key=version_key, reverse=True)[:3]
    else:
        ordered = sorted((v for v in published if not is_prerelease(v)), key=version_key)
        below = [v for v in ordered if version_key(v) < version_key(version)][-1:]
        above = [v for v in ordered if version_key(v) > version_key(version)][:1]
        nearest = below + above
    return ArtifactError(
        f"{project.name} {version} is not a published release of {project.owner}/{project.repo} (no tag "
        f"{project.tag(version)}): check version. Nearest published: {', '.join(nearest) or 'none'}",
        option="version",
    )


def _published_checksum(client: ReleaseClient, project: Project, settings: _Settings, version: str,
                        file_name: str) -> Checksum:
    """_release_checksum once per run: every host of a run gets the same answer from one fetch."""
    def fetch() -> str:
        found = _release_checksum(client, project, settings, version, file_name)
        return json.dumps([found.algorithm, found.digest, found.origin])

    key = {"checksum_of": release_file_url(settings.download_base_url, project, version, file_name)}
    answer, _reused = once_per_run(cache_root(settings.cache_dir), key, fetch)
    algorithm, digest, origin = json.loads(answer)
    return Checksum(algorithm, digest, origin)


def _sibling_checksum(project: Project, archive: pathlib.Path, version: str | None) -> Checksum | None:
    """Checksum files kept beside a local archive, named as the release names them."""
    name = archive.name
    candidates = [(f"{name}.sha256sum", "sha256"), (f"{name}.sha256", "sha256"), (f"{name}.sha512", "sha512")]
    candidates += [("checksums.txt", "sha256")] if project.checksum_kind == "checksums_txt" else []
    candidates += [(n, "in-toto") for n in project.attestation_names(version)] if version else []
    for sibling_name, kind in candidates:
        sibling = archive.with_name(sibling_name)
        if not sibling.is_file():
            continue
        data = sibling.read_bytes()
        if kind == "in-toto":
            return parse_in_toto(data, name, str(sibling))
        return parse_checksum_file(data.decode("utf-8", errors="replace"), name, kind, str(sibling))
    return None


def _unverified_warning(file_name: str, url: str) -> str:
    return (f"verify_checksum is false: {file_name} from {url} is used WITHOUT checksum verification; "
            "remove verify_checksum: false (or set checksum) to verify it")


# -- prepare ---------------------------------------------------------------------------------
def prepare(project: str | Project, options: dict[str, t.Any], *, download: bool = True,
            warn: t.Callable[[str], None]) -> Artifact:
    """Resolve, find the expected digest and (controller mode, download=True) fetch and verify.

    download=False (check mode) fetches no archive bytes: only release metadata.
    """
    proj = _project(project)
    settings = _settings(options)
    if settings.archive_path:
        return _prepare_archive(proj, settings, download, warn)
    with _client(settings) as client:
        version = _resolve(proj, settings, client)
        proj.check_minimum(version)
        file_name = proj.asset_name(version)
        url = release_file_url(settings.download_base_url, proj, version, file_name)
        check_url(url, "download_base_url")
        common = {"project": proj.name, "version": version, "file_name": file_name, "url": url,
                  "proxy": settings.download_proxy, "validate_certs": settings.validate_certs}
        expected = settings.checksum or known_checksum(proj.name, file_name)
        if expected is None and settings.verify_checksum:
            expected = _published_checksum(client, proj, settings, version, file_name)
        if expected is None:
            warn(_unverified_warning(file_name, url))
        checksum = {"checksum": expected.spec if expected else None,
                    "checksum_origin": expected.origin if expected else "unverified"}
        known_sha256 = expected.digest if expected and expected.algorithm == "sha256" else None

        if settings.source == "host" or not download:
            return Artifact(sha256=known_sha256, local_path=None, source=settings.source, **checksum, **common)

        cache = DownloadCache(cache_root(settings.cache_dir))
        cached = cache.fetch(file_name, expected, url, lambda sink: client.download(url, sink), warn)
    return Artifact(sha256=cached.sha256, local_path=cached.path, source="controller", **checksum, **common)


def _prepare_archive(project: Project, settings: _Settings, download: bool,
                     warn: t.Callable[[str], None]) -> Artifact:
    archive = pathlib.Path(os.path.expanduser(settings.archive_path or "")).absolute()
    if not archive.is_file():
        raise ArtifactError(f"archive_path {archive} does not exist on the controller: give the path of the "
                            f"release archive (for example {project.asset_name('X.Y.Z')})", option="archive_path")
    version = _archive_version(project, settings, archive)
    project.check_minimum(version)
    expected = settings.checksum or known_checksum(project.name, archive.name)
    if expected is None and settings.verify_checksum:
        expected = _sibling_checksum(project, archive, version)
        if expected is None:
            raise ArtifactError(
                f"no checksum for archive_path {archive}: set checksum (sha256:<hex>), or keep the release's "
                f"checksum file beside it ({archive.name}.sha256sum, .sha256 or .sha512), or set "
                "verify_checksum: false", option="checksum")
    if expected is None:
        warn(_unverified_warning(archive.name, str(archive)))
    digests = file_digests(str(archive), (expected.algorithm,) if expected else ())
    if expected is not None and digests[expected.algorithm] != expected.digest:
        raise ArtifactError(mismatch_message(archive.name, expected, digests[expected.algorithm], str(archive)),
                            option="checksum")
    return Artifact(
        project=project.name, version=version, file_name=archive.name, url=str(archive), sha256=digests["sha256"],
        local_path=str(archive) if download else None, source="archive",
        checksum=expected.spec if expected else None, checksum_origin=expected.origin if expected else "unverified",
        validate_certs=settings.validate_certs,
    )


# -- on the host ------------------------------------------------------------------------------
def _expected_on_host(artifact: Artifact) -> tuple[str, str | None]:
    """(algorithm, digest) the host should check: sha256 when known, else the published digest."""
    if artifact.sha256:
        return "sha256", artifact.sha256
    if artifact.checksum:
        algorithm, _sep, digest = artifact.checksum.partition(":")
        return algorithm, digest
    return "sha256", None


def observe_step(artifact: Artifact, remote_path: str) -> Step:
    """A step (for the observe round trip) answering what remote_path holds, in the digest we can compare."""
    algorithm = _expected_on_host(artifact)[0]
    return Step("verify_file", {"Path": remote_path, "Algorithm": algorithm.upper()})


def is_current(artifact: Artifact, observed: str | dict[str, t.Any] | None) -> bool:
    """Does the host already hold the verified archive?  observed: a sha256, or verify_file's answer."""
    algorithm, digest = _expected_on_host(artifact)
    if digest is None or not observed:
        return False
    if isinstance(observed, str):
        return algorithm == "sha256" and observed.lower() == digest
    if not observed.get("exists", True):
        return False
    if algorithm == "sha256" and str(observed.get("sha256") or "").lower() == digest:
        return True
    return (str(observed.get("algorithm") or "").lower() == algorithm
            and str(observed.get("digest") or "").lower() == digest)


def stage(host: "WindowsHost", artifact: Artifact, remote_path: str,
          observed_sha256: str | dict[str, t.Any] | None) -> tuple[list[Step], bool]:
    """What to do so remote_path holds the verified archive; answers (steps, changed).

    Controller/archive: transfers the file now (one round trip) and returns a verify_file step.
    Host mode: returns a download_file step (the host downloads to a temporary name,
    verifies, then renames; a mismatch deletes it and fails with expected, actual and URL).
    With verification off and no digest to compare, host mode always downloads again.
    Run the returned steps first in the apply round trip.
    """
    if is_current(artifact, observed_sha256):
        return [], False
    algorithm, digest = _expected_on_host(artifact)
    if artifact.source in ("controller", "archive"):
        if not artifact.local_path:
            raise ArtifactError(f"internal error: {artifact.file_name} was prepared without downloading "
                                "(check mode) and cannot be staged")
        host.put_file(artifact.local_path, remote_path)
        return [Step("verify_file", {"Path": remote_path, "Algorithm": algorithm.upper(), "Hash": digest or ""})], True
    params = {"Url": artifact.url, "Path": remote_path, "Algorithm": algorithm.upper(), "Hash": digest or "",
              "Proxy": artifact.proxy or "", "ValidateCerts": artifact.validate_certs}
    # A proxy URL may carry credentials: keep it out of -vvv step logs and error texts.
    secrets = ("Proxy",) if artifact.proxy and urllib.parse.urlsplit(artifact.proxy).password else ()
    return [Step("download_file", params, secrets)], True
