"""Push, image store and OS match: the planner's tables (_smoke.py) and the twins that refuse what Windows and
BuildKit refuse (buildctl_build.py push, ctr.py, docker_config.py)."""

from __future__ import annotations

import base64
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "simulated"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fixtures"))

from ansible_collections.wcow.buildkit.plugins.plugin_utils import _smoke  # noqa: E402
from fake_registry import FakeRegistry  # noqa: E402
from wcow_sim import buildctl_build  # noqa: E402
from wcow_sim.buildkitd import buildctl_exe, buildkitd_exe  # noqa: E402
from wcow_sim.ctr import ctr_exe, images  # noqa: E402
from wcow_sim.docker_config import docker_config_auth, read_auths  # noqa: E402
from wcow_sim.host import Host, ScriptFailure  # noqa: E402
from wcow_sim.state import new_state  # noqa: E402

EXE = r"C:\Program Files\buildkit\bin\buildkitd.exe"
CTL = r"C:\Program Files\buildkit\bin\buildctl.exe"
CTR = r"C:\Program Files\containerd\bin\ctr.exe"
CONFIG = r"C:\ProgramData\buildkitd\buildkitd.toml"
CTX = r"C:\Windows\Temp\wcow-smoke"
PROFILE_CONFIG = r"C:\Users\Administrator\.docker\config.json"
USERS = {"builder": "s3cret"}

# (host build, hyperv) -> tag, per hcsshim's osversion.CheckHostAndContainerCompat (process) and Hyper-V's rule
# (any image not newer than the host); None: no nanoserver tag runs there.
OS_MATCH = [
    (14393, False, None), (14393, True, None),
    (17763, False, "ltsc2019"), (17763, True, "ltsc2019"),
    (19045, False, None), (19045, True, "ltsc2019"),
    (20348, False, "ltsc2022"), (20348, True, "ltsc2022"),
    (22000, False, "ltsc2022"), (22621, False, "ltsc2022"), (22631, False, "ltsc2022"), (25398, False, "ltsc2022"),
    (26100, False, "ltsc2025"), (26100, True, "ltsc2025"),
    (26200, False, "ltsc2025"), (26200, True, "ltsc2025"),
]
# (host build, image build, hyperv) -> hcs starts it
RUNS = [
    (17763, 17763, False, True), (20348, 17763, False, False), (20348, 17763, True, True),
    (17763, 20348, True, False), (22631, 20348, False, True), (26100, 20348, False, True),
    (26200, 20348, False, False), (26200, 20348, True, True), (26100, 26100, False, True),
    (20348, 26100, False, False), (20348, 26100, True, False), (19045, 17763, False, False),
]


@pytest.mark.parametrize("build, hyperv, tag", OS_MATCH)
def test_base_image_per_build_and_isolation(build, hyperv, tag):
    if tag is None:
        with pytest.raises(_smoke.NoBaseImage, match=f"Windows build {build} .* has no nanoserver image it can run"):
            _smoke.base_image(build, hyperv=hyperv)
    else:
        assert _smoke.base_image(build, hyperv=hyperv) == f"{_smoke.NANOSERVER}:{tag}"


@pytest.mark.parametrize("host_build, image_build, hyperv, runs", RUNS)
def test_the_planner_and_the_twin_agree_with_hcs(host_build, image_build, hyperv, runs):
    assert _smoke.runs_image(host_build, image_build, hyperv) is runs
    host = Host("h", new_state(host_build))
    assert buildctl_build._runs_on(host, image_build, hyperv) is runs  # pylint: disable=protected-access


@pytest.mark.parametrize("reference, registry, key", [
    ("127.0.0.1:5000/wcow-smoke:latest", "127.0.0.1:5000", "127.0.0.1:5000"),
    ("registry.example.com/team/app:1", "registry.example.com", "registry.example.com"),
    ("localhost/app", "localhost", "localhost"),
    ("team/app", "docker.io", "https://index.docker.io/v1/"),
    ("app", "docker.io", "https://index.docker.io/v1/"),
])
def test_registry_of_a_reference_and_its_docker_login_key(reference, registry, key):
    assert _smoke.registry_of(reference) == (registry, key)


@pytest.mark.parametrize("reference", ["Team/App", "127.0.0.1:5000/", "a:b:c", "", "UPPER"])
def test_references_buildkit_refuses(reference):
    with pytest.raises(_smoke.BadReference):
        _smoke.registry_of(reference)


def test_parse_progress_reads_the_pushed_reference():
    digest = "sha256:" + "ab" * 32
    text = (f"#9 exporting to image\n#9 exporting manifest {digest} done\n#9 naming to r:5000/s:1 done\n"
            f"#10 [auth] sharing credentials for r:5000\n#10 DONE 0.0s\n#9 pushing layers 0.3s done\n"
            f"#9 pushing manifest for r:5000/s:1@{digest} 0.1s done\n#9 DONE 1.4s\n")
    result = _smoke.parse_progress(text)
    assert result["pushed"] == [{"reference": "r:5000/s:1", "digest": digest}] and result["digest"] == digest


# -- the twins -----------------------------------------------------------------------------------------------
def _host(build: int = 20348, toml: str = "") -> Host:
    host = Host("win1", new_state(build))
    for path, program in ((EXE, "buildkitd"), (CTL, "buildctl"), (CTR, "ctr")):
        host.write_file(path, f"SIMULATED-EXE {program} 0.24.0".encode())
    host.write_file(CONFIG, toml.encode())
    host.state["services"]["containerd"] = {"name": "containerd", "status": "Running", "pipe": "containerd-containerd",
                                            "command_line": "containerd.exe", "start_mode": "Automatic",
                                            "depends_on": [], "pid": None}
    assert buildkitd_exe(host, EXE, ["--register-service", "--config", CONFIG])[0] == 0
    assert host.start_service("buildkitd")
    host.write_file(CTX + r"\Dockerfile", _smoke.dockerfile(_smoke.base_image(build)).encode())
    host.write_file(CTX + r"\hello.txt", _smoke.HELLO_TEXT.encode())
    return host


def _build(host: Host, output: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    host.process_env = env if env is not None else {"USERPROFILE": r"C:\Users\Administrator"}
    try:
        return buildctl_exe(host, CTL, ["build", "--frontend", "dockerfile.v0", "--local", f"context={CTX}",
                                        "--local", f"dockerfile={CTX}", "--output", output, "--progress", "plain"])
    finally:
        host.process_env = {}


def _login(host: Host, registry: str, user: str = "builder", password: str = "s3cret") -> dict:
    return docker_config_auth(host, {"Folder": "", "Registry": registry, "Username": user, "Password": password})


def test_a_push_sends_real_blobs_and_a_manifest_with_the_config_credentials():
    with FakeRegistry(users=USERS) as registry:
        host = _host()
        _login(host, registry.host)
        rc, _out, err = _build(host, f"type=image,name={registry.host}/smoke:1,push=true")
        assert rc == 0, err
        digest = _smoke.parse_progress(err)["digest"]
        assert registry.pushes == [{"repository": "smoke", "reference": "1", "digest": digest, "user": "builder"}]
        manifest = json.loads(registry.manifest("smoke", "1")[1])
        assert all(layer["digest"] in registry.blobs for layer in manifest["layers"])
        assert json.loads(registry.blobs[manifest["config"]["digest"]])["os"] == "windows"
        # The image stays named in buildkitd's containerd namespace until someone deletes it.
        assert images(host, "buildkit")[f"{registry.host}/smoke:1"]["digest"] == digest


def test_the_detached_process_reads_only_the_config_it_is_told_about():
    with FakeRegistry(users=USERS) as registry:
        host = _host()
        _login(host, registry.host)
        # No USERPROFILE and no DOCKER_CONFIG (a Win32_Process.Create child): no credentials found, a 401.
        rc, _out, err = _build(host, f"type=image,name={registry.host}/smoke,push=true", env={"USERPROFILE": ""})
        assert rc == 1 and "401 Unauthorized" in err and registry.pushes == []
        rc, _out, err = _build(host, f"type=image,name={registry.host}/smoke,push=true",
                               env={"USERPROFILE": "", "DOCKER_CONFIG": r"C:\Users\Administrator\.docker"})
        assert rc == 0, err


@pytest.mark.parametrize("toml, works", [
    ("", True),  # loopback: plain HTTP unless told otherwise (docker.MatchLocalhost)
    ('[registry."{r}"]\nhttp = false\n', False),  # told otherwise: HTTPS against a plain-HTTP registry
    ('[registry."{r}"]\ninsecure = true\n', True),  # HTTPS unverified, then the HTTP fallback for loopback
])
def test_plain_http_follows_buildkitds_registry_settings(toml, works):
    with FakeRegistry() as registry:
        host = _host(toml=toml.replace("{r}", registry.host))
        rc, _out, err = _build(host, f"type=image,name={registry.host}/smoke,push=true")
        assert (rc == 0) is works, err
        if not works:
            assert f'failed to push {registry.host}/smoke: failed to do request: Head "https://{registry.host}/v2/' \
                   f"smoke/blobs/sha256:" in err and "http: server gave HTTP response to HTTPS client" in err


def test_a_closed_port_is_refused_like_windows_refuses_it():
    with FakeRegistry() as registry:
        address = registry.host
    rc, _out, err = _build(_host(), f"type=image,name={address}/smoke,push=true")
    assert rc == 1 and "connectex: No connection could be made because the target machine actively refused it." in err


def test_docker_config_auth_keeps_other_keys_and_refuses_bad_json():
    host = Host("h", new_state())
    host.write_file(PROFILE_CONFIG, json.dumps({"auths": {"a.example": {"auth": "eDp5"}}, "detachKeys": "ctrl-e"}).encode())
    answer = _login(host, "r.example:5000")
    assert answer == {"folder": r"C:\Users\Administrator\.docker", "path": PROFILE_CONFIG, "has_auth": True,
                      "changed": True}
    config = json.loads(host.read_text(PROFILE_CONFIG))
    assert config["detachKeys"] == "ctrl-e" and config["auths"]["a.example"] == {"auth": "eDp5"}
    assert base64.b64decode(config["auths"]["r.example:5000"]["auth"]) == b"builder:s3cret"
    assert _login(host, "r.example:5000")["changed"] is False  # same entry, private already: nothing written
    assert docker_config_auth(host, {"Folder": "", "Registry": "other:1"})["has_auth"] is False
    assert "s3cret" not in json.dumps(host.state["events"])
    host.write_file(PROFILE_CONFIG, b"{not json")
    with pytest.raises(ScriptFailure, match="is not valid JSON"):
        _login(host, "r.example:5000")


def test_docker_config_auth_fills_an_auths_key_that_is_null():
    """`"auths": null` is valid JSON that docker/cli reads as no logins; ConvertFrom-Json gives the property with a
    $null value, and indexing its properties would throw "Cannot index into a null array." unless replaced."""
    host = Host("h", new_state())
    host.write_file(PROFILE_CONFIG, json.dumps({"auths": None, "detachKeys": "ctrl-e"}).encode())
    assert docker_config_auth(host, {"Folder": "", "Registry": "r.example:5000"})["has_auth"] is False
    assert _login(host, "r.example:5000")["has_auth"] is True
    config = json.loads(host.read_text(PROFILE_CONFIG))
    assert config["detachKeys"] == "ctrl-e" and list(config["auths"]) == ["r.example:5000"]


def test_go_reads_no_credentials_from_a_config_with_a_bom():
    host = Host("h", new_state())
    host.write_file(PROFILE_CONFIG, b"\xef\xbb\xbf" + json.dumps({"auths": {"r:1": {"auth": "eDp5"}}}).encode())
    auths, warning = read_auths(host, {"USERPROFILE": r"C:\Users\Administrator"})
    assert auths == {} and warning.startswith(f"WARNING: Error loading config file: {PROFILE_CONFIG}: invalid character")
    _login(host, "r:1")  # rewritten without the BOM
    assert read_auths(host, {"USERPROFILE": r"C:\Users\Administrator"})[0]["r:1"]


def test_ctr_images_rm_deletes_and_only_warns_about_a_missing_image():
    host = _host()
    assert _build(host, "type=image,name=wcow-smoke:latest")[0] == 0
    assert ctr_exe(host, CTR, ["-n", "buildkit", "images", "ls", "-q"]) == (0, "wcow-smoke:latest\n", "")
    assert ctr_exe(host, CTR, ["images", "ls", "-q"]) == (0, "", "")  # namespace "default" holds nothing
    assert ctr_exe(host, CTR, ["-n", "buildkit", "images", "rm", "wcow-smoke:latest"]) == (0, "wcow-smoke:latest\n", "")
    rc, out, err = ctr_exe(host, CTR, ["-n", "buildkit", "images", "rm", "wcow-smoke:latest"])
    assert rc == 0 and out == "" and 'level=warning msg="wcow-smoke:latest: image not found"' in err
    host.state["services"]["containerd"]["status"] = "Stopped"
    rc, _out, err = ctr_exe(host, CTR, ["-n", "buildkit", "images", "rm", "x"])
    assert rc == 1 and err.startswith('ctr: failed to dial "\\\\.\\pipe\\containerd-containerd"')
