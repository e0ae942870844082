#!/usr/bin/python
# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file only documents the module: the work happens in plugins/action/win_containerd.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: win_containerd
short_description: Install, configure, upgrade and remove containerd as a Windows service
version_added: 0.1.0
description:
  - Installs containerd from its release archive on a Windows host, writes C(config.toml), registers and starts the
    C(containerd) Windows service, and keeps all of it converged.
  - Runs on the controller as an action plugin. It reads the host's whole state in one round trip, plans, and applies
    the plan in at most two more (archive transfer and one apply step); a converged host costs exactly one round trip.
  - The configuration is C(containerd config default) of the target version's series (shipped with the collection
    for 1.7, 2.0, 2.1, 2.2 and 2.3) deep-merged with O(config). All three schemas work, containerd 1.7
    (C(version = 2)), 2.0-2.2 (C(version = 3)) and 2.3 (C(version = 4)). On an upgrade across them the whole file is
    re-rendered for the new schema, keeping O(config), in one write and one restart.
  - Changing the configuration restarts the service, then restarts services that use containerd (such as
    C(buildkitd)) that were running.
  - When the registered service command line differs from the desired one (other log file, level, config path), the
    service is stopped, unregistered, waited for until it is gone, registered again and started.
  - Upgrades and downgrades stop C(buildkitd) and containerd and leftover C(containerd-shim-runhcs-v1) processes, keep
    the old binaries and config in C(<install_dir>.previous), swap in the new ones and start them. If the new version
    does not come up, the old binaries and config are restored and started, and the task fails with the tail of the
    containerd log.
  - Stops and starts never wait forever. A service still stopping after O(start_timeout) seconds has its own process
    ended (named in RV(killed) and a warning); one still starting fails the task (or, after an upgrade, rolls it back).
    Before binaries are replaced or deleted the module waits for the stopped services' processes to exit, and ends
    every process still running from C(<install_dir>\bin) (Windows will not delete a running executable).
    C(containerd-shim-runhcs-v1) processes elsewhere, such as Docker Engine's, are left alone. Reinstalling over an
    unreadable binary stops and restarts the service; changing only the configuration leaves shims, and the
    containers they run, alone.
  - Binaries are always called by absolute path, so a PATH change not yet seen by the WinRM session does not matter.
author:
  - wcow.buildkit contributors (@wcow-buildkit)
extends_documentation_fragment:
  - wcow.buildkit.artifact_source
  - wcow.buildkit.artifact_source.containerd
attributes:
  check_mode:
    support: full
    description: Reports what would change, with the config diff, and touches nothing. No archive is downloaded.
  diff_mode:
    support: full
    description: Shows C(config.toml) before and after, and the list of planned changes.
  platform:
    description: Manages Windows hosts; runs on the controller and reaches them over WinRM, PSRP or SSH.
    support: full
    platforms: windows
options:
  state:
    description:
      - V(present) installs and runs containerd; V(absent) stops and unregisters the service, removes the PATH entry,
        the Defender exclusions and the binaries.
    type: str
    choices: [present, absent]
    default: present
  install_dir:
    description:
      - Where the binaries go; they land in C(<install_dir>\bin), which is added to the machine PATH.
    type: str
    default: C:\Program Files\containerd
  config:
    description:
      - Settings deep-merged over C(containerd config default) of the target version. Tables merge key by key; any
        other value replaces the default.
      - Use the keys of the target version's schema, for example C(plugins."io.containerd.grpc.v1.cri") for 1.7 and
        C(plugins."io.containerd.cri.v1.images") / C(plugins."io.containerd.cri.v1.runtime") for 2.x. Keys of the
        other schema are refused with the name of the right one.
      - A V(null) value removes that key from the defaults; lists replace the default list whole.
      - Supported series, each rendered from its own C(containerd config default) shipped with the collection
        - 1.7 (config C(version = 2)), 2.0, 2.1 and 2.2 (C(version = 3)), 2.3 (C(version = 4)). A release newer
        than 2.3 uses the 2.3 defaults and the module warns naming the series used. C(latest) (the role's default
        C(containerd_version)) is the newest stable GitHub release, so its series decides the schema.
      - In config version 4 (containerd 2.3) the grpc, ttrpc, debug and metrics listeners live under
        C(plugins."io.containerd.server.v1.grpc") and its siblings; top-level C(grpc.address) is refused for a 2.3
        target (and the plugin place for older ones). The module waits on the pipe the target schema names.
      - Host-dependent defaults (containerd 2.x C(plugins."io.containerd.runtime.v2.task".platforms), which names
        the host's OS build) are left out, so each host's containerd computes them at start; set them here to pin.
      - A key the target version's defaults do not have, inside a table containerd defines, is refused with the
        nearest valid name (containerd itself ignores unknown keys silently, so a typo such as C(pinned_image)
        would have no effect). Tables whose keys are your own names (C(runtimes), registry C(mirrors),
        C(pinned_images), C(timeouts), runtime C(options)) are not checked. A plugin table containerd does not
        list (a plugin of your own) is written with a warning. To keep a key containerd reads but does not list,
        name it in O(config_extra_keys).
    type: dict
    default: {}
  config_extra_keys:
    description:
      - Dotted key paths inside O(config) that are written even though the target version's C(containerd config
        default) does not list them, spelled as the error message names them, for example
        C(plugins."io.containerd.cri.v1.images".some_new_setting). A path to a table accepts everything in it.
    type: list
    elements: str
    default: []
  cni:
    description:
      - The folders of the Windows CNI plugins and of their network configuration, written into the CRI plugin's
        C(cni) table in the keys the target series reads (C(bin_dir) for 1.7 and 2.0, C(bin_dirs) for 2.1 and later,
        C(conf_dir) in all), so a schema change on upgrade keeps them. Left out, containerd's defaults apply
        (C(C:\Program Files\containerd\cni\bin) and C(C:\Program Files\containerd\cni\conf)).
      - The C(networking) role installs the plugins and the nat configuration into the same folders; in
        O(config), a C(cni) setting written out wins over this option.
    type: dict
    suboptions:
      bin_dir:
        description: Absolute Windows path of the folder holding the CNI plugin binaries (C(nat.exe) and others).
        type: str
      conf_dir:
        description: Absolute Windows path of the folder holding the CNI network configuration files.
        type: str
  config_path:
    description: Where C(config.toml) is written. Defaults to C(<install_dir>\config.toml).
    type: str
  service_name:
    description: Name of the Windows service.
    type: str
    default: containerd
  log_file:
    description:
      - Log file the service writes (C(--log-file)). Its tail is shown when a new version fails to start.
    type: str
    default: C:\ProgramData\containerd\containerd.log
  log_level:
    description: The service's C(--log-level).
    type: str
    choices: [trace, debug, info, warn, error, fatal, panic]
    default: info
  defender_exclusion:
    description:
      - Windows Defender process exclusion for this module's C(containerd.exe); scanning slows down layer extraction.
      - Unset (the default), no exclusion is added or removed, so an administrator's own exclusions stay as they are.
      - V(true) adds the exclusion of C(<install_dir>\bin\containerd.exe); V(false) removes it. No other exclusion
        is ever touched.
      - With O(state=absent), the exclusion of C(containerd.exe) is removed whatever this option says, as the binary
        it names is deleted.
      - Hosts without Defender (Server Core without the feature) or with Defender turned off are left alone, with a
        warning when this option is set.
      - Exclusions managed by policy (Group Policy, Intune, tamper protection) cannot be changed on the host; the
        module then warns and reports no change.
    type: bool
  purge:
    description:
      - With O(state=absent), also delete containerd's data, including every image and snapshot, before the
        binaries and C(config.toml) go - C(C:\ProgramData\containerd) and the C(root) and C(state) folders the
        installed C(config.toml) names (top-level C(root) and C(state) keys; their defaults are under
        C(C:\ProgramData\containerd)).
      - Paths longer than 260 characters are deleted too. Files whose ACL shuts out Administrators (layer files
        owned by TrustedInstaller or SYSTEM) are taken over for Administrators (C(takeown /A), C(icacls /grant))
        and deleted.
      - When Windows still refuses part of it (a file in use), everything else is deleted and the task fails
        listing each path left and why; C(config.toml) is kept, so running the task again finishes the purge.
    type: bool
    default: false
  start_timeout:
    description: Seconds to wait for the service to run and its named pipe to answer, and for stops and removals.
    type: int
    default: 60
  require_containers_feature:
    description:
      - With V(present), fail before changing anything when the host's Windows C(Containers) feature is not
        enabled (or waits for a reboot), because containerd installs there but cannot run a single container. The
        M(ansible.windows.win_feature)-based role C(wcow.buildkit.containers_feature) enables it.
      - Set to V(false) to install anyway with a warning. In check mode it is always a warning.
      - The feature state is read in the same round trip as the rest; a running service skips the query.
    type: bool
    default: true
notes:
  - Long archive transfers over WinRM may need higher C(ansible_winrm_read_timeout_sec) and
    C(ansible_winrm_operation_timeout_sec).
  - Docker Engine may run its own containerd (pipe C(docker-containerd)); the module warns when it finds one and
    installs the standalone service beside it.
  - C(become) is not supported and fails the task before the host is contacted; connect as a user in the local
    Administrators group instead.
"""

EXAMPLES = r"""
- name: Install the latest stable containerd
  wcow.buildkit.win_containerd:

- name: Pin a version, log at debug level and exclude containerd.exe from Defender scanning
  wcow.buildkit.win_containerd:
    version: 2.1.5
    log_level: debug
    defender_exclusion: true

- name: Override the sandbox image (containerd 2.x schema)
  wcow.buildkit.win_containerd:
    version: 2.1.5
    config:
      plugins:
        io.containerd.cri.v1.images:
          pinned_images:
            sandbox: registry.example.com/pause:3.10

- name: Same override for containerd 1.7
  wcow.buildkit.win_containerd:
    version: 1.7.29
    config:
      plugins:
        io.containerd.grpc.v1.cri:
          sandbox_image: registry.example.com/pause:3.8

- name: Install from an internal mirror, downloaded by each host through a proxy
  wcow.buildkit.win_containerd:
    version: 2.1.5
    download_base_url: https://artifacts.example.com/github
    source: host
    download_proxy: http://proxy.example.com:3128

- name: Air-gapped install from an archive on the controller
  wcow.buildkit.win_containerd:
    version: 2.1.5
    archive_path: /srv/mirror/containerd-2.1.5-windows-amd64.tar.gz

- name: Remove containerd and all its images
  wcow.buildkit.win_containerd:
    state: absent
    purge: true
"""

RETURN = r"""
version:
  description: The containerd version installed (V(null) after O(state=absent)).
  returned: always
  type: str
  sample: 2.1.5
previous_version:
  description: The version found on the host before the task (V(null) when none was installed).
  returned: always
  type: str
  sample: 1.7.29
changes:
  description: What the task changed (or, in check mode, would change), in order.
  returned: always
  type: list
  elements: str
  sample: ["upgrade containerd 1.7.29 -> 2.1.5", "write C:\\Program Files\\containerd\\config.toml"]
service:
  description:
    - The service as the host reported it, updated by what the applied steps made true (V(null) after
      O(state=absent)). In check mode, and on a host without the service, it is what was found (V(null) values).
  returned: always
  type: dict
  contains:
    name:
      description: Service name.
      type: str
      sample: containerd
    status:
      description: Service status.
      type: str
      sample: Running
    start_mode:
      description: Start mode.
      type: str
      sample: Automatic
    command_line:
      description: The registered command line (ImagePath).
      type: str
      sample: >-
        "C:\Program Files\containerd\bin\containerd.exe" --run-service --service-name containerd
        --config "C:\Program Files\containerd\config.toml" --log-file C:\ProgramData\containerd\containerd.log
        --log-level info
config_path:
  description: Path of C(config.toml) on the host.
  returned: always
  type: str
  sample: C:\Program Files\containerd\config.toml
killed:
  description: Service processes that had to be ended because they did not stop, or did not exit, within O(start_timeout).
  returned: when a service process was ended
  type: list
  elements: dict
  sample: [{"service": "containerd", "pid": 4132, "reason": "still StopPending after 60 seconds"}]
rolled_back:
  description:
    - V(true) when a change failed part-way (a step after the backup of the previous installation, or the start of
      the new version) and the previous binaries, config and service registration were restored and started.
    - V(false) when restoring failed too; the message then names both failures and the backup folder.
  returned: when a change failed after the host was changed
  type: bool
attempted_version:
  description: The version that was being installed.
  returned: when a change failed after the host was changed
  type: str
log_tail:
  description: Last lines of the containerd log after a failed start.
  returned: when a change failed after the host was changed
  type: list
  elements: str
steps_done:
  description: The host steps that completed before the failure (the host is changed when this is not empty).
  returned: when a step failed after others had run
  type: list
  elements: str
  sample: [service_stop, process_stop, install_backup]
rollback_steps_done:
  description: The rollback steps that completed before the rollback failed.
  returned: when the rollback failed too
  type: list
  elements: str
"""
