# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Versions, project names and the GitHub releases API client, against the fake GitHub."""

from __future__ import annotations

import pytest

from ansible_collections.wcow.buildkit.plugins.plugin_utils._releases import (
    PROJECTS, ArtifactError, ReleaseClient, newest_release, normalize_version, release_file_url, version_key,
)

TOKEN = "ghp_fakeTokenForTests0123456789"


@pytest.mark.parametrize("given, expected", [
    ("1.7.29", "1.7.29"),
    ("v1.7.29", "1.7.29"),
    (" v0.13.0 ", "0.13.0"),
    ("v2.1.0-rc.1", "2.1.0-rc.1"),
    ("0.25.0-rc1", "0.25.0-rc1"),
])
def test_normalize_version(given, expected):
    assert normalize_version(given) == expected


@pytest.mark.parametrize("given", ["1.7", "v1", "1.7.29.1", "latest-ish", "", "v1.7.x", "1.7.29-"])
def test_normalize_version_refuses_with_the_option_and_the_fix(given):
    with pytest.raises(ArtifactError) as caught:
        normalize_version(given)
    assert caught.value.option == "version"
    assert "X.Y.Z" in str(caught.value) and "latest" in str(caught.value)


def test_version_order_is_semantic():
    ordered = ["0.9.9", "0.13.0-rc1", "0.13.0-rc2", "0.13.0-rc10", "0.13.0", "0.13.1", "1.7.6", "1.7.29",
               "2.0.0-beta.2", "2.0.0-rc.1", "2.0.0", "2.1.5", "10.0.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered


@pytest.mark.parametrize("project, version, asset, tag", [
    ("containerd", "1.7.29", "containerd-1.7.29-windows-amd64.tar.gz", "v1.7.29"),
    ("buildkit", "0.13.2", "buildkit-v0.13.2.windows-amd64.tar.gz", "v0.13.2"),
    ("cni", "0.3.1", "windows-container-networking-cni-amd64-v0.3.1.zip", "v0.3.1"),
])
def test_release_names(project, version, asset, tag):
    proj = PROJECTS[project]
    assert proj.asset_name(version) == asset
    assert proj.tag(version) == tag
    assert proj.version_from_tag(tag) == version
    assert proj.version_from_asset(asset) == version


@pytest.mark.parametrize("project, name", [
    ("containerd", "containerd-1.7.29-linux-amd64.tar.gz"),
    ("containerd", "containerd.tar.gz"),
    ("buildkit", "buildkit-v0.13.2.windows-arm64.tar.gz"),
    ("cni", "windows-container-networking-cni-amd64-vX.zip"),
])
def test_version_from_asset_refuses_other_names(project, name):
    assert PROJECTS[project].version_from_asset(name) is None


def test_buildkit_attestations_are_named_after_the_archive_stem():
    # The release workflow renames provenance.json to "<archive without .tar.gz>.provenance.json".
    assert PROJECTS["buildkit"].attestation_names("0.24.0") == [
        "buildkit-v0.24.0.windows-amd64.provenance.json", "buildkit-v0.24.0.windows-amd64.sbom.json"]


@pytest.mark.parametrize("project, version, ok", [
    ("containerd", "1.7.6", False), ("containerd", "1.7.7", True), ("containerd", "1.7.7-rc.1", False),
    ("buildkit", "0.12.5", False), ("buildkit", "0.13.0", True), ("cni", "0.1.0", True),
])
def test_minimum_versions(project, version, ok):
    if ok:
        PROJECTS[project].check_minimum(version)
        return
    with pytest.raises(ArtifactError) as caught:
        PROJECTS[project].check_minimum(version)
    assert caught.value.option == "version"
    assert version in str(caught.value) and PROJECTS[project].minimum_version in str(caught.value)


def _release(tag, *, prerelease=False, draft=False, assets=None, project="containerd"):
    version = tag.lstrip("v")
    names = [PROJECTS[project].asset_name(version)] if assets is None else assets
    return {"tag_name": tag, "prerelease": prerelease, "draft": draft, "assets": [{"name": n} for n in names]}


@pytest.mark.parametrize("releases, prereleases, expected", [
    # Highest version wins, not the most recently created (1.7.29 was published after 2.1.5).
    ([_release("v1.7.29"), _release("v2.1.5"), _release("v2.0.11")], False, "2.1.5"),
    ([_release("v2.2.0-rc.1", prerelease=True), _release("v2.1.5")], False, "2.1.5"),
    ([_release("v2.2.0-rc.1", prerelease=True), _release("v2.1.5")], True, "2.2.0-rc.1"),
    # An -rc tag not ticked as prerelease is still one.
    ([_release("v2.2.0-rc.1"), _release("v2.1.5")], False, "2.1.5"),
    ([_release("v2.3.0", draft=True), _release("v2.1.5")], True, "2.1.5"),
    # Tags of other release lines and releases without the Windows archive are not candidates.
    ([_release("api/v1.9.0", assets=[]), _release("v2.1.5")], False, "2.1.5"),
    ([_release("v2.1.6", assets=["containerd-2.1.6-linux-amd64.tar.gz"]), _release("v2.1.5")], False, "2.1.5"),
])
def test_newest_release(releases, prereleases, expected):
    assert newest_release(PROJECTS["containerd"], releases, prereleases) == expected


def test_newest_release_without_candidates_says_to_pin():
    with pytest.raises(ArtifactError, match="pin version"):
        newest_release(PROJECTS["containerd"], [_release("v2.2.0-rc.1", prerelease=True)], False)


@pytest.mark.parametrize("base, expected", [
    ("https://github.com", "https://github.com/containerd/containerd/releases/download/v1.7.29/F"),
    ("https://github.com/", "https://github.com/containerd/containerd/releases/download/v1.7.29/F"),
    ("https://art.example/artifactory/github", "https://art.example/artifactory/github/containerd/containerd/releases/download/v1.7.29/F"),
    ("https://files.example/wcow/{asset}", "https://files.example/wcow/F"),
    ("https://files.example/{repo}/{version}/{asset}", "https://files.example/containerd/1.7.29/F"),
    ("https://files.example/{owner}/{tag}/{asset}", "https://files.example/containerd/v1.7.29/F"),
])
def test_release_file_url(base, expected):
    assert release_file_url(base, PROJECTS["containerd"], "1.7.29", "F") == expected


def test_release_file_url_names_an_unknown_placeholder():
    with pytest.raises(ArtifactError) as caught:
        release_file_url("https://files.example/{arch}/{asset}", PROJECTS["containerd"], "1.7.29", "F")
    assert caught.value.option == "download_base_url" and "{asset}" in str(caught.value)


# -- the client against the fake GitHub ---------------------------------------------------
def test_list_releases_follows_link_pagination(fake_github):
    fake_github.page_size_cap = 2
    with ReleaseClient(api_url=fake_github.api_url) as client:
        releases = client.list_releases(PROJECTS["containerd"])
    # 7 published releases (the draft is hidden), 2 a page.
    assert [r["tag_name"] for r in releases] == ["v2.4.0-rc.1", "v1.7.29", "v2.3.4", "v2.2.7", "v2.1.5", "v2.0.11",
                                                 "v1.7.6"]
    paths = [r.path for r in fake_github.api_requests()]
    assert paths[0] == "/api/repos/containerd/containerd/releases?per_page=100"
    assert paths[1:] == [f"/api/repositories/1/releases?per_page=2&page={n}" for n in (2, 3, 4)]


def test_latest_version_from_the_api(fake_github):
    with ReleaseClient(api_url=fake_github.api_url) as client:
        assert client.latest_version(PROJECTS["containerd"], False) == "2.3.4"
        assert client.latest_version(PROJECTS["containerd"], True) == "2.4.0-rc.1"
        assert client.latest_version(PROJECTS["buildkit"], False) == "0.24.0"
        assert client.latest_version(PROJECTS["cni"], False) == "0.3.3"


def test_fake_latest_endpoint_is_by_date_not_version(fake_github):
    # Why we do not use /releases/latest: it answers the most recently created stable release.
    with ReleaseClient(api_url=fake_github.api_url) as client:
        latest = client.api_get("/repos/containerd/containerd/releases/latest").json()
        by_tag = client.api_get("/repos/containerd/containerd/releases/tags/v2.1.5").json()
    assert latest["tag_name"] == "v1.7.29"
    assert by_tag["tag_name"] == "v2.1.5"
    assert {"tag_name", "name", "draft", "prerelease", "assets", "created_at"} <= set(by_tag)
    assert by_tag["assets"][0]["browser_download_url"].startswith(fake_github.base_url)


def test_token_travels_only_in_the_authorization_header_to_the_api(fake_github):
    fake_github.page_size_cap = 2
    fake_github.valid_token = TOKEN
    with ReleaseClient(api_url=fake_github.api_url, token=TOKEN) as client:
        client.list_releases(PROJECTS["containerd"])
        sink = bytearray()
        client.download(f"{fake_github.base_url}/containerd/containerd/releases/download/v2.1.5/"
                        "containerd-2.1.5-windows-amd64.tar.gz.sha256sum", _Sink(sink))
    api = fake_github.api_requests()
    assert len(api) == 4 and all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in api)
    downloads = [r for r in fake_github.requests if not r.path.startswith("/api/")]
    assert downloads and all("authorization" not in r.headers for r in downloads)
    assert all(TOKEN not in r.path for r in fake_github.requests)


def test_rejected_token_is_named_but_never_shown(fake_github):
    fake_github.valid_token = "the-right-one"
    with ReleaseClient(api_url=fake_github.api_url, token=TOKEN) as client, pytest.raises(ArtifactError) as caught:
        client.list_releases(PROJECTS["containerd"])
    assert caught.value.option == "github_token"
    assert "401" in str(caught.value) and "Bad credentials" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_token_is_masked_wherever_it_would_appear(fake_github):
    # A token pasted into the URL by mistake must not come back in the message.
    with ReleaseClient(api_url=f"{fake_github.api_url}/{TOKEN}", token=TOKEN) as client, \
            pytest.raises(ArtifactError) as caught:
        client.list_releases(PROJECTS["containerd"])
    assert TOKEN not in str(caught.value) and "********" in str(caught.value)


def test_rate_limit_error_is_clear(fake_github):
    fake_github.rate_limited = True
    with ReleaseClient(api_url=fake_github.api_url) as client, pytest.raises(ArtifactError) as caught:
        client.latest_version(PROJECTS["buildkit"], False)
    message = str(caught.value)
    assert caught.value.option == "github_token"
    assert "rate limit" in message and "until" in message and "UTC" in message
    assert "GITHUB_TOKEN" in message and "pin version" in message


def test_unknown_repository_404_names_github_api_url(fake_github):
    with ReleaseClient(api_url=fake_github.api_url) as client, pytest.raises(ArtifactError) as caught:
        client.api_get("/repos/nobody/nothing/releases")
    assert caught.value.option == "github_api_url" and "404" in str(caught.value)


def test_unreachable_api_names_the_url_and_the_option():
    with ReleaseClient(api_url="http://127.0.0.1:9") as client, pytest.raises(ArtifactError) as caught:
        client.list_releases(PROJECTS["containerd"])
    assert "cannot reach http://127.0.0.1:9/repos/containerd/containerd/releases" in str(caught.value)
    assert caught.value.option == "github_api_url"


def test_missing_release_file_is_none_and_a_missing_download_names_the_options(fake_github):
    url = f"{fake_github.base_url}/containerd/containerd/releases/download/v9.9.9/nothing.tar.gz"
    with ReleaseClient(api_url=fake_github.api_url) as client:
        assert client.get_small(url) is None
        with pytest.raises(ArtifactError) as caught:
            client.download(url, _Sink(bytearray()))
    assert "404" in str(caught.value) and "version" in str(caught.value) and url in str(caught.value)


class _Sink:
    def __init__(self, buffer: bytearray):
        self.buffer = buffer

    def write(self, data: bytes) -> int:
        self.buffer.extend(data)
        return len(data)
