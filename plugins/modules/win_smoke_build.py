#!/usr/bin/python
# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file only documents the module: the work happens in plugins/action/win_smoke_build.py.

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_smoke_build
short_description: Build the BuildKit Windows hello-world image with buildctl.exe on the host
version_added: 0.1.0
description:
  - Builds C(FROM <nanoserver>), C(USER ContainerAdministrator), C(COPY hello.txt C:/),
    C(RUN echo "Goodbye!" >> hello.txt), C(CMD ["cmd", "/C", "type C:\\hello.txt"]) with C(buildctl.exe) through
    buildkitd's named pipe, proving that buildkitd, containerd and the Containers feature work together.
  - The nanoserver tag follows the host's build and the isolation (Microsoft's container version compatibility, as
    containerd's hcsshim enforces it). Process isolation - 17763 C(ltsc2019), 20348 C(ltsc2022), 26100 C(ltsc2025);
    a newer host from Windows Server 2022 on also runs the newest LTSC before it (Windows 11 22000-22631 and
    Windows Server 23H2 C(ltsc2022), Windows 11 25H2 26200 C(ltsc2025)). With O(hyperv_isolation) the newest tag
    whose build is at most the host's. A build with no such image fails before anything runs, saying so. The build
    comes from gathered facts.
  - buildctl runs detached on the host and the module polls it in short round trips (O(poll_seconds) each), so
    a long base-image pull outlasts no WinRM timeout; progress is shown as it goes.
  - Intended to be used through the role C(wcow.buildkit.smoke_test).
author:
  - wcow.buildkit contributors (@wcow-buildkit)
attributes:
  check_mode:
    support: full
    description: Reports the image and the Dockerfile it would build; builds nothing.
  diff_mode:
    support: none
    description: Nothing to compare.
  platform:
    description: Windows hosts with buildkitd on containerd (Windows Server 2019/2022/2025, Windows 11).
    support: full
    platforms: windows
options:
  base_image:
    description: Base image to build on instead of the nanoserver tag that matches the host build.
    type: str
  network_url:
    description: When set, one more C(RUN curl.exe --head <url>) step proves DNS and outbound HTTPS from a build step.
    type: str
  buildctl:
    description: Path of C(buildctl.exe) on the host.
    type: str
    default: C:\Program Files\buildkit\bin\buildctl.exe
  address:
    description: buildkitd address buildctl connects to.
    type: str
    default: npipe:////./pipe/buildkitd
  work_dir:
    description: Host folder for the build context, the build log and its exit code.
    type: str
    default: C:\ProgramData\wcow.buildkit\smoke
  image_name:
    description: Name of the built image (kept in buildkitd's containerd namespace).
    type: str
    default: wcow-smoke:latest
  daemon_log:
    description: buildkitd's log file, whose tail a failure reports.
    type: str
    default: C:\ProgramData\buildkitd\buildkitd.log
  timeout:
    description: Seconds the whole build may take.
    type: int
    default: 1800
  poll_seconds:
    description: Seconds each polling round trip waits on the host at most.
    type: int
    default: 20
  keep:
    description:
      - Keep what the build made; by default O(work_dir) (build context, log, exit code, metadata) and the built image
        in buildkitd's containerd namespace C(buildkit) (C(ctr.exe -n buildkit images rm), same round trip) are deleted
        after the build. buildkitd's build cache is never pruned. A pushed image stays in its registry.
    type: bool
    default: false
  push:
    description:
      - Image reference to push the smoke image to (C([registry[:port]/]repository[:tag])); the build then outputs
        C(type=image,name=<push>,push=true).
      - BuildKit reaches the registry through buildkitd's own settings (C(buildkitd.toml) C([registry."host:port"]));
        a registry that speaks plain HTTP on another host than localhost needs C(http = true) there.
    type: str
  registry_username:
    description:
      - User name for the registry of O(push), stored with O(registry_password) the way C(docker login) stores it
        (C(auths.<registry>.auth) in C(config.json)) in the building user's docker config, merged into what is there,
        readable by that user only. Never on a command line, never in the result.
      - Leave both out when the building user's docker config already has credentials for the registry.
    type: str
  registry_password:
    description: Password or token for O(registry_username).
    type: str
  docker_config:
    description:
      - Docker config folder of the building user (the one holding C(config.json)); default
        C(%USERPROFILE%\.docker) of the connection user. buildctl is told it through C(DOCKER_CONFIG), because
        the detached build process does not inherit the WinRM session's environment.
    type: str
  hyperv_isolation:
    description:
      - Whether buildkitd runs build steps with Hyper-V isolation (the buildkitd role's C(buildkitd_hyperv_isolation));
        it decides which base images the host can run.
    type: bool
    default: false
  ctr:
    description: Path of containerd's C(ctr.exe) on the host, used to delete the built image.
    type: str
    default: C:\Program Files\containerd\bin\ctr.exe
"""

EXAMPLES = r"""
- name: Prove the builder builds
  wcow.buildkit.win_smoke_build:
    poll_seconds: 20

- name: Build and push to a registry, credentials from the vault
  wcow.buildkit.win_smoke_build:
    push: registry.example.com:5000/ci/wcow-smoke:latest
    registry_username: "{{ vault_registry_user }}"
    registry_password: "{{ vault_registry_password }}"
"""

RETURN = r"""
base_image:
  description: The image the build started from.
  returned: always
  type: str
  sample: mcr.microsoft.com/windows/nanoserver:ltsc2022
steps:
  description: Each build step with its duration in seconds and its state (done, cached, error).
  returned: when the build ran
  type: list
  elements: dict
  sample: [{"number": 5, "name": "[2/3] COPY hello.txt C:/", "seconds": 0.3, "state": "done"}]
digest:
  description: The built image's manifest digest.
  returned: success
  type: str
  sample: sha256:0b5f6d8b9e3c4a1f2e7d6c5b4a3928171615141312111009080706050403020a
failed_step:
  description: The step that failed, its error and the last lines of its output.
  returned: failure
  type: dict
daemon_log_tail:
  description: The last lines of buildkitd's log after a failure.
  returned: failure
  type: list
  elements: str
polls:
  description: How many polling round trips the build took.
  returned: when the build ran
  type: int
isolation:
  description: The isolation the base image was chosen for, C(process) or C(hyperv).
  returned: always
  type: str
  sample: process
image:
  description: The name the image was built under (O(push) when set, else O(image_name)).
  returned: always
  type: str
  sample: wcow-smoke:latest
pushed:
  description: The reference the registry received (normalised as BuildKit pushes it) and the manifest digest.
  returned: when O(push) is set and the build ran
  type: dict
  sample: {"reference": "registry.example.com:5000/ci/wcow-smoke:latest", "digest": "sha256:0b5f..."}
docker_config:
  description: The building user's docker config file buildctl read its registry credentials from.
  returned: when O(push) is set and the build ran
  type: str
  sample: C:\Users\builder\.docker\config.json
image_removed:
  description: Whether the built image was deleted from buildkitd's containerd namespace (not when O(keep)).
  returned: when the build ran
  type: bool
"""
