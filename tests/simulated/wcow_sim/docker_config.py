"""The connecting user's docker config on the simulated host (tests only).

* ``docker_config_auth.ps1``'s contract: config.json under ``Folder`` (else ``%USERPROFILE%\\.docker`` of the
  WinRM session's user, the simulator's ``Administrator``), ``auths.<registry>.auth`` as `docker login` writes
  it, other keys kept, invalid JSON refused as ConvertFrom-Json refuses it; a protected DACL with one rule for
  the session user. The credentials never reach the state's events.
* ``read_auths()``: what docker/cli's ``config.LoadDefaultConfigFile`` gives a Go client such as buildctl.exe:
  the folder is ``DOCKER_CONFIG`` of the process's own environment, else ``%USERPROFILE%\\.docker``; a file
  Go's JSON decoder refuses (a UTF-8 BOM included) is reported on stderr as a warning and read as empty.
"""

from __future__ import annotations

import base64
import json
import ntpath
import typing as t

from .docker import HOME
from .host import Host, ScriptFailure
from .registry import script

# The WinRM session's user in the simulator: a local administrator (RID 500) with the profile docker.py uses.
SESSION_USER = "WIN\\Administrator"
SESSION_SID = "S-1-5-21-3623811015-3361044348-30300820-500"
FULL_CONTROL = "FullControl"


def config_path(folder: str | None) -> str:
    return ntpath.join(folder or ntpath.join(HOME, ".docker"), "config.json")


@script("docker_config_auth")
def docker_config_auth(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    folder = params.get("Folder") or ntpath.join(HOME, ".docker")
    path = config_path(folder)
    registry, username, password = params["Registry"], params.get("Username") or "", params.get("Password") or ""
    config: dict[str, t.Any] = {}
    has_bom = False
    entry = host.file(path)
    if entry is not None:
        data = host.read_bytes(path)
        has_bom = data.startswith(b"\xef\xbb\xbf")
        text = host.read_text(path)
        if text.strip():
            try:
                config = json.loads(text)
            except ValueError:
                # ConvertFrom-Json's own text for what JavaScriptSerializer cannot read.
                raise ScriptFailure(f"{path} is not valid JSON (Invalid JSON primitive: {text.strip()[:20]}.): fix "
                                    "or delete it, then run again.") from None
            if not isinstance(config, dict):
                raise ScriptFailure(f"{path} is not valid JSON (not an object): fix or delete it, then run again.")
    if config.get("auths") is None:  # missing or null: the script adds an empty object (Add-Member -Force)
        config["auths"] = {}
    auths = config["auths"]
    has_auth = bool((auths.get(registry) or {}).get("auth"))
    changed = False
    if username:
        auth = base64.b64encode(f"{username}:{password}".encode()).decode()
        if has_bom or not has_auth or auths[registry].get("auth") != auth:
            auths[registry] = {"auth": auth}
            acl = (entry or {}).get("acl")
            written = host.write_file(path, json.dumps(config, indent=4).encode())  # UTF8Encoding($false): no BOM
            if acl:
                written["acl"] = acl  # WriteAllText truncates the file: its DACL stays
            changed = True
        has_auth = True
    acl_changed = False
    entry = host.file(path)
    if entry is not None:
        wanted = {"protected": True, "access": [{"sid": SESSION_SID, "identity": SESSION_USER, "type": "Allow",
                                                 "rights": FULL_CONTROL}]}
        if {k: entry.get("acl", {}).get(k) for k in wanted} != wanted:
            entry["acl"] = wanted
            acl_changed = True
    host.event("docker_config_auth", path, registry, "written" if changed else "kept")
    return {"folder": folder, "path": path, "has_auth": has_auth, "changed": changed or acl_changed}


def read_auths(host: Host, environment: dict[str, str]) -> tuple[dict[str, t.Any], str]:
    """(auths, stderr warning) as docker/cli's LoadDefaultConfigFile reads them for a Go client's process."""
    folder = environment.get("DOCKER_CONFIG")
    if not folder:
        profile = environment.get("USERPROFILE")
        if not profile:
            return {}, ""  # no home folder: config.Dir() names a relative .docker, which holds nothing
        folder = ntpath.join(profile, ".docker")
    path = ntpath.join(folder, "config.json")
    if host.file(path) is None:
        return {}, ""
    data = host.read_bytes(path)
    if data.startswith(b"\xef\xbb\xbf"):  # Go's JSON decoder takes a BOM for a stray character
        return {}, f"WARNING: Error loading config file: {path}: invalid character 'ï' looking for beginning of value\n"
    try:
        config = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}, f"WARNING: Error loading config file: {path}: invalid character looking for beginning of value\n"
    return dict((config or {}).get("auths") or {}), ""


def credentials_for(auths: dict[str, t.Any], registry: str) -> tuple[str, str] | None:
    """docker/cli's GetAuthConfig: the entry of the registry's host (Docker Hub: its index server URL)."""
    key = "https://index.docker.io/v1/" if registry in ("docker.io", "registry-1.docker.io") else registry
    entry = auths.get(key) or {}
    if not entry.get("auth"):
        return None
    user, _sep, password = base64.b64decode(entry["auth"]).decode().partition(":")
    return user, password
