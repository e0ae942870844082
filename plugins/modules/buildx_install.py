#!/usr/bin/python
# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file only documents the module: the work happens in plugins/action/buildx_install.py.

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: buildx_install
short_description: Install the docker buildx binary from a docker/buildx release, verified
version_added: 0.1.0
description:
  - Puts the buildx binary of a docker/buildx release on a docker client, as the user's CLI plugin
    (C(<docker config>/cli-plugins/docker-buildx)) or anywhere O(dest) says (a standalone C(buildx.exe) on a
    Windows build host without docker, used with M(wcow.buildkit.buildx_remote_builder)'s C(docker_cli)).
  - The controller resolves the version (a pin, or V(latest) through the GitHub releases API once per run), reads the
    release's C(checksums.txt) and compares its digest with the file on the client. A client that holds the right
    bytes costs one command (one round trip on Windows) and downloads nothing.
  - Otherwise the binary is downloaded once into the controller's cache, verified, copied to the client, verified
    again there and only then moved into place (mode 0755 on POSIX).
  - docker/buildx leaves darwin binaries out of C(checksums.txt) since v0.31.0 and windows binaries since v0.36.0
    (they are signed after the build); for those give O(checksum), or the task fails naming it.
author:
  - wcow.buildkit contributors (@wcow-buildkit)
extends_documentation_fragment:
  - wcow.buildkit.artifact_source
attributes:
  check_mode:
    support: full
    description: Reports whether the binary would change; downloads only the release's C(checksums.txt).
  diff_mode:
    support: none
    description: No diff; the result has RV(previous_sha256) and RV(sha256).
  become:
    description:
      - On POSIX clients, C(become) (for example V(su) or V(sudo) to another user) runs every command as that user,
        so the binary lands in that user's docker config (builders and CLI plugins are per user). Refused on Windows
        hosts, like every module of this collection.
    support: partial
  platform:
    description: POSIX clients over SSH or C(ansible_connection=local); Windows hosts through PowerShell.
    support: full
    platforms: [posix, windows]
options:
  version:
    description:
      - The buildx release, as V(X.Y.Z) (a leading V(v) is accepted, a prerelease suffix such as V(0.37.0-rc1) too),
        or V(latest) (the highest published release that has this platform's binary; prereleases only with
        O(include_prereleases)).
      - Versions older than buildx 0.13.0 are refused (npipe endpoints and C(ls --format json) need it).
    type: str
    default: latest
  checksum:
    description:
      - The binary's expected digest (V(sha256:<hex>) or bare hex); wins over C(checksums.txt).
    type: str
  archive_path:
    description:
      - A buildx release binary already on the controller (named as released, for example
        V(buildx-v0.36.1.linux-amd64)), verified with O(checksum) or the release's C(checksums.txt) kept beside it.
    type: path
  dest:
    description:
      - Absolute path of the binary on the client.
      - Default on POSIX clients C(<docker_config>/cli-plugins/docker-buildx), where O(docker_config) defaults to
        C($DOCKER_CONFIG), else C(~/.docker) of the connection user. On Windows hosts O(dest) or O(docker_config) is
        required (C(<docker_config>\cli-plugins\docker-buildx.exe)).
    type: str
  docker_config:
    description: The user's docker config folder (builders and CLI plugins are per user).
    type: str
  platform:
    description:
      - The release binary's platform, C(<os>-<arch>) as buildx names them (V(linux-amd64), V(linux-arm64),
        V(darwin-arm64), V(windows-amd64), ...).
      - Default is the client's own (C(uname -s) and C(uname -m) on POSIX; V(windows-amd64) on Windows).
    type: str
  keep_existing:
    description:
      - Keep any buildx the client already runs, when it is 0.13.0 or newer (C(<docker_cli> buildx version), or the
        standalone binary's C(version), answers); nothing is then downloaded or installed, and the result has
        C(existing=true) and the version found.
      - Use it to install buildx only where it is missing or too old, as the M(wcow.buildkit.buildx_builder) role does.
    type: bool
    default: false
  docker_cli:
    description:
      - The docker CLI that O(keep_existing) asks, or the standalone buildx binary (as in
        M(wcow.buildkit.buildx_remote_builder)); a standalone binary's path is also the default O(dest).
    type: str
    default: docker
notes:
  - O(source=host) (the host downloads) is supported on Windows hosts only.
"""

EXAMPLES = r"""
- name: The newest buildx as the user's CLI plugin on a Linux client
  wcow.buildkit.buildx_install:
    version: latest

- name: A pinned buildx as the standalone binary on a Windows build host without docker
  wcow.buildkit.buildx_install:
    version: 0.36.1
    dest: C:\Tools\buildx.exe
    checksum: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
"""

RETURN = r"""
version:
  description: The buildx version on the client after the task.
  returned: always
  type: str
  sample: 0.36.1
path:
  description: Where the binary is.
  returned: always
  type: str
  sample: /home/builder/.docker/cli-plugins/docker-buildx
platform:
  description: The release binary's platform.
  returned: always
  type: str
  sample: linux-amd64
file_name:
  description: The release asset installed.
  returned: always
  type: str
  sample: buildx-v0.36.1.linux-amd64
sha256:
  description: SHA-256 of the installed binary (null only when unverified and not downloaded, in check mode).
  returned: always
  type: str
previous_sha256:
  description: SHA-256 of the file that was there before (null when there was none).
  returned: always
  type: str
existing:
  description: True when O(keep_existing) kept a buildx the client already had (then only RV(version) is set).
  returned: when kept
  type: bool
checksum_origin:
  description: Where the expected digest came from (the C(checksums.txt) URL, the checksum option, or V(unverified)).
  returned: always
  type: str
"""
