#!/usr/bin/python
# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file only documents the module: the work happens in plugins/action/win_container_network.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: win_container_network
short_description: Container networking for Windows builds (Windows CNI plugins and the HNS nat network)
version_added: 0.2.0
description:
  - Installs the microsoft/windows-container-networking CNI plugins into O(bin_dir), and renders
    C(0-containerd-nat.conf) (type C(nat), name C(nat), cniVersion C(1.0.0)) into O(conf_dir) from the live HNS
    network C(nat) (its subnet and gateway), so containerd and buildkitd give C(RUN) steps a network instead of
    buildkitd's null network.
  - When C(nat) is missing (Windows Server 2019 has none by default; some hosts lose it after a reboot) it is created
    with O(nat_subnet) and O(nat_gateway) through the HNS API that ships with the Containers feature
    (C(vmcompute.dll)); no helper module is needed on the host.
  - When the conf no longer matches the live network (its subnet can change after a restart) it is re-rendered and
    the O(buildkitd_service_name) service, when it runs, is restarted once (buildkitd reads the conf when it starts).
  - With O(boot_task), a scheduled task re-creates C(nat) and re-renders the conf at every boot, and restarts buildkitd
    when the conf changed.
  - Runs on the controller as an action plugin. One round trip reads the network, the conf, the plugins, the boot
    task and buildkitd's status; a converged host costs exactly that one. A change costs at most two more (the
    plugin archive transfer, when it changed, and one round trip of steps).
  - On build 17763 (Windows Server 2019) it warns that a second networked C(RUN) in one build is known to fail
    (buildkit issue 5668) and recommends Windows Server 2022 or newer.
  - Point containerd's CNI C(bin_dir)/C(bin_dirs) and C(conf_dir), and buildkitd's O(wcow.buildkit.win_buildkitd#module:cni),
    at the same folders; the roles do this from one set of variables (C(networking_cni_bin_dir), C(networking_cni_conf_dir)).
author:
  - wcow.buildkit contributors (@wcow-buildkit)
extends_documentation_fragment:
  - wcow.buildkit.artifact_source
  - wcow.buildkit.artifact_source.cni
attributes:
  check_mode:
    support: full
    description: Reports what would change, with the conf diff, and touches nothing. No archive is downloaded.
  diff_mode:
    support: full
    description: Shows the CNI conf before and after, and the list of planned changes.
  platform:
    description: Manages Windows hosts; runs on the controller and reaches them over WinRM, PSRP or SSH.
    support: full
    platforms: windows
options:
  state:
    description:
      - V(present) sets networking up as O(mode) says; V(absent) removes the conf, the boot task and its files and the
        plugins. The HNS network C(nat) is left alone (Windows and other container tools use it).
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - V(nat) installs the plugins and renders the conf for the HNS C(nat) network.
      - V(off) turns networking off on purpose (buildkitd's null network) and removes the conf and the boot task;
        reported as RV(mode=off). Give buildkitd no O(wcow.buildkit.win_buildkitd#module:cni) then.
    type: str
    choices: [nat, "off"]
    default: nat
  bin_dir:
    description: The folder of the CNI plugins on the host (C(nat.exe), C(sdnbridge.exe), C(sdnoverlay.exe)).
    type: str
    default: C:\Program Files\containerd\cni\bin
  conf_dir:
    description: The folder of the CNI conf on the host; the conf is C(<conf_dir>\0-containerd-nat.conf).
    type: str
    default: C:\Program Files\containerd\cni\conf
  nat_subnet:
    description: The subnet C(nat) is created with when it is missing (CIDR). A live C(nat) keeps its own.
    type: str
    default: 172.20.0.0/16
  nat_gateway:
    description: The gateway C(nat) is created with when it is missing; a host address inside O(nat_subnet).
    type: str
    default: 172.20.0.1
  boot_task:
    description:
      - Install a scheduled task (at startup, as SYSTEM) that re-creates C(nat) with O(nat_subnet) and O(nat_gateway)
        when it is gone and re-renders the conf from the live network, for hosts that lose C(nat) or change its subnet
        on reboot. Its script and template live in C(<conf_dir>\..\boot), its log in C(cni_boot.log) there.
      - V(false) removes a task installed before.
    type: bool
    default: false
  buildkitd_service_name:
    description: The buildkitd service restarted once when the conf changes while it runs.
    type: str
    default: buildkitd
"""

EXAMPLES = r"""
- name: Networking for RUN steps, with the plugins release pinned
  wcow.buildkit.win_container_network:
    version: 0.3.1

- name: A host that loses nat on reboot
  wcow.buildkit.win_container_network:
    nat_subnet: 172.30.0.0/16
    nat_gateway: 172.30.0.1
    boot_task: true

- name: Networking off (buildkitd's null network)
  wcow.buildkit.win_container_network:
    mode: "off"
"""

RETURN = r"""
mode:
  description: V(nat), or V(off) when networking is off (or removed).
  returned: always
  type: str
  sample: nat
version:
  description: The CNI plugins release installed.
  returned: when mode is nat
  type: str
  sample: 0.3.1
network:
  description: The HNS network the conf is rendered for (after a creation, the one HNS made).
  returned: when mode is nat
  type: dict
  sample: {name: nat, subnet: 172.23.64.0/20, gateway: 172.23.64.1, id: 5E1A7B0C-0000-0000-0000-000000000000}
bin_dir:
  description: The folder of the plugins.
  returned: always
  type: str
conf_dir:
  description: The folder of the conf.
  returned: always
  type: str
conf_path:
  description: The conf file.
  returned: always
  type: str
  sample: C:\Program Files\containerd\cni\conf\0-containerd-nat.conf
buildkitd_restarted:
  description: Whether buildkitd was restarted to pick up a changed conf.
  returned: always
  type: bool
build:
  description: The host's Windows build, as HNS's host reports it.
  returned: when mode is nat
  type: int
  sample: 20348
changes:
  description: What changed (or would, in check mode).
  returned: always
  type: list
  elements: str
"""
