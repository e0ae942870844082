#!/usr/bin/python
# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file only documents the module: the work happens in plugins/action/buildx_remote_builder.py.

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: buildx_remote_builder
short_description: Manage a docker buildx builder that uses the remote driver
version_added: 0.1.0
description:
  - Creates, updates, extends, selects and removes a C(docker buildx) builder with the C(remote) driver on the machine
    that runs the docker CLI, for the connection user (builders are per user).
  - Reads the builder with C(docker buildx ls --format json) and compares driver, endpoint, driver options and node
    set with the desired ones; the order of driver options never causes a change. A converged builder costs one
    command and runs nothing that writes.
  - Bad input fails before any command runs, naming the option.
author:
  - wcow.buildkit contributors (@wcow-buildkit)
attributes:
  check_mode:
    support: full
    description: Reports the planned buildx commands and runs none that write.
  diff_mode:
    support: full
    description: Shows the builder before and the desired settings.
  become:
    description:
      - On POSIX clients, C(become) (for example V(su) or V(sudo) to another user) runs every command as that user,
        so the builder lands in that user's docker config (builders and CLI plugins are per user). Refused on Windows
        hosts, like every module of this collection.
    support: partial
  platform:
    description: POSIX clients over SSH or C(ansible_connection=local); Windows hosts through PowerShell.
    support: full
    platforms: [posix, windows]
options:
  name:
    description: Builder name.
    type: str
    required: true
  state:
    description: V(present) creates or updates the builder; V(absent) removes it (or, with O(append) and O(node), only
      that node). Removing a missing builder is not an error.
    type: str
    choices: [present, absent]
    default: present
  endpoint:
    description:
      - C(tcp://host:port) (with O(tls)), C(unix:///path), or C(npipe:////./pipe/buildkitd) on the Windows build host
        itself. Required with O(state=present).
      - C(npipe://) is refused on Linux and macOS clients and needs buildx 0.13 or later.
    type: str
  tls:
    description: Mutual TLS settings for a C(tcp://) endpoint.
    type: dict
    default: {}
    suboptions:
      cacert:
        description: CA certificate; an absolute path on the client, or PEM contents.
        type: str
      cert:
        description: Client certificate; an absolute path on the client, or PEM contents.
        type: str
      key:
        description:
          - Client key; an absolute path on the client, or PEM contents.
          - PEM contents are written to C(<docker_config>/wcow.buildkit/tls) (folder mode 0700, files 0600), sent on
            standard input, never on a command line, and never returned.
          - On a Windows client PEM contents need O(docker_config); the files go to
            C(<docker_config>\wcow.buildkit\tls) with an ACL that lets only SYSTEM and Administrators read them
            (inheritance off). They are sent in the same round trip as the first buildx command that uses them.
        type: str
      servername:
        description: Server name to verify in the daemon's certificate; needs O(tls.cacert).
        type: str
  use:
    description: Make this the current builder.
    type: bool
    default: false
  node:
    description: Node name to create or update (default V(<name>0) for a new builder).
    type: str
  append:
    description: Add O(endpoint) as node O(node) of an existing remote builder (with O(state=absent), remove that node).
    type: bool
    default: false
  platforms:
    description: Platforms to declare for the node (C(--platform)).
    type: list
    elements: str
    default: []
  bootstrap:
    description:
      - Check that the builder answers (C(docker buildx inspect --bootstrap)). When it does not, the task fails listing
        the likely causes; a builder this task just created is removed again unless O(keep_unreachable).
    type: bool
    default: false
  keep_unreachable:
    description: Keep a builder this task created even when O(bootstrap) finds it does not answer.
    type: bool
    default: false
  docker_cli:
    description:
      - Path of the docker CLI on the client.
      - Or the standalone buildx binary, for a client without docker (a Windows build host often has none), named
        C(buildx), C(docker-buildx) or as released (C(buildx-vX.Y.Z.windows-amd64.exe)), with or without C(.exe).
        It is then run without C(docker ... buildx) in front, and O(docker_config) reaches it as C(DOCKER_CONFIG)
        (standalone buildx has no C(--config) flag).
    type: str
    default: docker
  docker_config:
    description:
      - The user's docker config directory (passed as C(docker --config), or C(DOCKER_CONFIG) to a standalone buildx);
        default is the CLI's own (C(DOCKER_CONFIG), else C(~/.docker)).
      - Builders are per user; this folder is where buildx keeps them.
    type: str
"""

EXAMPLES = r"""
- name: On a Windows build host without docker, the standalone buildx binary
  wcow.buildkit.buildx_remote_builder:
    name: wcow
    endpoint: npipe:////./pipe/buildkitd
    docker_cli: C:\Tools\buildx.exe
    docker_config: C:\Users\builder\.docker
    use: true

- name: On the Windows build host, a builder on the local named pipe
  wcow.buildkit.buildx_remote_builder:
    name: wcow
    endpoint: npipe:////./pipe/buildkitd
    use: true

- name: On a Linux client, a builder over TCP with mutual TLS
  wcow.buildkit.buildx_remote_builder:
    name: wcow
    endpoint: tcp://winbuild01.example.com:1234
    tls:
      cacert: "{{ lookup('file', 'pki/ca.pem') }}"
      cert: "{{ lookup('file', 'pki/client.pem') }}"
      key: "{{ lookup('file', 'pki/client-key.pem') }}"
      servername: winbuild01.example.com
    bootstrap: true
    use: true

- name: Add a second Windows node to the same builder
  wcow.buildkit.buildx_remote_builder:
    name: wcow
    node: winbuild02
    append: true
    endpoint: tcp://winbuild02.example.com:1234
    tls:
      cacert: /etc/wcow/ca.pem
"""

RETURN = r"""
builder:
  description: The builder after the task (empty when absent).
  returned: always
  type: dict
  contains:
    name: {description: Builder name., type: str}
    driver: {description: Driver (C(remote))., type: str}
    current: {description: Whether it is the current builder., type: bool}
    nodes:
      description: Nodes with C(name), C(endpoint), C(status), C(version), C(platforms), C(driver_opts).
      type: list
      elements: dict
commands:
  description: The buildx commands that wrote, secrets masked.
  returned: always
  type: list
  elements: str
actions:
  description: The planned actions.
  returned: always
  type: list
  elements: str
"""
