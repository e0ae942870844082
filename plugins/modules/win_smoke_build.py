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
  - The nanoserver tag follows the host's build, which process isolation requires
    (17763 C(ltsc2019), 20348 C(ltsc2022), 26100 C(ltsc2025); Windows 11 builds 22000-22631 run C(ltsc2022)).
    A build with no such image fails before anything runs, saying so. The build comes from gathered facts.
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
    description: Keep O(work_dir) (build context, log, exit code, metadata); by default it is deleted after the build.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Prove the builder builds
  wcow.buildkit.win_smoke_build:
    poll_seconds: 20
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
"""
