"""The smoke build's push from the host (buildctl on the builder) to a registry, and what it leaves behind.

The registry is tests/fixtures/fake_registry.py on 127.0.0.1 (Basic auth, as registry:2 with htpasswd); the simulated
buildctl pushes to it over real HTTP with the credentials it finds in its own process's docker config.
"""

from __future__ import annotations

import base64
import json
import pathlib

import pytest
from fake_registry import FakeRegistry, fake_registry  # noqa: F401  # pylint: disable=unused-import

REPO = pathlib.Path(__file__).resolve().parents[2]
SITE = REPO / "playbooks" / "site.yml"
VERSIONS = {"containerd_version": "2.1.5", "buildkitd_version": "0.24.0"}
PASSWORD = FakeRegistry.USERS["builder"]
CONFIG = "c:\\users\\administrator\\.docker\\config.json"
HOSTS_FILE = "C:\\Windows\\System32\\drivers\\etc\\hosts"
TRIPS = "wcow.buildkit.win_smoke_build"


def _extra(fake_github, tmp_path, **more) -> list[str]:
    values = dict(VERSIONS, **more)
    for role in ("containerd", "networking", "buildkitd"):
        values.update({f"{role}_{k}": v for k, v in fake_github.options(cache_dir=str(tmp_path / "cache")).items()})
    return ["-e", json.dumps(values)]


def _trips(state: dict) -> int:
    return state["stats"]["by_module"].get(TRIPS, {}).get("round_trips", 0)


def _config(state: dict) -> dict:
    return json.loads(base64.b64decode(state["files"][CONFIG]["content"]))


def _site(simulator, fake_github, tmp_path, hosts=None, **more):
    return simulator.run(SITE, hosts or {"sim-host": {}}, "-vvv", *_extra(fake_github, tmp_path, **more))


def test_push_with_credentials_kept_in_the_users_docker_config(simulator, fake_github, tmp_path, fake_registry):  # noqa: F811
    ref = f"{fake_registry.host}/ci/wcow-smoke:1"
    run = _site(simulator, fake_github, tmp_path, smoke_test_push=ref, smoke_test_registry_username="builder",
                smoke_test_registry_password=PASSWORD)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result()
    # The registry received the image the build made, from the user the credentials name.
    assert result["pushed"] == {"reference": ref, "digest": result["digest"]}
    assert fake_registry.pushes == [{"repository": "ci/wcow-smoke", "reference": "1", "digest": result["digest"],
                                     "user": "builder"}]
    assert any(s["name"] == f"[auth] sharing credentials for {fake_registry.host}" for s in result["steps"])
    # Unauthenticated first, then the Basic credentials after the registry's challenge (as containerd does).
    assert fake_registry.requests[0]["user"] is None and fake_registry.requests[1]["user"] == "builder"
    state = simulator.state()
    # Kept as `docker login` keeps them, in the connection user's config, readable by that user only.
    auth = base64.b64encode(f"builder:{PASSWORD}".encode()).decode()
    assert _config(state) == {"auths": {fake_registry.host: {"auth": auth}}}
    acl = state["files"][CONFIG]["acl"]
    assert acl["protected"] and [r["identity"] for r in acl["access"]] == ["WIN\\Administrator"]
    assert result["docker_config"].lower() == CONFIG
    # Never on a command line, in a result, in the output (even at -vvv), or in the host's records.
    assert PASSWORD not in run.stdout + run.stderr
    assert PASSWORD not in json.dumps(result) and auth not in json.dumps(result)
    assert PASSWORD not in json.dumps(state["events"]) and auth not in json.dumps(state["events"])
    assert not any(PASSWORD in " ".join(map(str, p.values())) for p in state["processes"])
    assert all(PASSWORD not in a for a in result["command"])
    # The built image is gone from buildkitd's containerd namespace (it lives on in the registry), in the same
    # round trip as the work folder: a changed run costs the start, the polls and one cleanup.
    assert state["containerd_images"]["buildkit"] == {} and result["image_removed"] is True
    assert f"containerd_image_deleted buildkit {ref}" in state["events"]
    assert not any("wcow.buildkit\\smoke" in f for f in state["files"])
    assert _trips(state) == 2 + result["polls"]


def test_the_credentials_merge_into_an_existing_config(simulator, fake_github, tmp_path, fake_registry):  # noqa: F811
    assert _site(simulator, fake_github, tmp_path).rc == 0
    state = simulator.state()
    # A config the user already has: another registry's login, a proxy setting, a credential helper per registry;
    # written by Set-Content -Encoding UTF8 in Windows PowerShell 5.1, so with a BOM.
    theirs = {"auths": {"other.example.com": {"auth": "b3RoZXI6c2VjcmV0"}},
              "proxies": {"default": {"httpsProxy": "http://proxy.example.com:3128"}},
              "credHelpers": {"gcr.io": "gcloud"}}
    data = b"\xef\xbb\xbf" + json.dumps(theirs).encode()
    state["files"][CONFIG] = {"path": CONFIG, "content": base64.b64encode(data).decode(), "size": len(data),
                              "sha256": ""}
    simulator.write_state(state)
    run = _site(simulator, fake_github, tmp_path, smoke_test_when="always", smoke_test_push=f"{fake_registry.host}/smoke",
                smoke_test_registry_username="builder", smoke_test_registry_password=PASSWORD)
    assert run.rc == 0, run.stdout + run.stderr
    config = _config(simulator.state())
    assert config["proxies"] == theirs["proxies"] and config["credHelpers"] == theirs["credHelpers"]
    assert config["auths"]["other.example.com"] == theirs["auths"]["other.example.com"]
    assert base64.b64decode(config["auths"][fake_registry.host]["auth"]).decode() == f"builder:{PASSWORD}"
    assert not base64.b64decode(simulator.state()["files"][CONFIG]["content"]).startswith(b"\xef\xbb\xbf")
    assert fake_registry.pushes[-1]["user"] == "builder" and fake_registry.pushes[-1]["reference"] == "latest"


def test_a_push_with_the_users_own_login_needs_no_credentials(simulator, fake_github, tmp_path, fake_registry):  # noqa: F811
    ref = f"{fake_registry.host}/smoke:own"
    assert _site(simulator, fake_github, tmp_path, smoke_test_push=ref, smoke_test_registry_username="builder",
                 smoke_test_registry_password=PASSWORD).rc == 0
    before = _config(simulator.state())
    run = _site(simulator, fake_github, tmp_path, smoke_test_when="always", smoke_test_push=ref)
    assert run.rc == 0, run.stdout + run.stderr
    assert fake_registry.pushes[-1] == {"repository": "smoke", "reference": "own", "digest": run.result()["digest"],
                                        "user": "builder"}
    assert _config(simulator.state()) == before  # nothing written without credentials


def test_wrong_credentials_fail_with_buildkits_401(simulator, fake_github, tmp_path, fake_registry):  # noqa: F811
    ref = f"{fake_registry.host}/smoke:bad"
    run = _site(simulator, fake_github, tmp_path, smoke_test_push=ref, smoke_test_registry_username="builder",
                smoke_test_registry_password="wrong-password")
    assert run.rc != 0 and "Traceback" not in run.stdout
    result = run.result()
    assert result["failed_step"]["name"] == "exporting to image"
    assert f"failed to push {ref}: unexpected status from HEAD request to http://{fake_registry.host}/v2/smoke/blobs/sha256:" \
        in result["msg"] and result["msg"].split("failed to push", 1)[1].count("401 Unauthorized") == 1
    assert "set registry_username (role variable smoke_test_registry_username) and registry_password" in result["msg"]
    assert "wrong-password" not in run.stdout + run.stderr + json.dumps(result)
    assert fake_registry.pushes == []
    # The image was exported before the push failed, and the cleanup still removed it.
    assert simulator.state()["containerd_images"]["buildkit"] == {}


def test_no_credentials_anywhere_is_a_401_with_the_fix(simulator, fake_github, tmp_path, fake_registry):  # noqa: F811
    run = _site(simulator, fake_github, tmp_path, smoke_test_push=f"{fake_registry.host}/smoke")
    assert run.rc != 0
    msg = run.result()["msg"]
    assert "401 Unauthorized" in msg and "(none are stored there yet)" in msg
    assert [r["user"] for r in fake_registry.requests] == [None]  # no credentials were offered


def test_plain_http_needs_buildkitds_registry_setting_unless_on_loopback(simulator, fake_github, tmp_path,
                                                                         fake_registry):  # noqa: F811
    port = fake_registry.host.rsplit(":", 1)[1]
    registry = f"registry.test:{port}"
    assert _site(simulator, fake_github, tmp_path).rc == 0
    state = simulator.state()
    hosts = b"127.0.0.1 localhost\r\n127.0.0.1 registry.test\r\n"
    state["files"][HOSTS_FILE.lower()] = {"path": HOSTS_FILE, "content": base64.b64encode(hosts).decode(),
                                          "size": len(hosts), "sha256": ""}
    simulator.write_state(state)
    push = {"smoke_test_when": "always", "smoke_test_push": f"{registry}/smoke:named",
            "smoke_test_registry_username": "builder", "smoke_test_registry_password": PASSWORD}
    run = _site(simulator, fake_github, tmp_path, **push)
    assert run.rc != 0
    msg = run.result()["msg"]
    assert f'Head "https://{registry}/v2/smoke/blobs/sha256:' in msg
    assert "http: server gave HTTP response to HTTPS client" in msg and f'[registry."{registry}"] http = true' in msg
    assert fake_registry.pushes == []
    # The buildkitd role renders the setting; buildkitd restarts with it, and the same push goes through.
    run = _site(simulator, fake_github, tmp_path, buildkitd_config={"registry": {registry: {"http": True}}}, **push)
    assert run.rc == 0, run.stdout + run.stderr
    assert fake_registry.pushes[-1]["reference"] == "named"
    assert run.result()["pushed"]["reference"] == f"{registry}/smoke:named"


def test_an_unreachable_registry_fails_as_a_lookup(simulator, fake_github, tmp_path):
    run = _site(simulator, fake_github, tmp_path, smoke_test_push="registry.example.com/team/smoke:1")
    assert run.rc != 0
    assert "failed to push registry.example.com/team/smoke:1: failed to do request: Head " \
        '"https://registry.example.com/v2/team/smoke/blobs/sha256:' in run.result()["msg"], run.result()["msg"]
    assert "dial tcp: lookup registry.example.com: no such host" in run.result()["msg"]


def test_keep_leaves_the_image_in_buildkits_namespace(simulator, fake_github, tmp_path):
    run = _site(simulator, fake_github, tmp_path, smoke_test_keep=True)
    assert run.rc == 0, run.stdout + run.stderr
    state = simulator.state()
    images = state["containerd_images"]["buildkit"]
    assert list(images) == ["wcow-smoke:latest"] and images["wcow-smoke:latest"]["digest"] == run.result()["digest"]
    assert "image_removed" not in run.result()
    assert any("wcow.buildkit\\smoke" in f for f in state["files"])


@pytest.mark.parametrize("extra, msg", [
    ({"smoke_test_push": "Team/Smoke"}, "push (role variable smoke_test_push): 'Team/Smoke' is not an image reference"),
    ({"smoke_test_registry_username": "builder", "smoke_test_registry_password": "x"},
     "registry_username (role variable smoke_test_registry_username) and registry_password are for the push"),
    ({"smoke_test_push": "127.0.0.1:5000/smoke", "smoke_test_registry_username": "builder"},
     "registry_password (role variable smoke_test_registry_password) go together"),
    ({"smoke_test_push": "127.0.0.1:5000/smoke", "smoke_test_docker_config": "C:\\Users\\a&b\\.docker"},
     "docker_config (role variable smoke_test_docker_config) must be an absolute Windows folder"),
])
def test_bad_push_settings_are_refused_before_the_build(simulator, fake_github, tmp_path, extra, msg):
    run = _site(simulator, fake_github, tmp_path, **extra)
    assert run.rc != 0 and "Traceback" not in run.stdout
    assert msg in run.result()["msg"], run.result()["msg"]
    assert not [e for e in simulator.state()["events"] if e.startswith("smoke_build_start")]
    assert run.result().get("invocation", {}).get("module_args", {}).get("registry_password") in (
        None, "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER")


def test_moved_install_folders_are_followed_for_buildctl_and_ctr(simulator, fake_github, tmp_path):
    run = _site(simulator, fake_github, tmp_path, containerd_install_dir="C:\\opt\\containerd",
                buildkitd_install_dir="C:\\opt\\buildkit")
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result()
    assert result["image_removed"] is True and "warnings" not in result
    assert simulator.state()["containerd_images"]["buildkit"] == {}
    assert any(e.startswith("smoke_build_start") and "C:\\opt\\buildkit\\bin\\buildctl.exe" in e
               for e in simulator.state()["events"])


def test_check_mode_reports_the_push_and_writes_nothing(simulator):
    task = {"wcow.buildkit.win_smoke_build": {"base_image": "mcr.microsoft.com/windows/nanoserver:ltsc2022",
                                              "push": "127.0.0.1:5000/smoke:1", "registry_username": "builder",
                                              "registry_password": PASSWORD}}
    play = [{"hosts": "windows_builders", "gather_facts": False, "tasks": [task]}]
    run = simulator.run(simulator.playbook(json.dumps(play)), {"sim-host": {}}, "-vvv", check=True)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result()
    assert result["changed"] is False and result["msg"].endswith("and push 127.0.0.1:5000/smoke:1")
    assert "type=image,name=127.0.0.1:5000/smoke:1,push=true" in result["command"]
    # Not one round trip: the host was never contacted, so it has no state at all.
    assert not (simulator.state_dir / "sim-host.json").exists()
    assert PASSWORD not in run.stdout + json.dumps(result)
