#!/usr/bin/python
# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file only documents the module: the work happens in plugins/action/buildx_smoke_build.py.

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: buildx_smoke_build
short_description: Build the BuildKit Windows hello-world image with docker buildx from a client
version_added: 0.1.0
description:
  - Runs C(docker buildx build --builder <builder> --platform windows/amd64 --progress plain) on a Linux, macOS
    or Windows client, through the remote builder that M(wcow.buildkit.buildx_remote_builder) (or the role
    C(wcow.buildkit.buildx_builder)) created, proving the client's path to the Windows builders end to end (TCP,
    mutual TLS, buildkitd, containerd).
  - The Dockerfile is the one M(wcow.buildkit.win_smoke_build) builds (C(FROM <nanoserver>),
    C(USER ContainerAdministrator), C(COPY hello.txt C:/), C(RUN echo "Goodbye!" >> hello.txt), C(CMD ...)),
    written with C(hello.txt) to a new temporary folder on the client, removed afterwards unless O(keep).
  - buildx builds on one node of the builder (the first whose platforms include O(platform)), booted with no
    fallback to another node (docker/buildx build/resolver/driver.go). The module reads C(docker buildx ls) to
    know that node, takes the nanoserver tag for that node's Windows build from O(nodes), and reports the node
    that did build (from the metadata file's C(buildx.build.ref)).
  - buildx runs detached on the client (its progress to a log, its exit code to a file) and the module polls it
    (at most O(poll_seconds) per command), so a long base-image pull outlasts every timeout and shows progress.
    On a Windows client the host scripts of M(wcow.buildkit.win_smoke_build) start C(docker.exe) the same way
    (outside the WinRM shell) in O(work_dir) and poll it; one round trip reads the builder list first and one
    reads the metadata and removes the folder at the end.
  - The result is exported as an image (C(--output type=image)), so BuildKit reports its digest; unnamed (the
    default) it leaves no image in the builder's store (BuildKit names images only when asked), so there is
    nothing to clean up on the builders. Without an output the remote driver would report no digest.
  - Intended to be used through the role C(wcow.buildkit.smoke_test).
author:
  - wcow.buildkit contributors (@wcow-buildkit)
attributes:
  check_mode:
    support: full
    description: Reads the builder (C(docker buildx ls)) and reports the node, base image and command; builds nothing.
  diff_mode:
    support: none
    description: Nothing to compare.
  platform:
    description: Linux and macOS clients with the docker CLI and buildx (or the standalone buildx binary); Windows
      clients with C(docker.exe) and its buildx plugin, or the standalone C(buildx.exe) (a build host without docker).
    support: full
    platforms: [posix, windows]
options:
  builder:
    description: Name of the buildx builder to build with.
    type: str
    default: wcow
  platform:
    description: Target platform passed to C(--platform); it also decides which node builds.
    type: str
    default: windows/amd64
  base_image:
    description: Base image instead of the nanoserver tag for the building node's Windows build.
    type: str
  nodes:
    description:
      - "The Windows build of each node, by buildx node name, as C({build: 20348, edition: server}) (C(edition) is
        C(client) for Windows 11) or just the build number; C(build) may also be the host's
        C(ansible_facts.distribution_version) (C(10.0.20348.0))."
      - Needed for the node buildx builds on unless O(base_image) is set. The role C(wcow.buildkit.smoke_test)
        fills it from the facts of the hosts in the Windows builder group.
    type: dict
    default: {}
  network_url:
    description: When set, one more C(RUN curl.exe --head <url>) step proves DNS and outbound HTTPS from a build step.
    type: str
  image_name:
    description:
      - Name under which the builder keeps the image in its image store (buildkitd's containerd namespace
        C(buildkit)); remove it yourself with C(ctr -n buildkit images rm). Empty keeps no image.
    type: str
    default: ""
  docker_cli:
    description: The docker CLI (or the standalone buildx binary) on the client. On a Windows client the full path
      of C(docker.exe) or C(buildx.exe) (the build runs detached, without the user's PATH; C(DOCKER_CONFIG) is set
      for it from O(docker_config)).
    type: str
    default: docker
  docker_config:
    description: The docker config folder holding the builder (C(--config) of docker, or C(DOCKER_CONFIG) for the
      standalone buildx); default the user's own (C($DOCKER_CONFIG) or C(~/.docker)).
    type: str
  timeout:
    description: Seconds the whole build may take.
    type: int
    default: 1800
  poll_seconds:
    description: Seconds each polling command waits on the client at most.
    type: int
    default: 20
  work_dir:
    description: Folder of the build (context, log, exit code, metadata) on a Windows client; a POSIX client uses a
      new temporary folder instead.
    type: str
    default: C:\ProgramData\wcow.buildkit\buildx-smoke
  keep:
    description: Keep the temporary folder (context, C(build.log), C(build.rc), C(metadata.json)) and report it as
      RV(work_dir).
    type: bool
    default: false
notes:
  - Builders are per user; with C(become) on a POSIX client the build runs as the become user, whose docker config
    holds the builder.
  - A Windows builder that is also a buildx client is proven by M(wcow.buildkit.win_smoke_build) (buildctl on the
    host); the role C(wcow.buildkit.smoke_test) takes that path for hosts of both groups.
seealso:
  - module: wcow.buildkit.buildx_remote_builder
  - module: wcow.buildkit.win_smoke_build
"""

EXAMPLES = r"""
- name: Build the hello-world through the remote builder from this client
  wcow.buildkit.buildx_smoke_build:
    builder: wcow
    nodes:
      win1: {build: 20348, edition: server}
      win2: {build: 26100, edition: server}

- name: Build on a given base image, keeping the temp folder to read the log
  wcow.buildkit.buildx_smoke_build:
    base_image: mcr.microsoft.com/windows/nanoserver:ltsc2022
    keep: true
"""

RETURN = r"""
builder:
  description: The buildx builder the build went through.
  returned: always
  type: str
  sample: wcow
expected_node:
  description: The node buildx picks for O(platform) (first node whose platforms include it, else the first node).
  returned: always
  type: str
  sample: win1
endpoint:
  description: That node's endpoint.
  returned: always
  type: str
  sample: tcp://win1.example.com:1234
node:
  description: The node that built, from the metadata file's C(buildx.build.ref).
  returned: when the build ran
  type: str
  sample: win1
base_image:
  description: The image the build started from.
  returned: always
  type: str
  sample: mcr.microsoft.com/windows/nanoserver:ltsc2022
node_build:
  description: The Windows build the base image was chosen for (null with O(base_image)).
  returned: always
  type: int
  sample: 20348
command:
  description: The buildx command line (temporary paths shown as C(<temp>)).
  returned: always
  type: str
steps:
  description: Each build step with its duration in seconds and its state (done, cached, error).
  returned: when the build ran
  type: list
  elements: dict
  sample: [{"number": 5, "name": "[2/3] COPY hello.txt C:/", "seconds": 0.3, "state": "done"}]
digest:
  description: The exported image's manifest digest (C(containerimage.digest)).
  returned: success
  type: str
  sample: sha256:0b5f6d8b9e3c4a1f2e7d6c5b4a3928171615141312111009080706050403020a
failed_step:
  description: The step that failed, its error and the last lines of its output.
  returned: failure
  type: dict
output_tail:
  description: The last lines of buildx's output after a failure.
  returned: failure
  type: list
  elements: str
polls:
  description: How many polling commands the build took.
  returned: when the build ran
  type: int
work_dir:
  description: The kept temporary folder on the client.
  returned: when O(keep) is true
  type: str
"""
