# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upstream projects, their versions and the GitHub releases API (internal).

Pure parts (version parsing and ordering, asset and tag names, picking the
newest release from an API listing) sit beside the one HTTP client the
artifact code uses, so every network failure reads the same way: the URL, what
went wrong, and the option that changes it.  The token only ever travels in an
`Authorization: Bearer` header to the API's own origin and never appears in a
message.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import typing as t
import urllib.parse

try:
    import httpx
except ImportError:  # reported when a download is attempted (ansible-test imports plugins without it)
    httpx = None

USER_AGENT = "wcow.buildkit (ansible collection)"
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
TOKEN_MASK = "********"
# GitHub answers at most 100 releases a page; 50 pages is far beyond any project we install.
PER_PAGE = 100
MAX_PAGES = 50
# Seconds: connecting may be slow through proxies; a read stalled for a minute is a dead server.
CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0

_VERSION = re.compile(r"^v?(?P<core>\d+\.\d+\.\d+)(?:-(?P<pre>[0-9A-Za-z][0-9A-Za-z.-]*))?$")


class ArtifactError(Exception):
    """A release artifact cannot be resolved, fetched or verified; the message says what to change."""

    def __init__(self, msg: str, *, option: str | None = None):
        super().__init__(msg)
        self.msg = msg
        self.option = option


# -- versions ----------------------------------------------------------------------
def normalize_version(text: t.Any, option: str = "version") -> str:
    """`v1.7.29` -> `1.7.29`; prerelease suffixes (`2.1.0-rc.1`) are kept."""
    match = _VERSION.match(str(text).strip())
    if not match:
        raise ArtifactError(
            f"{option}={text!r} is not a release version: use X.Y.Z (for example 1.7.29; a leading 'v' is fine) "
            "or 'latest'", option=option,
        )
    return match["core"] + (f"-{match['pre']}" if match["pre"] else "")


def is_prerelease(version: str) -> bool:
    return "-" in version


def version_key(version: str) -> tuple[t.Any, ...]:
    """Semantic-version precedence: 2.1.0-rc.1 < 2.1.0 < 2.1.1.

    Digits inside a prerelease part compare as numbers too, so buildkit's rc10 follows rc2.
    """
    core, _sep, pre = version.partition("-")
    numbers = tuple(int(part) for part in core.split("."))
    if not pre:
        return numbers + (1, ())
    parts = tuple((0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk)
                  for chunk in re.findall(r"\d+|[^\d.]+", pre))
    return numbers + (0, parts)


# -- projects ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Project:
    """Where a project publishes its Windows release and how the release proves its bytes."""

    name: str
    owner: str
    repo: str
    asset_template: str          # Windows amd64 archive name, `{version}` without the 'v'
    checksum_kind: str           # "sha256sum" | "sha256_or_sha512" | "in_toto" | "checksums_txt"
    minimum_version: str | None
    tag_template: str = "v{version}"
    attestation_stem_template: str | None = None   # buildkit names its in-toto files after the archive stem

    def tag(self, version: str) -> str:
        return self.tag_template.format(version=version)

    def asset_name(self, version: str) -> str:
        return self.asset_template.format(version=version)

    def version_from_tag(self, tag: str) -> str | None:
        """The version a release tag names, or None for tags of other release lines (`api/v1.9.0`)."""
        prefix, _sep, suffix = self.tag_template.partition("{version}")
        if not (tag.startswith(prefix) and tag.endswith(suffix)):
            return None
        try:
            return normalize_version(tag[len(prefix):len(tag) - len(suffix)])
        except ArtifactError:
            return None

    def version_from_asset(self, file_name: str) -> str | None:
        """The version in an archive's file name (a local archive keeps its release name)."""
        prefix, _sep, suffix = self.asset_template.partition("{version}")
        if not (file_name.startswith(prefix) and file_name.endswith(suffix)) or len(file_name) <= len(prefix + suffix):
            return None
        try:
            return normalize_version(file_name[len(prefix):len(file_name) - len(suffix)])
        except ArtifactError:
            return None

    def attestation_names(self, version: str) -> list[str]:
        """buildkit's in-toto statements, provenance first (it always lists the archive)."""
        if not self.attestation_stem_template:
            return []
        stem = self.attestation_stem_template.format(version=version)
        return [f"{stem}.provenance.json", f"{stem}.sbom.json"]

    def check_minimum(self, version: str) -> None:
        if self.minimum_version and version_key(version) < version_key(self.minimum_version):
            raise ArtifactError(
                f"{self.name} {version} is older than the oldest supported release {self.minimum_version}: "
                f"set version to {self.minimum_version} or newer, or to 'latest'", option="version",
            )


PROJECTS: dict[str, Project] = {
    "containerd": Project(
        name="containerd", owner="containerd", repo="containerd",
        asset_template="containerd-{version}-windows-amd64.tar.gz",
        checksum_kind="sha256sum", minimum_version="1.7.7",
    ),
    "buildkit": Project(
        name="buildkit", owner="moby", repo="buildkit",
        asset_template="buildkit-v{version}.windows-amd64.tar.gz",
        checksum_kind="in_toto", minimum_version="0.13.0",
        attestation_stem_template="buildkit-v{version}.windows-amd64",
    ),
    "cni": Project(
        name="cni", owner="microsoft", repo="windows-container-networking",
        asset_template="windows-container-networking-cni-amd64-v{version}.zip",
        checksum_kind="sha256_or_sha512", minimum_version=None,
    ),
    # docker/buildx publishes bare binaries and one checksums.txt per release (`sha256sum -b buildx-*`, so
    # `<hex> *<file>`). Its release workflow drops darwin lines from it since v0.31.0 and windows lines since
    # v0.36.0 (those binaries are signed after the build): for them the user gives `checksum`.
    # 0.13.0: the first release with npipe endpoints and `ls --format json`.
    "buildx": Project(
        name="buildx", owner="docker", repo="buildx",
        asset_template="buildx-v{version}.windows-amd64.exe",
        checksum_kind="checksums_txt", minimum_version="0.13.0",
    ),
}


def buildx_project(os_name: str, arch: str) -> Project:
    """buildx for one client platform: `buildx-v<version>.<os>-<arch>[.exe]`."""
    suffix = ".exe" if os_name == "windows" else ""
    return dataclasses.replace(PROJECTS["buildx"], asset_template=f"buildx-v{{version}}.{os_name}-{arch}{suffix}")


def newest_release(project: Project, releases: t.Iterable[dict[str, t.Any]], include_prereleases: bool) -> str:
    """The highest version among published releases that carry the Windows archive."""
    candidates = []
    for release in releases:
        if release.get("draft"):
            continue
        version = project.version_from_tag(str(release.get("tag_name") or ""))
        if version is None:
            continue
        # Some projects tag an -rc without ticking "pre-release"; the tag decides too.
        if (release.get("prerelease") or is_prerelease(version)) and not include_prereleases:
            continue
        names = {asset.get("name") for asset in release.get("assets") or []}
        if project.asset_name(version) not in names:
            continue
        candidates.append(version)
    if not candidates:
        kind = "release or prerelease" if include_prereleases else "stable release"
        raise ArtifactError(
            f"no {kind} of {project.owner}/{project.repo} has the asset {project.asset_name('<version>')}: "
            "pin version to a release that has it", option="version",
        )
    return max(candidates, key=version_key)


# -- URLs ----------------------------------------------------------------------------
def release_file_url(download_base_url: str, project: Project, version: str, file_name: str) -> str:
    """Where a release file is downloaded from.

    A plain base maps like github.com: `{base}/{owner}/{repo}/releases/download/{tag}/{file}`.
    A base with placeholders is a template (flat mirrors): `https://files.example/wcow/{asset}`;
    fields: owner, repo, tag, version, asset.
    """
    base = download_base_url.strip().rstrip("/")
    fields = {"owner": project.owner, "repo": project.repo, "tag": project.tag(version),
              "version": version, "asset": file_name}
    if "{" in base:
        try:
            return base.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise ArtifactError(
                f"download_base_url={download_base_url!r} has an unknown placeholder ({exc}): "
                "use only {owner}, {repo}, {tag}, {version} and {asset}", option="download_base_url",
            ) from None
    return f"{base}/{project.owner}/{project.repo}/releases/download/{fields['tag']}/{file_name}"


def check_url(value: str, option: str) -> str:
    parsed = urllib.parse.urlsplit(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ArtifactError(f"{option}={value!r} is not an http(s) URL: give one like https://host/path",
                            option=option)
    return value.strip().rstrip("/")


def _origin(url: str) -> tuple[str, str]:
    parsed = urllib.parse.urlsplit(url)
    return parsed.scheme.lower(), parsed.netloc.lower()


# -- HTTP ------------------------------------------------------------------------------
class ReleaseClient:
    """Controller-side HTTP for release metadata and downloads (httpx, timeouts, clear errors)."""

    def __init__(self, *, api_url: str, token: str | None = None, validate_certs: bool = True):
        self.api_url = api_url.rstrip("/")
        self._token = token or None
        self._verify = validate_certs
        self._http: httpx.Client | None = None

    def __enter__(self) -> "ReleaseClient":
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    @property
    def _client(self) -> httpx.Client:
        # Built on first use: a converged run (everything cached) never pays for a TLS context.
        if self._http is None:
            if httpx is None:
                raise ArtifactError("the controller's Python lacks the httpx package that downloads releases: "
                                    "install it where ansible runs (pip install httpx), or use archive_path")
            self._http = httpx.Client(follow_redirects=True, headers={"User-Agent": USER_AGENT}, verify=self._verify,
                                      timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT))
        return self._http

    def mask(self, text: str) -> str:
        return text.replace(self._token, TOKEN_MASK) if self._token else text

    def _api_headers(self, url: str) -> dict[str, str]:
        headers = dict(API_HEADERS)
        # The token goes to the API's own origin only (pagination links stay there too).
        if self._token and _origin(url) == _origin(self.api_url):
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _send(self, method: str, url: str, *, option: str, headers: dict[str, str] | None = None,
              stream: bool = False) -> httpx.Response:
        client = self._client
        try:
            return client.send(client.build_request(method, url, headers=headers), stream=stream)
        except httpx.HTTPError as exc:
            raise ArtifactError(self.mask(_transport_message(url, exc, option)), option=option) from None

    # -- GitHub API -----------------------------------------------------------------
    def api_get(self, path: str) -> httpx.Response:
        """GET an API path (or a full URL from a Link header); raise on any error status."""
        url = path if path.startswith(("http://", "https://")) else f"{self.api_url}{path}"
        response = self._send("GET", url, option="github_api_url", headers=self._api_headers(url))
        if response.status_code != 200:
            raise ArtifactError(self.mask(_api_error_message(url, response)), option=_api_error_option(response))
        return response

    def list_releases(self, project: Project) -> list[dict[str, t.Any]]:
        """Every release of the project, following `Link: rel="next"` pagination."""
        url: str | None = f"/repos/{project.owner}/{project.repo}/releases?per_page={PER_PAGE}"
        releases: list[dict[str, t.Any]] = []
        for _page in range(MAX_PAGES):
            if url is None:
                break
            response = self.api_get(url)
            page = _json(response, url)
            if not isinstance(page, list):
                raise ArtifactError(f"{response.url} did not answer a list of releases: check github_api_url",
                                    option="github_api_url")
            releases.extend(item for item in page if isinstance(item, dict))
            url = response.links.get("next", {}).get("url")
        return releases

    def latest_version(self, project: Project, include_prereleases: bool) -> str:
        return newest_release(project, self.list_releases(project), include_prereleases)

    # -- release files ------------------------------------------------------------
    def get_small(self, url: str, *, option: str = "download_base_url", limit: int = 32 << 20) -> bytes | None:
        """A checksum or attestation file; None when the server has no such file (404)."""
        response = self._send("GET", url, option=option, stream=True)
        try:
            if response.status_code in (404, 410):
                return None
            if response.status_code != 200:
                raise ArtifactError(self.mask(_download_error_message(url, response, option)), option=option)
            data = bytearray()
            for chunk in response.iter_bytes():
                data.extend(chunk)
                if len(data) > limit:
                    raise ArtifactError(f"{url} is larger than {limit} bytes; it is not a checksum file: "
                                        f"check {option}", option=option)
            return bytes(data)
        except httpx.HTTPError as exc:
            raise ArtifactError(self.mask(_transport_message(url, exc, option)), option=option) from None
        finally:
            response.close()

    def download(self, url: str, sink: t.BinaryIO, *, option: str = "download_base_url") -> int:
        """Stream url into sink; answer the byte count."""
        response = self._send("GET", url, option=option, stream=True)
        try:
            if response.status_code != 200:
                raise ArtifactError(self.mask(_download_error_message(url, response, option)), option=option)
            size = 0
            for chunk in response.iter_bytes(1 << 20):
                sink.write(chunk)
                size += len(chunk)
            return size
        except httpx.HTTPError as exc:
            raise ArtifactError(self.mask(_transport_message(url, exc, option)), option=option) from None
        finally:
            response.close()


def _json(response: httpx.Response, url: str) -> t.Any:
    try:
        return response.json()
    except ValueError:
        raise ArtifactError(f"{url} did not answer JSON (content-type {response.headers.get('content-type')!r}): "
                            "check github_api_url points at a GitHub API", option="github_api_url") from None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _rate_limited(response: httpx.Response) -> bool:
    if response.status_code not in (403, 429):
        return False
    return response.headers.get("x-ratelimit-remaining") == "0" or "rate limit" in _message(response).lower()


def _api_error_option(response: httpx.Response) -> str:
    if response.status_code == 401 or _rate_limited(response):
        return "github_token"
    return "github_api_url"


def _api_error_message(url: str, response: httpx.Response) -> str:
    status = response.status_code
    if _rate_limited(response):
        reset = response.headers.get("x-ratelimit-reset", "")
        when = ""
        if reset.isdigit():
            when = " until " + datetime.datetime.fromtimestamp(int(reset), datetime.timezone.utc).strftime(
                "%Y-%m-%d %H:%M:%S UTC")
        retry = response.headers.get("retry-after")
        if retry and not when:
            when = f" for {retry} seconds"
        return (f"the GitHub API rate limit is exhausted ({status} from {url}){when}: set github_token "
                "(or the GITHUB_TOKEN environment variable) for a higher limit, or pin version so no API call is needed")
    if status == 401:
        return (f"the GitHub API rejected the token ({status} {_message(response) or 'Bad credentials'} from {url}): "
                "fix github_token (or GITHUB_TOKEN), or leave it unset for public repositories")
    if status == 404:
        return (f"{url} answered 404 Not Found: check github_api_url (GitHub Enterprise uses "
                "https://HOST/api/v3); a mirror without an API works with a pinned version")
    return f"{url} answered HTTP {status} {_message(response)}: check github_api_url".rstrip()


def _download_error_message(url: str, response: httpx.Response, option: str) -> str:
    status = response.status_code
    if status == 404:
        return (f"{url} answered 404 Not Found: the release has no such file; check version and {option}")
    if status in (401, 403):
        return f"{url} answered HTTP {status}: the server refused the download; check {option} and its access rules"
    return f"{url} answered HTTP {status}: check {option}"


def _transport_message(url: str, exc: httpx.HTTPError, option: str) -> str:
    reason = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate" in reason.lower():
        return (f"TLS certificate verification failed for {url} ({reason}): install the server's CA on the "
                "controller, or set validate_certs: false")
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out talking to {url} ({type(exc).__name__}): check the network path, or set {option} to a closer mirror"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects from {url}: check {option}"
    return (f"cannot reach {url} ({reason}): check the controller's network and proxy settings, "
            f"or set {option} to a reachable server")
