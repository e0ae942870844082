# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prepare() and stage(): resolve, verify, cache and place release archives on a simulated host."""

from __future__ import annotations

import hashlib
import pathlib
import re
import tarfile
import typing as t

import fake_github as fg
import pytest
import tree_sitter
import tree_sitter_powershell

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _checksums
from ansible_collections.wcow.buildkit.plugins.plugin_utils._artifacts import (
    ARTIFACT_ARGUMENT_SPEC, ArtifactError, is_current, observe_step, prepare, resolve_version, stage,
)
from ansible_collections.wcow.buildkit.plugins.plugin_utils._host import MASK, SCRIPT_DIR, HostError

CONTAINERD = "containerd-2.1.5-windows-amd64.tar.gz"
LATEST = "containerd-2.3.4-windows-amd64.tar.gz"  # what `latest` resolves to on the fake GitHub
REMOTE = r"C:\ProgramData\wcow.buildkit\downloads\archive"


@pytest.fixture
def custom_github(tmp_path) -> t.Iterator[t.Callable[[dict[str, list[t.Any]]], fg.FakeGitHub]]:
    """Start fake GitHubs with releases of the test's choosing."""
    servers = []

    def start(spec: dict[str, list[t.Any]]) -> fg.FakeGitHub:
        servers.append(fg.FakeGitHub(fg.build_release_tree(tmp_path / f"tree{len(servers)}", spec)).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _sha256(path: str | pathlib.Path) -> str:
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


class Warnings(list):
    def __call__(self, message: str) -> None:
        self.append(message)


# -- resolution ---------------------------------------------------------------------------
@pytest.mark.parametrize("project, options, expected", [
    ("containerd", {}, "2.3.4"),
    ("containerd", {"include_prereleases": True}, "2.4.0-rc.1"),
    ("containerd", {"version": "v1.7.29"}, "1.7.29"),
    ("buildkit", {}, "0.24.0"),
    ("buildkit", {"include_prereleases": True}, "0.25.0-rc1"),
    ("cni", {}, "0.3.3"),
])
def test_resolve_version(artifact_options, project, options, expected):
    assert resolve_version(project, {**artifact_options, **options}) == expected


def test_pinned_versions_never_call_the_api(fake_github, artifact_options):
    resolve_version("containerd", {**artifact_options, "version": "1.7.29"})
    prepare("containerd", {**artifact_options, "version": "1.7.29"}, warn=Warnings())
    assert fake_github.api_requests() == []


def test_latest_is_resolved_once_per_run(fake_github, artifact_options, monkeypatch):
    for _call in range(3):
        assert resolve_version("containerd", artifact_options) == "2.3.4"
    assert len(fake_github.api_requests()) == 1
    # Prerelease choice and other projects are their own questions.
    resolve_version("containerd", {**artifact_options, "include_prereleases": True})
    resolve_version("buildkit", artifact_options)
    assert len(fake_github.api_requests()) == 3
    # The next ansible-playbook run asks again.
    monkeypatch.setenv("WCOW_BUILDKIT_RUN_ID", "the-next-run")
    resolve_version("containerd", artifact_options)
    assert len(fake_github.api_requests()) == 4


def test_minimum_version_is_enforced_before_any_download(fake_github, artifact_options):
    with pytest.raises(ArtifactError) as caught:
        prepare("containerd", {**artifact_options, "version": "1.7.6"}, warn=Warnings())
    assert "1.7.6" in caught.value.msg and "1.7.7" in caught.value.msg and caught.value.option == "version"
    assert fake_github.requests == []


# -- checksums: where the expected digest comes from ---------------------------------------
@pytest.mark.parametrize("project, version, origin_suffix, algorithm", [
    ("containerd", "1.7.29", "containerd-1.7.29-windows-amd64.tar.gz.sha256sum", "sha256"),
    ("containerd", "2.0.11", "containerd-2.0.11-windows-amd64.tar.gz.sha256sum", "sha256"),
    ("cni", "0.3.3", "windows-container-networking-cni-amd64-v0.3.3.zip.sha256", "sha256"),
    ("cni", "0.3.1", "windows-container-networking-cni-amd64-v0.3.1.zip.sha512", "sha512"),
    ("buildkit", "0.13.2", "buildkit-v0.13.2.windows-amd64.provenance.json", "sha256"),
])
def test_each_published_checksum_format_verifies_the_download(fake_github, artifact_options, project, version,
                                                              origin_suffix, algorithm):
    artifact = prepare(project, {**artifact_options, "version": version}, warn=Warnings())
    assert artifact.checksum_origin.endswith("/" + origin_suffix)
    assert artifact.checksum.startswith(f"{algorithm}:")
    data = pathlib.Path(artifact.local_path).read_bytes()
    assert hashlib.new(algorithm, data).hexdigest() == artifact.checksum.split(":", 1)[1]
    assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert (artifact.version, artifact.source) == (version, "controller")
    assert fake_github.downloads(artifact.file_name) == 1


def test_buildkit_falls_back_to_the_sbom_statement(custom_github, artifact_options):
    server = custom_github({"buildkit": [{"version": "0.20.2", "attestations": ("sbom",)}]})
    artifact = prepare("buildkit", {**artifact_options, **server.options(), "version": "0.20.2"}, warn=Warnings())
    assert artifact.checksum_origin.endswith("buildkit-v0.20.2.windows-amd64.sbom.json")
    assert _sha256(artifact.local_path) == artifact.sha256


def test_release_without_checksum_uses_the_known_digests_table(custom_github, artifact_options, monkeypatch):
    server = custom_github({"buildkit": [{"version": "0.20.2", "checksums": False}]})
    options = {**artifact_options, **server.options(), "version": "0.20.2"}
    name = "buildkit-v0.20.2.windows-amd64.tar.gz"
    with pytest.raises(ArtifactError) as caught:
        prepare("buildkit", options, warn=Warnings())
    assert caught.value.option == "checksum" and "provenance.json" in caught.value.msg
    assert server.downloads(name) == 0
    digest = hashlib.sha256(fg.buildkit_archive("0.20.2")).hexdigest()
    monkeypatch.setitem(_checksums.KNOWN_DIGESTS, ("buildkit", name), f"sha256:{digest}")
    artifact = prepare("buildkit", options, warn=Warnings())
    assert artifact.sha256 == digest and artifact.checksum_origin == "the collection's table of known digests"


def test_user_checksum_wins_over_the_published_one(fake_github, artifact_options):
    wrong = "sha256:" + "ab" * 32
    with pytest.raises(ArtifactError) as caught:
        prepare("containerd", {**artifact_options, "version": "2.1.5", "checksum": wrong}, warn=Warnings())
    assert "expected sha256 " + "ab" * 32 in caught.value.msg and "the digest you gave" in caught.value.msg
    # The user's digest was used: the published checksum file was never fetched.
    assert not any(r.path.endswith(".sha256sum") for r in fake_github.requests)
    right = hashlib.sha256(fg.containerd_archive("2.1.5")).hexdigest()
    artifact = prepare("containerd", {**artifact_options, "version": "2.1.5", "checksum": right}, warn=Warnings())
    assert artifact.checksum == f"sha256:{right}" and artifact.checksum_origin == "checksum option"


def test_turning_verification_off_warns_on_every_call(fake_github, artifact_options):
    warnings = Warnings()
    options = {**artifact_options, "version": "2.1.5", "verify_checksum": False}
    first = prepare("containerd", options, warn=warnings)
    second = prepare("containerd", options, warn=warnings)
    assert len(warnings) == 2 and all("WITHOUT checksum verification" in w for w in warnings)
    assert first.checksum is None and not first.verified and first.checksum_origin == "unverified"
    # Still transferred safely: the sha256 of the bytes we hold is known.
    assert first.sha256 == second.sha256 == _sha256(first.local_path)
    assert not any(r.path.endswith(".sha256sum") for r in fake_github.requests)
    assert fake_github.downloads(CONTAINERD) == 1


def test_mismatch_fails_with_expected_actual_and_url_and_caches_nothing(custom_github, artifact_options):
    server = custom_github({"containerd": [{"version": "2.1.5", "tamper": True}]})
    options = {**artifact_options, **server.options(), "version": "2.1.5"}
    with pytest.raises(ArtifactError) as caught:
        prepare("containerd", options, warn=Warnings())
    published = hashlib.sha256(fg.containerd_archive("2.1.5")).hexdigest()
    served = _sha256(server.root / "containerd/containerd/releases/download/v2.1.5" / CONTAINERD)
    message = caught.value.msg
    assert f"expected sha256 {published}" in message and f"actual {served}" in message
    assert f"{server.base_url}/containerd/containerd/releases/download/v2.1.5/{CONTAINERD}" in message
    cache = pathlib.Path(artifact_options["cache_dir"])
    assert not [p for p in cache.rglob("*") if p.is_file() and p.name.endswith((".tar.gz", ".part"))]


# -- the controller cache -------------------------------------------------------------------
def test_second_prepare_is_a_cache_hit_and_survives_runs(fake_github, artifact_options, monkeypatch):
    first = prepare("containerd", artifact_options, warn=Warnings())
    second = prepare("containerd", artifact_options, warn=Warnings())
    monkeypatch.setenv("WCOW_BUILDKIT_RUN_ID", "a-later-run")
    third = prepare("containerd", artifact_options, warn=Warnings())
    assert first.local_path == second.local_path == third.local_path
    assert fake_github.downloads(LATEST) == 1
    assert f"sha256-{first.sha256}" in first.local_path


def test_corrupted_cache_entry_is_detected_and_replaced(fake_github, artifact_options):
    warnings = Warnings()
    first = prepare("containerd", artifact_options, warn=warnings)
    pathlib.Path(first.local_path).write_bytes(b"bit rot")
    again = prepare("containerd", artifact_options, warn=warnings)
    assert again.local_path == first.local_path and _sha256(again.local_path) == first.sha256
    assert fake_github.downloads(LATEST) == 2
    assert len(warnings) == 1 and "corrupt" in warnings[0] and first.sha256 in warnings[0]


def test_check_mode_fetches_no_archive_bytes(fake_github, artifact_options):
    artifact = prepare("containerd", artifact_options, download=False, warn=Warnings())
    assert artifact.local_path is None
    assert artifact.sha256 == hashlib.sha256(fg.containerd_archive("2.3.4")).hexdigest()
    assert fake_github.downloads(LATEST) == 0


# -- mirrors and air gaps -----------------------------------------------------------------------
def test_mirror_without_an_api_works_with_a_pinned_version(fake_github, artifact_options):
    options = {**artifact_options, "github_api_url": "http://127.0.0.1:9", "download_base_url": fake_github.mirror_url}
    artifact = prepare("cni", {**options, "version": "0.3.1"}, warn=Warnings())
    assert artifact.url == f"{fake_github.base_url}/mirror/windows-container-networking-cni-amd64-v0.3.1.zip"
    assert artifact.checksum_origin.endswith("/mirror/windows-container-networking-cni-amd64-v0.3.1.zip.sha512")
    assert _sha256(artifact.local_path) == artifact.sha256
    with pytest.raises(ArtifactError) as caught:
        prepare("cni", options, warn=Warnings())
    assert caught.value.option == "github_api_url" and "cannot reach http://127.0.0.1:9" in caught.value.msg


def test_github_layout_mirror_base_url(fake_github, artifact_options):
    # download_base_url alone moves downloads (e.g. an Artifactory GitHub remote); the API stays.
    options = {**artifact_options, "download_base_url": fake_github.base_url + "/"}
    artifact = prepare("buildkit", options, warn=Warnings())
    assert artifact.url == (f"{fake_github.base_url}/moby/buildkit/releases/download/v0.24.0/"
                            "buildkit-v0.24.0.windows-amd64.tar.gz")


def _local_release(tmp_path: pathlib.Path, project: str, version: str, *, keep: t.Sequence[str] = ()) -> pathlib.Path:
    """A release archive copied to a folder, with the named sibling files kept."""
    folder = tmp_path / "offline"
    folder.mkdir(exist_ok=True)
    archive = None
    for name, data in fg.release_files(project, {"version": version}).items():
        if name.endswith((".tar.gz", ".zip")) and "linux" not in name:
            archive = folder / name
            archive.write_bytes(data)
        elif any(name.endswith(suffix) for suffix in keep):
            (folder / name).write_bytes(data)
    assert archive is not None
    return archive


@pytest.mark.parametrize("project, version, keep", [
    ("containerd", "1.7.29", (".sha256sum",)),
    ("cni", "0.3.1", (".sha512",)),
    ("buildkit", "0.13.2", (".provenance.json",)),
])
def test_local_archive_verified_by_the_release_checksum_beside_it(tmp_path, artifact_options, project, version, keep):
    archive = _local_release(tmp_path, project, version, keep=keep)
    artifact = prepare(project, {**artifact_options, "archive_path": str(archive)}, warn=Warnings())
    assert (artifact.source, artifact.version, artifact.local_path) == ("archive", version, str(archive))
    assert artifact.sha256 == _sha256(archive)
    assert artifact.checksum_origin.endswith(keep[0])


def test_local_archive_with_a_user_checksum_and_a_wrong_one(tmp_path, artifact_options):
    archive = _local_release(tmp_path, "containerd", "1.7.29")
    options = {**artifact_options, "archive_path": str(archive)}
    with pytest.raises(ArtifactError) as caught:
        prepare("containerd", options, warn=Warnings())
    assert caught.value.option == "checksum" and ".sha256sum" in caught.value.msg
    good = prepare("containerd", {**options, "checksum": f"sha256:{_sha256(archive)}"}, warn=Warnings())
    assert good.checksum_origin == "checksum option"
    with pytest.raises(ArtifactError) as caught:
        prepare("containerd", {**options, "checksum": "1" * 64}, warn=Warnings())
    assert f"actual {_sha256(archive)}" in caught.value.msg and str(archive) in caught.value.msg


def test_local_archive_version_needs_no_network(tmp_path, artifact_options):
    archive = _local_release(tmp_path, "containerd", "1.7.29", keep=(".sha256sum",))
    offline = {**artifact_options, "archive_path": str(archive), "github_api_url": "http://127.0.0.1:9"}
    assert resolve_version("containerd", offline) == "1.7.29"
    assert resolve_version("containerd", {**offline, "version": "v2.0.11"}) == "2.0.11"


def test_local_archive_renamed_needs_a_version(tmp_path, artifact_options):
    archive = _local_release(tmp_path, "containerd", "1.7.29", keep=(".sha256sum",))
    renamed = archive.with_name("containerd.tar.gz")
    renamed.write_bytes(archive.read_bytes())
    options = {**artifact_options, "archive_path": str(renamed), "checksum": _sha256(archive)}
    with pytest.raises(ArtifactError) as caught:
        prepare("containerd", options, warn=Warnings())
    assert caught.value.option == "version"
    assert prepare("containerd", {**options, "version": "1.7.29"}, warn=Warnings()).version == "1.7.29"


# -- bad input: a clear error naming the option, nothing fetched --------------------------------------
@pytest.mark.parametrize("options, option, fragment", [
    ({"version": "1.7"}, "version", "X.Y.Z"),
    ({"version": "newest"}, "version", "'latest'"),
    ({"source": "remote"}, "source", "controller, host"),
    ({"checksum": "md5:" + "0" * 32}, "checksum", "sha256 or sha512"),
    ({"checksum": "sha256:xyz"}, "checksum", "64 hex"),
    ({"checksum": "0" * 64, "verify_checksum": False}, "verify_checksum", "remove one"),
    ({"archive_path": "/tmp/x.tar.gz", "source": "host"}, "archive_path", "source: host"),
    ({"archive_path": "/nonexistent/containerd-1.7.29-windows-amd64.tar.gz"}, "archive_path", "does not exist"),
    ({"github_api_url": "api.github.com"}, "github_api_url", "http(s) URL"),
    ({"download_base_url": "https://m.example/{arch}/{asset}", "version": "1.7.29"}, "download_base_url", "{asset}"),
    ({"download_base_url": "file:///srv/mirror", "version": "1.7.29"}, "download_base_url", "http(s) URL"),
])
def test_bad_input_is_refused_before_anything_happens(fake_github, artifact_options, sim_windows, options,
                                                      option, fragment):
    with pytest.raises(ArtifactError) as caught:
        prepare("containerd", {**artifact_options, **options}, warn=Warnings())
    assert caught.value.option == option and fragment in caught.value.msg
    assert option in caught.value.msg or option == "source" and "source" in caught.value.msg
    assert fake_github.requests == [] and sim_windows.host.state["files"] == {}


def test_unwritable_cache_dir_is_named(fake_github, artifact_options, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ArtifactError) as caught:
        prepare("containerd", {**artifact_options, "cache_dir": str(blocker / "cache")}, warn=Warnings())
    assert caught.value.option == "cache_dir"


def test_token_from_the_environment_is_sent_and_never_stored(fake_github, artifact_options, monkeypatch):
    token = "ghp_environmentToken0123456789abcdef"
    monkeypatch.setenv("GITHUB_TOKEN", token)
    artifact = prepare("containerd", artifact_options, warn=Warnings())
    assert {r.headers.get("authorization") for r in fake_github.api_requests()} == {f"Bearer {token}"}
    assert token not in repr(artifact)
    stored = [p.read_bytes() for p in pathlib.Path(artifact_options["cache_dir"]).rglob("*.json")]
    assert stored and not any(token.encode() in data for data in stored)


def test_argument_spec_matches_the_doc_fragment():
    import yaml

    from ansible_collections.wcow.buildkit.plugins.doc_fragments.artifact_source import ModuleDocFragment

    shared = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    per_project = {name: yaml.safe_load(getattr(ModuleDocFragment, name))["options"]
                   for name in ("CONTAINERD", "BUILDKIT", "CNI")}
    # Each project's page gets the shared options plus its own wording of the same project options.
    assert all(set(options) == set(per_project["CONTAINERD"]) for options in per_project.values())
    assert not set(shared) & set(per_project["CONTAINERD"])
    documented = {**shared, **per_project["CONTAINERD"]}
    assert set(documented) == set(ARTIFACT_ARGUMENT_SPEC)
    assert "BuildKit" not in yaml.safe_dump(documented) and "CNI" not in yaml.safe_dump(documented)
    for name, spec in ARTIFACT_ARGUMENT_SPEC.items():
        # A stray ': ' in a plain YAML line turns a sentence into a mapping; ansible-doc then refuses it.
        assert all(isinstance(line, str) for line in documented[name]["description"]), name
        assert documented[name]["type"] == spec["type"], name
        assert documented[name].get("default") == spec.get("default"), name
        assert documented[name].get("choices") == spec.get("choices"), name
    assert ARTIFACT_ARGUMENT_SPEC["github_token"]["no_log"] is True


# -- on the (simulated) host ---------------------------------------------------------------------------
def test_controller_mode_stages_verifies_and_then_skips(fake_github, artifact_options, sim_windows):
    artifact = prepare("containerd", artifact_options, warn=Warnings())
    host, connection, windows = sim_windows
    observed = windows.run([observe_step(artifact, REMOTE)])[0]
    assert observed["exists"] is False and not is_current(artifact, observed)
    steps, changed = stage(windows, artifact, REMOTE, observed)
    assert changed and connection.transfers == [REMOTE]
    answer = windows.run(steps)[0]
    assert answer["sha256"] == artifact.sha256 and host.file(REMOTE)["sha256"] == artifact.sha256
    # The transferred file is the real archive: the simulator can read its layout.
    with tarfile.open(pathlib.Path(artifact.local_path)) as archive:
        assert "bin/containerd-shim-runhcs-v1.exe" in archive.getnames()
    # Converged: one observe round trip, nothing staged.
    before = connection.round_trips
    observed = windows.run([observe_step(artifact, REMOTE)])[0]
    assert stage(windows, artifact, REMOTE, observed) == ([], False)
    assert stage(windows, artifact, REMOTE, observed["sha256"]) == ([], False)
    assert connection.round_trips == before + 1


def test_corrupted_transfer_is_caught_on_the_host_and_removed(fake_github, artifact_options, sim_windows):
    artifact = prepare("containerd", artifact_options, warn=Warnings())
    host, connection, windows = sim_windows
    connection.put_file = lambda local, remote: host.write_file(remote, b"truncated")  # type: ignore[method-assign]
    steps = stage(windows, artifact, REMOTE, None)[0]
    with pytest.raises(HostError) as caught:
        windows.run(steps)
    assert f"expected sha256 {artifact.sha256}" in str(caught.value)
    assert host.file(REMOTE) is None


@pytest.mark.parametrize("project, version, algorithm", [
    ("containerd", "1.7.29", "SHA256"),
    ("cni", "0.3.1", "SHA512"),    # only a sha512 is published: the host checks that
])
def test_host_mode_downloads_on_the_host_and_verifies_there(
        fake_github, artifact_options, sim_windows, project, version, algorithm):
    artifact = prepare(project, {**artifact_options, "version": version, "source": "host"}, warn=Warnings())
    assert artifact.local_path is None and fake_github.downloads(artifact.file_name) == 0
    host, connection, windows = sim_windows
    steps, changed = stage(windows, artifact, REMOTE, windows.run([observe_step(artifact, REMOTE)])[0])
    assert changed and [s.script for s in steps] == ["download_file"]
    assert steps[0].params["Algorithm"] == algorithm and connection.transfers == []
    answer = windows.run(steps)[0]
    assert answer["changed"] is True and fake_github.downloads(artifact.file_name) == 1
    assert host.file(REMOTE)["sha256"] == answer["sha256"]
    observed = windows.run([observe_step(artifact, REMOTE)])[0]
    assert is_current(artifact, observed) and stage(windows, artifact, REMOTE, observed) == ([], False)


def test_host_mode_uses_the_download_proxy(fake_github, artifact_options, sim_windows):
    options = {**artifact_options, "version": "1.7.29", "source": "host", "download_proxy": fake_github.base_url}
    artifact = prepare("containerd", options, warn=Warnings())
    steps = stage(sim_windows.windows, artifact, REMOTE, None)[0]
    assert steps[0].params["Proxy"] == fake_github.base_url
    sim_windows.windows.run(steps)
    served = [r for r in fake_github.requests if r.path.endswith(artifact.file_name) and r.status == 200]
    assert served and all(r.proxied for r in served)


@pytest.mark.parametrize("spec, faults", [
    pytest.param({"containerd": [{"version": "2.1.5", "tamper": True}]}, {}, id="tampered-release"),
    pytest.param({"containerd": ["2.1.5"]}, {"corrupt_download": True}, id="corrupted-in-transit"),
])
def test_host_mode_mismatch_leaves_the_host_untouched(custom_github, artifact_options, sim_windows, spec, faults):
    server = custom_github(spec)
    artifact = prepare("containerd", {**artifact_options, **server.options(), "source": "host", "version": "2.1.5"},
                       warn=Warnings())
    host, windows = sim_windows.host, sim_windows.windows
    host.faults.update(faults)
    before = host.state["files"].copy()
    steps = stage(windows, artifact, REMOTE, None)[0]
    with pytest.raises(HostError) as caught:
        windows.run(steps)
    message = str(caught.value)
    assert f"expected sha256 {artifact.sha256}" in message and re.search(r"actual [0-9a-f]{64}", message)
    assert artifact.url in message
    assert host.state["files"] == before


def test_controller_mode_mismatch_never_reaches_the_host(custom_github, artifact_options, sim_windows):
    server = custom_github({"containerd": [{"version": "2.1.5", "tamper": True}]})
    with pytest.raises(ArtifactError):
        prepare("containerd", {**artifact_options, **server.options()}, warn=Warnings())
    assert sim_windows.connection.round_trips == 0 and sim_windows.host.state["files"] == {}


def test_staging_a_check_mode_artifact_is_refused(fake_github, artifact_options, sim_windows):
    artifact = prepare("containerd", artifact_options, download=False, warn=Warnings())
    with pytest.raises(ArtifactError, match="check mode"):
        stage(sim_windows.windows, artifact, REMOTE, None)


def test_local_archive_reaches_the_host(tmp_path, artifact_options, sim_windows):
    archive = _local_release(tmp_path, "cni", "0.3.3", keep=(".sha256",))
    artifact = prepare("cni", {**artifact_options, "archive_path": str(archive)}, warn=Warnings())
    steps, changed = stage(sim_windows.windows, artifact, REMOTE, None)
    assert changed and sim_windows.windows.run(steps)[0]["sha256"] == _sha256(archive)


# -- the host scripts and the steps we send agree -----------------------------------------------------
_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def _script_parameters(name: str) -> tuple[set[str], set[str]]:
    """(all, mandatory) parameter names of a shipped script, read with the PowerShell grammar."""
    tree = _PARSER.parse((SCRIPT_DIR / f"{name}.ps1").read_bytes())
    names, mandatory = set(), set()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "script_parameter":
            variable = next(c for c in node.children if c.type == "variable").text.decode().lstrip("$")
            names.add(variable)
            if b"Mandatory = $true" in node.text:
                mandatory.add(variable)
        stack.extend(node.children)
    return names, mandatory


@pytest.mark.parametrize("source", ["controller", "host"])
def test_steps_use_the_scripts_parameters(fake_github, artifact_options, sim_windows, source):
    artifact = prepare("cni", {**artifact_options, "version": "0.3.1", "source": source}, warn=Warnings())
    for step in [observe_step(artifact, REMOTE), *stage(sim_windows.windows, artifact, REMOTE, None)[0]]:
        names, mandatory = _script_parameters(step.script)
        assert set(step.params) <= names, step
        assert mandatory <= set(step.params), step


def test_missing_httpx_is_a_clear_error(fake_github, artifact_options, monkeypatch):
    from ansible_collections.wcow.buildkit.plugins.plugin_utils import _releases

    monkeypatch.setattr(_releases, "httpx", None)
    with pytest.raises(ArtifactError) as caught:
        prepare("containerd", artifact_options, warn=Warnings())
    assert "pip install httpx" in caught.value.msg and "archive_path" in caught.value.msg
    assert fake_github.requests == []


@pytest.mark.parametrize("proxy, masked", [
    ("http://builder:s3cret@proxy.example:3128", True),
    ("http://proxy.example:3128", False),
])
def test_host_mode_proxy_credentials_never_reach_step_logs(fake_github, artifact_options, sim_windows, proxy, masked):
    artifact = prepare("containerd", {**artifact_options, "version": "1.7.29", "source": "host",
                                      "download_proxy": proxy}, warn=Warnings())
    steps, _changed = stage(sim_windows[2], artifact, REMOTE, None)
    assert steps[0].params["Proxy"] == proxy  # the host still gets it
    shown = steps[0].masked_params()["Proxy"]
    assert (shown == MASK) if masked else (shown == proxy)
