# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker buildx remote builders (internal): input checks, one CLI client, a pure planner.

The planner compares the observed builder (from `docker buildx ls --format json`) with the
desired one and answers the buildx invocations to run; the client builds every argv and parses
every answer in one place.  Runners (POSIX shell or the Windows step mechanism) only execute argv.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
import typing as t
import urllib.parse

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
NPIPE_MIN = (0, 13)
JSON_LS_MIN = (0, 13)
TLS_KEYS = ("cacert", "cert", "key")
SCHEMES = ("tcp", "unix", "npipe")
MASK = "********"
UNREACHABLE_CAUSES = (
    "buildkitd is not running on the build host (service stopped or crashed)",
    "the CA certificate (tls.cacert) does not match the one that signed the daemon's certificate",
    "tls.servername is not a name in the daemon's certificate",
    "a firewall blocks the port between this client and the build host",
    "the daemon requires a client certificate and tls.cert/tls.key are missing or not signed by its CA",
)


class BuildxError(Exception):
    """A buildx command failed; carries what a user needs to debug it."""

    def __init__(self, msg: str, *, cmd: str = "", rc: int | None = None, stdout: str = "", stderr: str = ""):
        super().__init__(msg)
        self.msg = msg
        self.cmd, self.rc, self.stdout, self.stderr = cmd, rc, stdout, stderr

    def to_result(self) -> dict[str, t.Any]:
        return {"msg": self.msg, "cmd": self.cmd, "rc": self.rc, "stdout": self.stdout, "stderr": self.stderr}


class InputError(ValueError):
    """Bad task input; the message names the option and the fix."""


def version_tuple(text: str) -> tuple[int, ...] | None:
    match = re.search(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return tuple(int(p or 0) for p in match.groups())


def is_pem(value: str) -> bool:
    return "-----BEGIN " in value


# The standalone buildx binary (a release asset run as is, or the plugin file run directly): no `docker` needed.
# Standalone, buildx has no global `--config` flag (docker's flags belong to the docker CLI); it reads the config
# folder from DOCKER_CONFIG, else ~/.docker, as docker/cli's cli/config does (docker/buildx cmd/buildx/main.go
# initialises the CLI with default client options when it is not run as a plugin).
_STANDALONE = re.compile(r"^(docker-buildx|buildx(-v[0-9][0-9A-Za-z.-]*)?)(\.exe)?$", re.IGNORECASE)


def is_standalone(cli: str) -> bool:
    """Is docker_cli the buildx binary itself (`buildx.exe`, `docker-buildx`, `buildx-v0.36.1.windows-amd64.exe`)?"""
    name = re.split(r"[\\/]", cli)[-1]
    return bool(_STANDALONE.match(name))


def base_argv(cli: str, config: str | None) -> tuple[list[str], dict[str, str]]:
    """The argv prefix of every buildx command and the environment it needs."""
    if is_standalone(cli):
        return [cli], ({"DOCKER_CONFIG": config} if config else {})
    return [cli] + (["--config", config] if config else []) + ["buildx"], {}


@dataclasses.dataclass(frozen=True)
class Desired:
    name: str
    state: str = "present"
    endpoint: str | None = None
    driver_opts: dict[str, str] = dataclasses.field(default_factory=dict)
    node: str | None = None
    append: bool = False
    use: bool = False
    platforms: tuple[str, ...] = ()


def validate(args: dict[str, t.Any], client_os: str) -> None:
    """Refuse bad input before any command runs.  client_os: 'posix' or 'windows'."""
    # buildx store/util.go ValidateName: a letter first, then letters, digits, '.', '_', '-'; `default` is reserved.
    if not NAME.match(args["name"] or "") or args["name"] == "default":
        raise InputError(f"name: '{args['name']}' is not a valid builder name (buildx: a letter first, then letters, "
                         "digits, '.', '_', '-'; 'default' is reserved).")
    if args.get("node") and not NAME.match(args["node"]):
        raise InputError(f"node: '{args['node']}' is not a valid node name (buildx: a letter first, then letters, "
                         "digits, '.', '_', '-').")
    if args["state"] == "absent":
        return
    endpoint = args.get("endpoint")
    if not endpoint:
        raise InputError("endpoint: required with state=present (tcp://host:port, unix:///path or "
                         "npipe:////./pipe/buildkitd).")
    scheme = urllib.parse.urlsplit(endpoint).scheme
    if scheme not in SCHEMES:
        raise InputError(f"endpoint: unknown scheme '{scheme}' in '{endpoint}'; use tcp://, unix:// or npipe://.")
    if scheme == "npipe" and client_os != "windows":
        raise InputError(f"endpoint: '{endpoint}' is a Windows named pipe; buildx on Linux and macOS refuses it "
                         "('protocol not available'). Use tcp://<build host>:<port> with tls from this client.")
    tls = args.get("tls") or {}
    for key in TLS_KEYS:
        value = tls.get(key)
        if value and not is_pem(value) and not _is_absolute(value, client_os):
            raise InputError(f"tls.{key}: '{value}' is a relative path; buildx needs an absolute path on the client "
                             "(or pass the PEM contents).")
    if tls.get("servername") and not tls.get("cacert"):
        raise InputError("tls.servername: needs tls.cacert (buildx: 'tls enabled, but missing keys cacert'); "
                         "add the CA certificate that signed the daemon's certificate.")
    if bool(tls.get("cert")) != bool(tls.get("key")):
        raise InputError("tls.cert/tls.key: give both the client certificate and its key, or neither.")
    if (tls.get("cert") or tls.get("key")) and not tls.get("cacert"):
        raise InputError("tls.cacert: a client certificate needs tls.cacert too (buildx: 'tls enabled, but missing "
                         "keys cacert').")
    if args.get("append") and not args.get("node"):
        raise InputError("node: append needs the name of the node to add or update.")


def _is_absolute(path: str, client_os: str) -> bool:
    if client_os == "windows":
        return bool(re.match(r"^([A-Za-z]:[\\/]|\\\\)", path))
    return posixpath.isabs(path)


def parse_ls(stdout: str) -> dict[str, dict[str, t.Any]]:
    """`docker buildx ls --format json`: one JSON object per builder per line."""
    builders = {}
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        builders[row.get("Name", "")] = row
    return builders


def from_instance_file(text: str, current: bool) -> dict[str, t.Any]:
    """An instance file (buildx/instances/<name>) shaped like an ls row (no status)."""
    inst = json.loads(text)
    return {"Name": inst.get("Name"), "Driver": inst.get("Driver"), "Current": current,
            "Nodes": [{"Name": n.get("Name"), "Endpoint": n.get("Endpoint"), "DriverOpts": n.get("DriverOpts") or {},
                       "Platforms": [_platform_text(p) for p in n.get("Platforms") or []]}
                      for n in inst.get("Nodes") or []]}


def _platform_text(value: t.Any) -> str:
    """The instance file keeps OCI platform objects ({"architecture", "os", "variant"}); ls prints `os/arch`."""
    if not isinstance(value, dict):
        return str(value)
    return "/".join(str(value[k]) for k in ("os", "architecture", "variant") if value.get(k))


def json_name(text: str) -> str | None:
    """The Name in a small JSON file (buildx/current), or None when it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value.get("Name") if isinstance(value, dict) else None


def plan(desired: Desired, observed: dict[str, t.Any] | None) -> list[tuple[str, ...]]:
    """Observed ls row (or None) + desired -> actions: ('rm',), ('create',), ('update', node),
    ('append', node), ('leave', node), ('use',).  Driver option order never matters."""
    if desired.state == "absent":
        if observed is None:
            return []
        if desired.node and desired.append:
            if not _node(observed, desired.node):
                return []
            # buildx refuses to leave the last node ("can not leave last node, do you want to rm instance
            # instead?"): without it the builder is gone, so remove it.
            return [("leave", desired.node)] if len(observed.get("Nodes") or []) > 1 else [("rm",)]
        return [("rm",)]
    actions: list[tuple[str, ...]] = []
    if observed is None:
        actions.append(("create",))
    else:
        if observed.get("Driver") != "remote":
            raise InputError(f"name: builder '{desired.name}' exists with driver '{observed.get('Driver')}'; this "
                             "module manages remote builders only: remove it or pick another name.")
        node_name = desired.node or _first_node(observed) or f"{desired.name}0"
        current = _node(observed, node_name)
        if current is None:
            actions.append(("append", node_name))
        elif not _node_matches(current, desired):
            if current.get("DriverOpts") and not desired.driver_opts:
                # An update without --driver-opt keeps the node's options (store/nodegroup.go Update): dropping
                # them all takes a new node, and buildx cannot leave a builder's last node.
                if len(observed.get("Nodes") or []) > 1:
                    actions += [("leave", node_name), ("append", node_name)]
                else:
                    actions += [("rm",), ("create",)]
            else:
                actions.append(("update", node_name))
    if desired.use and (observed is None or not observed.get("Current") or ("rm",) in actions):
        actions.append(("use",))
    return actions


def _first_node(observed: dict[str, t.Any]) -> str | None:
    nodes = observed.get("Nodes") or []
    return nodes[0].get("Name") if nodes else None


def _node(observed: dict[str, t.Any], name: str) -> dict[str, t.Any] | None:
    return next((n for n in observed.get("Nodes") or [] if n.get("Name") == name), None)


def _node_matches(node: dict[str, t.Any], desired: Desired) -> bool:
    if node.get("Endpoint") != desired.endpoint:
        return False
    if dict(node.get("DriverOpts") or {}) != dict(desired.driver_opts):
        return False
    if desired.platforms and sorted(node.get("Platforms") or []) != sorted(desired.platforms):
        # a running node lists the daemon's platforms; only a difference from what we set counts
        if not set(desired.platforms) <= set(node.get("Platforms") or []):
            return False
    return True


def builder_result(observed: dict[str, t.Any] | None) -> dict[str, t.Any]:
    if observed is None:
        return {}
    return {"name": observed.get("Name"), "driver": observed.get("Driver"), "current": bool(observed.get("Current")),
            "nodes": [{"name": n.get("Name"), "endpoint": n.get("Endpoint"), "status": n.get("Status", "unknown"),
                       "version": n.get("Version"), "platforms": n.get("Platforms") or [],
                       "driver_opts": n.get("DriverOpts") or {}}
                      for n in observed.get("Nodes") or []]}


class Client:
    """Every buildx argv built here; every answer parsed here.

    runner(argv) -> (rc, stdout, stderr).  `base` is [docker, '--config', dir, 'buildx'] or the
    standalone [buildx.exe] (which reads DOCKER_CONFIG; the Windows runner passes it)."""

    def __init__(self, runner: t.Callable[[list[str]], tuple[int, str, str]], base: list[str],
                 secrets: t.Sequence[str] = ()):
        self.runner = runner
        self.base = list(base)
        self.secrets = [s for s in secrets if s]
        self.commands: list[str] = []

    def _display(self, argv: list[str]) -> str:
        text = " ".join(argv)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def run(self, args: list[str], *, writes: bool, check: bool = True) -> tuple[int, str, str]:
        argv = self.base + args
        if writes:
            self.commands.append(self._display(argv))
        rc, out, err = self.runner(argv)
        if rc == 127 or "is not recognized as" in err or "No such file or directory" in err and rc != 0 and not out:
            what = "buildx binary" if len(self.base) == 1 else "docker CLI"
            raise BuildxError(f"the {what} '{self.base[0]}' was not found on the client; install it or set "
                              "docker_cli to its path", cmd=self._display(argv), rc=rc, stdout=out, stderr=err)
        if rc != 0 and "is not a docker command" in err:
            raise BuildxError("the docker buildx plugin is missing on the client; install it (the "
                              "wcow.buildkit.buildx_builder role does) into the user's cli-plugins folder",
                              cmd=self._display(argv), rc=rc, stdout=out, stderr=err)
        if check and rc != 0:
            raise BuildxError(f"{self._display(argv)} failed: {err.strip() or out.strip()}",
                              cmd=self._display(argv), rc=rc, stdout=out, stderr=err)
        return rc, out, err

    def version(self) -> tuple[str, tuple[int, ...]]:
        _rc, out, _err = self.run(["version"], writes=False)
        found = version_tuple(out)
        if found is None:
            raise BuildxError(f"could not read the buildx version from: {out.strip()}", stdout=out)
        return out.split()[1] if len(out.split()) > 1 else out.strip(), found

    def ls(self) -> dict[str, dict[str, t.Any]] | None:
        """Builders by name, or None when this buildx has no JSON listing."""
        rc, out, err = self.run(["ls", "--format", "json"], writes=False, check=False)
        if rc != 0 and "unknown flag" in err:
            return None
        if rc != 0:
            raise BuildxError(f"docker buildx ls failed: {err.strip()}", cmd=self._display(self.base + ["ls"]),
                              rc=rc, stdout=out, stderr=err)
        return parse_ls(out)

    def create(self, desired: Desired, opts: dict[str, str], node: str | None = None,
               append: bool = False, use: bool = False) -> None:
        args = ["create", "--name", desired.name, "--driver", "remote"]
        if node:
            args += ["--node", node]
        if append:
            args.append("--append")
        if use:
            args.append("--use")
        for key in sorted(opts):
            args += ["--driver-opt", f"{key}={opts[key]}"]
        if desired.platforms:
            args += ["--platform", ",".join(desired.platforms)]
        args.append(str(desired.endpoint))
        self.run(args, writes=True)

    def leave(self, name: str, node: str) -> None:
        self.run(["create", "--name", name, "--leave", "--node", node], writes=True)

    def rm(self, name: str) -> None:
        self.run(["rm", name], writes=True)

    def use(self, name: str) -> None:
        self.run(["use", name], writes=True)

    def bootstrap(self, name: str) -> tuple[bool, str]:
        rc, out, err = self.run(["inspect", "--bootstrap", name], writes=False, check=False)
        return rc == 0, (err.strip() or out.strip())


def unreachable_message(name: str, endpoint: str, detail: str, removed: bool) -> str:
    causes = "; ".join(f"({i}) {c}" for i, c in enumerate(UNREACHABLE_CAUSES, 1))
    tail = " The builder this task created was removed again (keep_unreachable: true keeps it)." if removed else ""
    return (f"bootstrap: builder '{name}' does not answer at {endpoint} (buildx: {detail}). Likely causes: "
            f"{causes}.{tail}")
