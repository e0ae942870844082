"""The simulated `buildctl.exe build` (tests only), reached from buildctl_exe in buildkitd.py.

Modelled on BuildKit 0.24 on Windows with the containerd worker (process isolation), not on our scripts:

* flags are those of `buildctl build --help` (tests/fixtures/buildkitd/buildctl-0.24.0-build-help.txt);
  Go's flag errors for anything else; only the `dockerfile.v0` frontend exists (gateway images are not
  simulated), others fail as the solver does: `invalid frontend`;
* the Dockerfile is read from the `--local dockerfile=` folder on the host (`--opt filename=`, default
  `Dockerfile`); `COPY` sources from `--local context=`;
* `FROM` resolves only the nanoserver tags MCR publishes (ltsc2019, ltsc2022, ltsc2025); the first `RUN`
  creates a container, which hcs refuses when the host cannot run the image's build (`_runs_on`, hcsshim's
  rule: process isolation the same build, or from 20348 on the newest stable-ABI LTSC before the host up to
  the host; Hyper-V isolation, when buildkitd runs with it, any older build): "The container operating
  system does not match the host operating system."; Hyper-V isolation without the Hyper-V feature:
  "The virtual machine could not be started because a required feature is not installed.";
* a `RUN` that needs the network (curl.exe to a URL) fails with curl's DNS error when the worker's
  network is null (no CNI): exit code 6;
* `--progress plain` writes the real plain format to stderr (`#N name`, `#N DONE 0.1s`, `#N ERROR: ...`,
  then `error: failed to solve: ...`), `--metadata-file` gets `containerimage.digest` (the digest of a real
  OCI manifest the twin builds: one layer per filesystem step, and the config);
* `--output type=image,name=N[,push=true]`: the image is named N in containerd's image store, namespace
  `buildkit` (ctr.py; it stays until deleted); with push=true it is pushed over real HTTP to N's registry,
  loopback only (anything else: `dial tcp: lookup <host>: no such host`), plain HTTP only for a
  localhost/loopback registry or one whose buildkitd.toml `[registry."<host>"]` says `http = true`
  (`insecure = true`: HTTPS unverified, then HTTP), credentials from buildctl's docker config
  (DOCKER_CONFIG, else USERPROFILE; docker_config.py) after the registry's Basic challenge; failures as
  BuildKit words them: `failed to push N: unexpected status from HEAD request to <url>: 401 Unauthorized`,
  `... http: server gave HTTP response to HTTPS client`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import ntpath
import re
import typing as t

from .buildkitd import _BUILDCTL_GLOBAL, UsageError, _connect, parse_flags
from .ctr import record_image
from .docker import HOME
from .docker_config import credentials_for, read_auths
from .host import Host, ScriptFailure, split_win32
from .registry import PROGRAMS, script

BUILD_FLAGS = {"output": True, "o": True, "progress": True, "trace": True, "local": True, "oci-layout": True,
               "frontend": True, "opt": True, "no-cache": False, "export-cache": True, "import-cache": True,
               "secret": True, "allow": True, "ssh": True, "metadata-file": True, "source-policy-file": True,
               "ref-file": True, "registry-auth-tlscontext": True, "debug-json-cache-metrics": True}
NANOSERVER_BUILDS = {"mcr.microsoft.com/windows/nanoserver:ltsc2019": 17763,
                     "mcr.microsoft.com/windows/nanoserver:ltsc2022": 20348,
                     "mcr.microsoft.com/windows/nanoserver:ltsc2025": 26100}
OS_MISMATCH = "The container operating system does not match the host operating system."
_VERTEX = {"FROM", "COPY", "ADD", "RUN", "WORKDIR"}
_URL = re.compile(r"https?://([^/\s:]+)")


def _digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _kv(text: str) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in text.split(",") if item)


def _runs_on(host: Host, image_build: int, hyperv: bool = False) -> bool:
    """Whether hcs starts a container of that image build here (hcsshim osversion.CheckHostAndContainerCompat).

    Process isolation: before 20348 the same build only; from 20348 on, builds from the newest stable-ABI LTSC
    release (20348, 26100) the host is newer than, up to the host's own. Hyper-V isolation: any build up to the host's.
    """
    build = int(host.state["build"])
    if hyperv:
        return image_build <= build
    if build < 20348:
        return image_build == build
    floor = max([r for r in (20348, 26100) if build > r] or [20348])
    return floor <= image_build <= build


HYPERV_MISSING = "The virtual machine could not be started because a required feature is not installed."

# -- the image exporter's output and its push (containerd remotes/docker as BuildKit drives it) ----------------
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
HOSTS_FILE = r"C:\Windows\System32\drivers\etc\hosts"


class PushFailed(Exception):
    """The push's error as BuildKit reports it, after "failed to push <name>: "."""


def _blob(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _image(image_build: int, layers: list[str]) -> dict[str, t.Any]:
    """An OCI image for the build: one layer per filesystem step, the config, the manifest (its digest is the image's)."""
    blobs = [f"simulated layer {i}: {layer}".encode() for i, layer in enumerate(layers)]
    config = json.dumps({"architecture": "amd64", "os": "windows", "os.version": f"10.0.{image_build}.1",
                         "rootfs": {"type": "layers", "diff_ids": [_blob(b) for b in blobs]}},
                        separators=(",", ":")).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _blob(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _blob(b), "size": len(b)}
                   for b in blobs]}, separators=(",", ":")).encode()
    return {"digest": _blob(manifest), "config_digest": _blob(config), "manifest": manifest, "config": config,
            "layers": blobs, "size": len(manifest) + len(config) + sum(len(b) for b in blobs)}


def split_reference(name: str) -> tuple[str, str, str]:
    """reference.ParseNormalizedNamed: (registry, repository, tag); no registry part means Docker Hub."""
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = "docker.io", name if slash else f"library/{name}"
    repository, colon, tag = path.rpartition(":")
    if not colon or "/" in tag:
        repository, tag = path, "latest"
    return registry, repository, tag


def _is_loopback(hostname: str) -> bool:
    """docker.MatchLocalhost: localhost, or a loopback IP."""
    try:
        return hostname == "localhost" or ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def _resolves_to_loopback(host: Host, hostname: str) -> bool:
    """Name resolution on the host: loopback names, else the hosts file (the only DNS the simulator has)."""
    if _is_loopback(hostname):
        return True
    if not host.file(HOSTS_FILE):
        return False
    for line in host.read_text(HOSTS_FILE).splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and hostname.lower() in (f.lower() for f in fields[1:]):
            return _is_loopback(fields[0])
    return False


def _push(host: Host, daemon: dict[str, t.Any], name: str, image: dict[str, t.Any], progress: _Progress,
          number: int) -> list[str]:
    """Push the image to its registry over real HTTP (loopback only), as BuildKit's resolver would.

    Scheme (util/resolver fillInsecureOpts): `http = true` in buildkitd.toml's [registry."<host>"], or no `http`
    key and a localhost/loopback registry, means plain HTTP; `insecure = true` means HTTPS without verification
    (falling back to HTTP in the plain-HTTP case). Credentials come from buildctl's docker config (its process
    environment: DOCKER_CONFIG, else USERPROFILE), offered after the registry's Basic challenge.
    """
    registry, repository, tag = split_reference(name)
    hostname, _colon, port = registry.rpartition(":") if registry.count(":") == 1 or "]:" in registry else (registry, "", "")
    hostname = hostname or registry
    conf = (daemon.get("registry") or {}).get(registry) or {}
    plain = conf.get("http") is True or (conf.get("http") is None and _is_loopback(hostname))
    insecure = conf.get("insecure") is True
    schemes = (["https", "http"] if plain else ["https"]) if insecure else (["http"] if plain else ["https"])
    lines: list[str] = []
    auths, warning = read_auths(host, {"USERPROFILE": HOME, **host.process_env})
    if warning:
        progress.lines.append(warning.rstrip("\n"))
    credentials = credentials_for(auths, registry)
    first_blob = _blob(image["layers"][0]) if image["layers"] else image["config_digest"]
    if not _resolves_to_loopback(host, hostname):
        raise PushFailed(f'failed to do request: Head "{schemes[0]}://{registry}/v2/{repository}/blobs/{first_blob}": '
                         f"dial tcp: lookup {hostname}: no such host")
    import httpx  # the controller's own HTTP client (requirements.txt); only loopback is ever dialled

    def request(client: httpx.Client, scheme: str, method: str, path: str, **kwargs: t.Any) -> httpx.Response:
        url = f"{scheme}://{registry}{path}"
        try:
            answer = client.request(method, path, **kwargs)
            if answer.status_code == 401 and credentials and "basic" in answer.headers.get("www-authenticate", "").lower():
                answer = client.request(method, path, auth=credentials, **kwargs)
        except httpx.ConnectError as exc:
            if "refused" in str(exc).lower() or "errno 111" in str(exc).lower():
                raise PushFailed(f'failed to do request: {method.title()} "{url}": dial tcp 127.0.0.1:{port or 443}: '
                                 "connectex: No connection could be made because the target machine actively "
                                 "refused it.") from None
            raise PushFailed(f'failed to do request: {method.title()} "{url}": http: server gave HTTP response to '
                             "HTTPS client") from None
        return answer

    def unexpected(answer: httpx.Response, method: str, scheme: str, path: str) -> PushFailed:
        return PushFailed(f"unexpected status from {method} request to {scheme}://{registry}{path}: "
                          f"{answer.status_code} {answer.reason_phrase}")

    failure: PushFailed | None = None
    for scheme in schemes:
        base = f"{scheme}://127.0.0.1:{port or (443 if scheme == 'https' else 80)}"
        headers = {"Host": registry, "User-Agent": "buildkit/v0.24"}
        with httpx.Client(base_url=base, verify=False, timeout=10, headers=headers) as client:
            try:
                used_auth = False
                for data in [*image["layers"], image["config"]]:
                    path = f"/v2/{repository}/blobs/{_blob(data)}"
                    head = request(client, scheme, "HEAD", path)
                    used_auth = used_auth or head.request.headers.get("authorization") is not None
                    if head.status_code == 200:
                        continue
                    if head.status_code != 404:
                        raise unexpected(head, "HEAD", scheme, path)
                    started = request(client, scheme, "POST", f"/v2/{repository}/blobs/uploads/")
                    if started.status_code != 202:
                        raise unexpected(started, "POST", scheme, f"/v2/{repository}/blobs/uploads/")
                    location = started.headers["location"]
                    done = request(client, scheme, "PUT", location, params={"digest": _blob(data)}, content=data)
                    if done.status_code != 201:
                        raise unexpected(done, "PUT", scheme, location.split("?")[0])
                path = f"/v2/{repository}/manifests/{tag}"
                put = request(client, scheme, "PUT", path, content=image["manifest"],
                              headers={"Content-Type": OCI_MANIFEST})
                if put.status_code != 201:
                    raise unexpected(put, "PUT", scheme, path)
            except PushFailed as exc:
                failure = exc
                if "server gave HTTP response" in str(exc) and scheme != schemes[-1]:
                    continue  # httpFallback: an insecure plain-HTTP registry is retried over HTTP
                raise
        if used_auth:
            progress.number += 1
            lines += [f"#{progress.number} [auth] sharing credentials for {registry}", f"#{progress.number} DONE 0.0s"]
        normalized = f"{registry}/{repository}:{tag}"
        host.event("registry_push", normalized, image["digest"])
        return [*lines, f"#{number} pushing layers 0.3s done",
                f"#{number} pushing manifest for {normalized}@{image['digest']} 0.1s done"]
    raise failure or PushFailed("no registry host")


class _Progress:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.number = 0

    def step(self, name: str, *lines: str, seconds: float = 0.1) -> int:
        self.number += 1
        self.lines.append(f"#{self.number} {name}")
        self.lines += [f"#{self.number} {line}" for line in lines]
        self.lines.append(f"#{self.number} DONE {seconds:.1f}s")
        return self.number

    def fail(self, name: str, error: str, *lines: str) -> str:
        self.number += 1
        self.lines.append(f"#{self.number} {name}")
        self.lines += [f"#{self.number} {line}" for line in lines]
        self.lines.append(f"#{self.number} ERROR: {error}")
        return error


def _host_source(host: Host) -> t.Callable[[str, str], str | None]:
    """Reads a local's file on the host itself (buildctl.exe runs there): (folder, name) -> text or None."""
    def read(folder: str, name: str) -> str | None:
        path = ntpath.join(folder, name)
        return host.read_text(path) if host.file(path) else None
    return read


def build(host: Host, daemon: dict[str, t.Any], values: dict[str, list[str]],
          source: t.Callable[[str, str], str | None] | None = None) -> tuple[int, str, str]:
    """`buildctl build` against a connected daemon; values are the parsed build flags.

    source(folder, name) reads a file of a --local folder (text, or None when missing): by default from the host,
    where buildctl.exe runs; `docker buildx build` on another machine passes its client's reader (the client sends
    its context to the daemon, so the files come from the client's disk)."""
    read = source or _host_source(host)
    frontend = (values.get("frontend") or [""])[-1]
    if frontend != "dockerfile.v0":
        return 1, "", f"error: invalid frontend: {frontend}\n" if frontend else "error: frontend not specified\n"
    locals_ = dict(item.partition("=")[::2] for item in values.get("local", []))
    opts = dict(item.partition("=")[::2] for item in values.get("opt", []))
    progress = _Progress()
    name = opts.get("filename", "Dockerfile")
    folder = locals_.get("dockerfile")
    text = read(folder, name) if folder else None
    if text is None:
        error = f"failed to read dockerfile: open {name}: The system cannot find the file specified."
        progress.fail("[internal] load build definition from " + name, error)
        return _failed(progress, error)
    progress.step(f"[internal] load build definition from {name}", f"transferring dockerfile: {len(text)}B done")
    instructions = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    base = instructions[0].split(None, 1)[1] if instructions and instructions[0].upper().startswith("FROM ") else ""
    if base not in NANOSERVER_BUILDS:
        error = f"{base}: failed to resolve source metadata for {base}: {base}: not found"
        progress.fail(f"[internal] load metadata for {base}", error)
        return _failed(progress, error)
    progress.step(f"[internal] load metadata for {base}", seconds=0.4)
    progress.step("[internal] load .dockerignore", "transferring context: 2B done")
    # Only instructions that make a filesystem vertex are numbered ([n/total]); USER, CMD, ENV... are image config.
    vertices = [i for i in instructions if i.split(None, 1)[0].upper() in _VERTEX]
    total = len(vertices)
    progress.step(f"[1/{total}] FROM {base}@{_digest(base)}", f"resolve {base}@{_digest(base)} done", seconds=12.3)
    context = locals_.get("context")
    network = daemon["worker"]["labels"].get("org.mobyproject.buildkit.worker.network", "")
    layers = [base]
    index = 1
    for line in instructions[1:]:
        keyword, _sp, rest = line.partition(" ")
        if keyword.upper() in _VERTEX:
            index += 1
        label = f"[{index}/{total}] {keyword.upper()} {rest}"
        if keyword.upper() == "COPY":
            source = rest.split()[0]
            content = read(context, source) if context else None
            if content is None:
                error = (f'failed to compute cache key: failed to calculate checksum of ref: "/{source}": not found')
                progress.fail(label, error)
                return _failed(progress, error)
            layers.append(content)
            progress.step(label, seconds=0.3)
        elif keyword.upper() == "RUN":
            command = f'cmd /S /C {rest}'
            hyperv = bool(daemon.get("hyperv_isolation"))
            hcs_error = None
            if hyperv and host.state["features"].get("Microsoft-Hyper-V") != "Enabled":
                hcs_error = HYPERV_MISSING  # a utility VM needs the Hyper-V feature
            elif not _runs_on(host, NANOSERVER_BUILDS[base], hyperv):
                hcs_error = OS_MISMATCH
            if hcs_error:
                error = (f'process "{command}" did not complete successfully: failed to create shim task: '
                         f"hcs::CreateComputeSystem {_digest(label)[7:71]}: {hcs_error}: unknown")
                progress.fail(label, error)
                return _failed(progress, error)
            url = _URL.search(rest)
            if url and network != "cni":
                error = f'process "{command}" did not complete successfully: exit code: 6'
                progress.fail(label, error, f"{0.5:.3f} curl: (6) Could not resolve host: {url[1]}")
                return _failed(progress, error)
            layers.append(rest)
            progress.step(label, seconds=2.1)
        else:
            layers.append(line)
    outputs = [_kv(o) for o in values.get("output", []) + values.get("o", [])]
    image = _image(NANOSERVER_BUILDS[base], layers)
    names = [n for o in outputs if o.get("type") == "image" for n in (o.get("name") or "").split(",") if n]
    push = any(o.get("type") == "image" and o.get("push", "false").lower() in ("true", "1") for o in outputs)
    number = progress.number + 1
    progress.number = number
    lines = [f"#{number} exporting to image", f"#{number} exporting layers 0.4s done",
             f"#{number} exporting manifest {image['digest']} done",
             f"#{number} exporting config {image['config_digest']} done"]
    namespace = daemon["worker"]["labels"].get("org.mobyproject.buildkit.worker.containerd.namespace", "buildkit")
    for name in names:
        # The containerd worker's exporter names the image in containerd's store (Images.Update, else Create).
        record_image(host, namespace, name, image["digest"], image["size"])
        lines.append(f"#{number} naming to {name} done")
    seconds = 0.6
    if push:
        for name in names:
            try:
                lines += _push(host, daemon, name, image, progress, number)
            except PushFailed as exc:
                error = f"failed to push {name}: {exc}"
                progress.lines += lines + [f"#{number} ERROR: {error}"]
                return _failed(progress, error)
        seconds = 1.4
    progress.lines += lines + [f"#{number} DONE {seconds:.1f}s"]
    # For assertions: which daemon solved what (an unnamed image leaves no other trace on the builder).
    host.event("buildkit_solved", image["digest"], ",".join(names) or "-")
    metadata = (values.get("metadata-file") or [None])[-1]
    if metadata:
        host.write_file(metadata, json.dumps({"containerimage.digest": image["digest"],
                                              **({"image.name": ",".join(names)} if names else {})}).encode())
    return 0, "", "\n".join(progress.lines) + "\n"


def _failed(progress: _Progress, error: str) -> tuple[int, str, str]:
    return 1, "", "\n".join(progress.lines) + f"\nerror: failed to solve: {error}\n"


def run(host: Host, argv: list[str]) -> tuple[int, str, str]:
    """buildctl.exe [global flags] build [build flags]."""
    split = argv.index("build")
    try:
        values = parse_flags(_BUILDCTL_GLOBAL, argv[:split])
        options = parse_flags(BUILD_FLAGS, argv[split + 1:])
    except UsageError as exc:
        return 1, f"Incorrect Usage. {exc}\n\n", f"buildctl: {exc}\n"
    daemon, failure = _connect(host, values)
    if failure:
        rc, out, err = failure
        return rc, out, err.replace("failed to list workers", "failed to solve")
    return build(host, daemon, options)


# -- the detached build: smoke_build_start.ps1 / smoke_build_poll.ps1 ------------------------------------------
_CMD = re.compile(r'^cmd\.exe /D /V:ON /C "(?P<env>(?:set "[^"=]+=[^"]*" & )*)"(?P<exe>[^"]+)" (?P<args>.*) > '
                  r'"(?P<log>[^"]+)" 2>&1 & echo !ERRORLEVEL! > "(?P<rc>[^"]+)""$')
_SET = re.compile(r'set "([^"=]+)=([^"]*)" & ')
_SECONDS = re.compile(r"^#\d+ DONE (\d+(?:\.\d+)?)s$", re.M)


@script("smoke_build_start")
def smoke_build_start(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """Writes the context; Win32_Process.Create of cmd.exe, which runs buildctl into LogPath, its rc into RcPath.

    The build's outcome is decided now; its log and rc file appear as the host clock passes its duration
    (smoke_build_poll advances the clock by its wait), the way a detached process ends on its own.
    """
    context = params["Context"]
    host.remove_tree(context)
    host.make_dir(context)
    host.write_file(ntpath.join(context, "Dockerfile"), params["Dockerfile"].encode())
    host.write_file(ntpath.join(context, "hello.txt"), params["HelloText"].encode())
    for path in (params["LogPath"], params["RcPath"]):
        host.remove_file(path)
    docker_config = params.get("DockerConfig") or ntpath.join(HOME, ".docker")  # $env:USERPROFILE of the session
    if any(c in docker_config for c in '"!%^&'):
        raise ScriptFailure(f"The docker config folder '{docker_config}' holds a character cmd.exe would read as "
                            'syntax (one of " ! % ^ &): choose another folder.')
    command = ('cmd.exe /D /V:ON /C "set "DOCKER_CONFIG=' + docker_config + '" & "' + params["Buildctl"] + '" '
               + params["Arguments"] + ' > "' + params["LogPath"] + '" 2>&1 & echo !ERRORLEVEL! > "'
               + params["RcPath"] + '""')
    match = _CMD.match(command)
    if not match:
        raise ScriptFailure(f"simulated cmd.exe cannot read the command line: {command}")
    exe = match["exe"]
    if not host.file(exe):
        # cmd.exe's own message for a program that is not there, and its exit code.
        rc, out = 9009, f"'{exe}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
    else:
        # Win32_Process.Create: the process is not a child of the WinRM shell and gets none of its environment;
        # the twin gives it only what cmd.exe sets (USERPROFILE empty: we rely on no profile WMI may pass).
        # cmd.exe runs whichever program the line names (buildctl.exe here; docker.exe for buildx_smoke_build).
        program = PROGRAMS.get(ntpath.basename(exe).lower())
        if program is None:
            raise ScriptFailure(f"the simulator has no twin of {exe}")
        host.process_env = {"USERPROFILE": "", **dict(_SET.findall(match["env"]))}
        try:
            rc, stdout, stderr = program(host, exe, split_win32(match["args"]))
        finally:
            host.process_env = {}
        out = stdout + stderr
    duration = sum(float(s) for s in _SECONDS.findall(out)) or 0.5
    process = host.spawn(r"C:\Windows\System32\cmd.exe")
    process["exits_at"] = host.clock + duration
    host.state.setdefault("detached", {})[str(process["pid"])] = {
        "log": match["log"], "rc_file": match["rc"], "output": out, "rc": rc,
        "started": host.clock, "ends": host.clock + duration}
    host.event("smoke_build_start", process["pid"], exe)
    return {"pid": process["pid"], "context": context, "log": params["LogPath"], "rc_file": params["RcPath"],
            "docker_config": docker_config, "changed": True}


def _settle(host: Host) -> None:
    """Writes what each detached build has written by now: its log so far, and its rc file once it ended."""
    detached = host.state.get("detached", {})
    for pid, record in list(detached.items()):
        lines = record["output"].splitlines(keepends=True)
        span = max(record["ends"] - record["started"], 1e-9)
        done = host.clock >= record["ends"]
        shown = len(lines) if done else int(len(lines) * (host.clock - record["started"]) / span)
        host.write_file(record["log"], "".join(lines[:shown]).encode())
        if done:
            host.write_file(record["rc_file"], f"{record['rc']} \r\n".encode())  # echo keeps the space before >
            del detached[pid]  # cmd.exe has ended: its files are final


@script("smoke_build_poll")
def smoke_build_poll(host: Host, params: dict[str, t.Any]) -> dict[str, t.Any]:
    _settle(host)
    if not host.file(params["RcPath"]):
        pending = [r["ends"] for r in host.state.get("detached", {}).values() if r["rc_file"] == params["RcPath"]]
        wait = float(params.get("WaitSeconds", 20))
        host.advance(min(wait, max(0.0, min(pending) - host.clock)) if pending else wait)
        _settle(host)
    rc = None
    if host.file(params["RcPath"]):
        text = host.read_text(params["RcPath"]).strip()
        rc = int(text) if text else None
    data = host.read_bytes(params["LogPath"]) if host.file(params["LogPath"]) else b""
    offset = int(params.get("Offset", 0))
    tail = ""
    daemon_log = params.get("DaemonLog") or ""
    if rc not in (None, 0) and daemon_log and host.file(daemon_log):
        tail = host.read_bytes(daemon_log)[-int(params.get("TailBytes", 4096)):].decode("utf-8", "replace")
    return {"done": rc is not None, "rc": rc, "text": data[offset:].decode("utf-8", "replace"),
            "offset": len(data), "daemon_log_tail": tail, "changed": False}
