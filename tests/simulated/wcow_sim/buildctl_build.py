"""The simulated `buildctl.exe build` (tests only), reached from buildctl_exe in buildkitd.py.

Modelled on BuildKit 0.24 on Windows with the containerd worker (process isolation), not on our scripts:

* flags are those of `buildctl build --help` (tests/fixtures/buildkitd/buildctl-0.24.0-build-help.txt);
  Go's flag errors for anything else; only the `dockerfile.v0` frontend exists (gateway images are not
  simulated), others fail as the solver does: `invalid frontend`;
* the Dockerfile is read from the `--local dockerfile=` folder on the host (`--opt filename=`, default
  `Dockerfile`); `COPY` sources from `--local context=`;
* `FROM` resolves only the nanoserver tags MCR publishes (ltsc2019, ltsc2022, ltsc2025); the first `RUN`
  creates a container, which Windows refuses under process isolation when the image's build differs
  from the host's (except Windows Server 2022 images on Windows 11): hcs's
  "The container operating system does not match the host operating system.";
* a `RUN` that needs the network (curl.exe to a URL) fails with curl's DNS error when the worker's
  network is null (no CNI): exit code 6;
* `--progress plain` writes the real plain format to stderr (`#N name`, `#N DONE 0.1s`, `#N ERROR: ...`,
  then `error: failed to solve: ...`), `--metadata-file` gets `containerimage.digest`;
  the image is kept in the daemon's state under `images`.
"""

from __future__ import annotations

import hashlib
import json
import ntpath
import re
import typing as t

from .buildkitd import _BUILDCTL_GLOBAL, UsageError, _connect, parse_flags
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


def _runs_on(host: Host, image_build: int) -> bool:
    build = int(host.state["build"])
    return image_build == build or (host.state.get("edition") == "client" and 22000 <= build < 26100
                                    and image_build == 20348)


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
            if not _runs_on(host, NANOSERVER_BUILDS[base]):
                error = (f'process "{command}" did not complete successfully: failed to create shim task: '
                         f"hcs::CreateComputeSystem {_digest(label)[7:71]}: {OS_MISMATCH}: unknown")
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
    image = _digest(str(host.state["build"]), *layers)
    exporting = ["exporting layers 0.4s done", f"exporting manifest {image} done",
                 f"exporting config {_digest('config', image)} done"]
    names = [o.get("name") for o in outputs if o.get("type") == "image" and o.get("name")]
    exporting += [f"naming to {n} done" for n in names]
    progress.step("exporting to image", *exporting, seconds=0.6)
    daemon.setdefault("images", {}).update({n: image for n in names})
    metadata = (values.get("metadata-file") or [None])[-1]
    if metadata:
        host.write_file(metadata, json.dumps({"containerimage.digest": image,
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
_CMD = re.compile(r'^cmd\.exe /D /V:ON /C ""(?P<exe>[^"]+)" (?P<args>.*) > "(?P<log>[^"]+)" 2>&1 & '
                  r'echo !ERRORLEVEL! > "(?P<rc>[^"]+)""$')
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
    command = ('cmd.exe /D /V:ON /C ""' + params["Buildctl"] + '" ' + params["Arguments"] + ' > "'
               + params["LogPath"] + '" 2>&1 & echo !ERRORLEVEL! > "' + params["RcPath"] + '""')
    match = _CMD.match(command)
    if not match:
        raise ScriptFailure(f"simulated cmd.exe cannot read the command line: {command}")
    exe = match["exe"]
    if not host.file(exe):
        # cmd.exe's own message for a program that is not there, and its exit code.
        rc, out = 9009, f"'{exe}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
    else:
        # cmd.exe runs whichever program the line names (buildctl.exe here; docker.exe for buildx_smoke_build).
        program = PROGRAMS.get(ntpath.basename(exe).lower())
        if program is None:
            raise ScriptFailure(f"the simulator has no twin of {exe}")
        rc, stdout, stderr = program(host, exe, split_win32(match["args"]))
        out = stdout + stderr
    duration = sum(float(s) for s in _SECONDS.findall(out)) or 0.5
    process = host.spawn(r"C:\Windows\System32\cmd.exe")
    process["exits_at"] = host.clock + duration
    host.state.setdefault("detached", {})[str(process["pid"])] = {
        "log": match["log"], "rc_file": match["rc"], "output": out, "rc": rc,
        "started": host.clock, "ends": host.clock + duration}
    host.event("smoke_build_start", process["pid"], exe)
    return {"pid": process["pid"], "context": context, "log": params["LogPath"], "rc_file": params["RcPath"],
            "changed": True}


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
