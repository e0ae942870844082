# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke build's decisions (internal, pure): which base image, what to build, what the output says.

- base_image(): the nanoserver tag a host can run with process isolation (Microsoft's Windows container
  version compatibility: the image's build must equal the host's, except that Windows 11 hosts run
  Windows Server 2022 images); a host without one gets an explanation, never a build that would fail late.
- dockerfile(): the BuildKit Windows guide's hello-world, forward slashes in paths.
- parse_progress(): `buildctl build --progress plain` output -> steps with durations, the failed step,
  the image digest, the pushed reference.
- registry_of(): the registry an image reference pushes to, and the key `docker login` files its
  credentials under in config.json (`auths.<key>`).
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

NANOSERVER = "mcr.microsoft.com/windows/nanoserver"
# Host build -> nanoserver tag with the same build (process isolation needs equal builds).
SERVER_TAGS = {17763: "ltsc2019", 20348: "ltsc2022", 26100: "ltsc2025"}
# Windows 11 client builds before 24H2 (26100) run Windows Server 2022 images with process isolation:
# the one exception Microsoft's compatibility matrix makes to equal builds.
WINDOWS11_LTSC2022 = range(22000, 26100)
HELLO_TEXT = "Hello from Windows BuildKit!\r\n"


class NoBaseImage(Exception):
    """The host's build has no nanoserver image it can run with process isolation."""


def base_image(build: int, edition: str = "server", override: str | None = None) -> str:
    if override:
        return override
    if build in SERVER_TAGS:
        return f"{NANOSERVER}:{SERVER_TAGS[build]}"
    if edition == "client" and build in WINDOWS11_LTSC2022:
        return f"{NANOSERVER}:ltsc2022"
    known = ", ".join(f"{b} -> {tag}" for b, tag in SERVER_TAGS.items())
    raise NoBaseImage(
        f"Windows build {build} ({edition}) has no nanoserver image it can run with process isolation: "
        f"an image must have the host's build ({known}; Windows 11 builds 22000-22631 also run ltsc2022). "
        "Set base_image to an image built for this host, or run the smoke test on a supported build.")


def dockerfile(image: str, network_url: str | None = None) -> str:
    lines = [f"FROM {image}", "USER ContainerAdministrator", "COPY hello.txt C:/",
             'RUN echo "Goodbye!" >> hello.txt']
    if network_url:
        # Proves DNS and outbound HTTPS from a build step (curl.exe ships in nanoserver since 1803).
        lines.append(f"RUN curl.exe --fail --silent --show-error --head --max-time 60 {network_url}")
    lines.append('CMD ["cmd", "/C", "type C:\\\\hello.txt"]')
    return "\n".join(lines) + "\n"


@dataclasses.dataclass
class Step:
    number: int
    name: str
    seconds: float | None = None
    state: str = "running"  # running, done, cached, error
    error: str | None = None
    lines: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, t.Any]:
        return {"number": self.number, "name": self.name, "seconds": self.seconds, "state": self.state,
                **({"error": self.error} if self.error else {})}


_DONE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s$")
_CACHED = re.compile(r"^#(\d+) CACHED$")
_ERROR = re.compile(r"^#(\d+) ERROR: (.*)$")
_LINE = re.compile(r"^#(\d+) (.*)$")
# The containerd worker's image exporter names the manifest (list) it wrote; moby's exporter says "writing image".
_DIGEST = re.compile(r"^(exporting manifest list|exporting manifest|writing image) (sha256:[0-9a-f]{64})")
_PUSHED = re.compile(r"^pushing manifest for (\S+)@(sha256:[0-9a-f]{64})")


def parse_progress(text: str) -> dict[str, t.Any]:
    """Steps (in order of first appearance), the failed one, the image digest and buildctl's final error."""
    steps: dict[int, Step] = {}
    digests: dict[str, str] = {}
    pushed: list[dict[str, str]] = []
    final_error = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("error: ") or line.startswith("ERROR: "):
            final_error = line.split(": ", 1)[1]
            continue
        for pattern, action in ((_DONE, "done"), (_CACHED, "cached"), (_ERROR, "error")):
            match = pattern.match(line)
            if match:
                step = steps.setdefault(int(match[1]), Step(int(match[1]), "?"))
                step.state = action
                if action == "done":
                    step.seconds = float(match[2])
                elif action == "error":
                    step.error = match[2]
                break
        else:
            match = _LINE.match(line)
            if not match:
                continue
            number = int(match[1])
            if number not in steps:
                steps[number] = Step(number, match[2])
            else:
                steps[number].lines.append(match[2])
                found = _DIGEST.match(match[2])
                if found:
                    digests[found[1]] = found[2]
                found = _PUSHED.match(match[2])
                if found:
                    pushed.append({"reference": found[1], "digest": found[2]})
    ordered = [s for _n, s in sorted(steps.items())]
    failed = next((s for s in ordered if s.state == "error"), None)
    return {
        "steps": [s.as_dict() for s in ordered],
        "failed_step": ({**failed.as_dict(), "output_tail": failed.lines[-10:]} if failed else None),
        "digest": next((digests[k] for k in ("exporting manifest list", "exporting manifest", "writing image")
                        if k in digests), None),
        "error": final_error,
        "pushed": pushed,
    }


DOCKER_HUB_KEY = "https://index.docker.io/v1/"
# distribution/reference: lower-case path components, an optional tag; a registry part has a dot or a port.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(rf"^(?:(?P<registry>[A-Za-z0-9.-]+(?::\d+)?|\[[0-9a-fA-F:]+\](?::\d+)?)/)?"
                        rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)(?::(?P<tag>[\w][\w.-]{{0,127}}))?$")


class BadReference(ValueError):
    """An image reference BuildKit would refuse to push to."""


def registry_of(reference: str) -> tuple[str, str]:
    """(registry host, config.json auths key) of a push reference; Docker Hub for a name without a registry part."""
    match = _REFERENCE.match(reference or "")
    first = reference.split("/", 1)[0] if "/" in reference else ""
    if not match or (match["registry"] is None and first and ("." in first or ":" in first)):
        raise BadReference(
            f"{reference!r} is not an image reference to push to: write [registry[:port]/]repository[:tag] with a "
            "lower-case repository, e.g. registry.example.com:5000/team/wcow-smoke:latest.")
    registry = match["registry"]
    if registry and not ("." in registry or ":" in registry or registry == "localhost"):
        if not re.fullmatch(_COMPONENT, registry):
            raise BadReference(f"{reference!r} is not an image reference to push to: its repository must be lower-case.")
        registry = None  # "team/app": the first component is a path, the registry is Docker Hub
    if registry is None:
        return "docker.io", DOCKER_HUB_KEY
    return registry, registry
