# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke build's decisions (internal, pure): which base image, what to build, what the output says.

- base_image(): the nanoserver tag a host can run (Microsoft's Windows container version compatibility, as
  hcsshim's osversion.CheckHostAndContainerCompat enforces it for containerd). Process isolation: a host
  before Windows Server 2022 (20348) needs the image of its own build; from 20348 on a host runs images from
  the newest LTSC release it is newer than up to its own build (20348 < build <= 26100: ltsc2022, and
  ltsc2025 from 26100; after 26100, e.g. Windows 11 25H2 26200: ltsc2025). Hyper-V isolation: any image whose
  build is at most the host's. The newest allowed tag is chosen; a host without one gets an explanation,
  never a build that would fail late.
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
# The nanoserver tags MCR publishes for the LTSC releases, by the Windows build of the image.
SERVER_TAGS = {17763: "ltsc2019", 20348: "ltsc2022", 26100: "ltsc2025"}
# Releases with the stable ABI (hcsshim compatLTSCReleases): from the first, a newer host runs older images.
STABLE_ABI_RELEASES = (20348, 26100)
HELLO_TEXT = "Hello from Windows BuildKit!\r\n"


class NoBaseImage(Exception):
    """The host's build has no nanoserver image it can run with its isolation."""


def runs_image(host_build: int, image_build: int, hyperv: bool = False) -> bool:
    """Whether a host of this build starts a container of that image build (process or Hyper-V isolation)."""
    if hyperv:
        return image_build <= host_build
    if host_build < STABLE_ABI_RELEASES[0]:
        return image_build == host_build
    floor = max([r for r in STABLE_ABI_RELEASES if host_build > r] or [STABLE_ABI_RELEASES[0]])
    return floor <= image_build <= host_build


def base_image(build: int, edition: str = "server", override: str | None = None, hyperv: bool = False) -> str:
    if override:
        return override
    runnable = [b for b in SERVER_TAGS if runs_image(build, b, hyperv)]
    if runnable:
        return f"{NANOSERVER}:{SERVER_TAGS[max(runnable)]}"
    known = ", ".join(f"{b} -> {tag}" for b, tag in SERVER_TAGS.items())
    if hyperv:
        rule = f"with Hyper-V isolation an image's build must be at most the host's ({known})"
    else:
        rule = (f"with process isolation an image must have the host's build ({known}), or from Windows Server 2022 "
                "on be of the newest LTSC release before the host's build or later (Windows 11 22000-22631 and "
                "Windows Server 23H2 run ltsc2022; 24H2 26100 runs ltsc2025 and ltsc2022; 25H2 26200 runs ltsc2025)")
    raise NoBaseImage(
        f"Windows build {build} ({edition}) has no nanoserver image it can run: {rule}. "
        "Set base_image to an image built for this host, run buildkitd with Hyper-V isolation, or run the smoke "
        "test on a supported build.")


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
