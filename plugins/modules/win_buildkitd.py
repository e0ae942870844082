#!/usr/bin/python
# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file only documents the module: the work happens in plugins/action/win_buildkitd.py.

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_buildkitd
short_description: Install, configure, upgrade and remove buildkitd as a Windows service on containerd
version_added: 0.1.0
description:
  - Installs buildkitd and buildctl from the buildkit release archive on a Windows host, writes C(buildkitd.toml),
    registers the C(buildkitd) service with its flags frozen (C(buildkitd.exe --register-service)), makes it depend on
    containerd (C(sc.exe config buildkitd depend= containerd)), starts it, and keeps all of it converged.
  - Runs on the controller as an action plugin on the same lifecycle as M(wcow.buildkit.win_containerd). It reads the
    host's whole state in one round trip; a converged host costs exactly one, a change at most three.
  - Flags are chosen by version from the real C(buildkitd --help) of each release; a request the version cannot
    honour (O(allowed_groups) before 0.13.2, O(hyperv_isolation) in any release up to 0.32.2) fails before anything
    changes, naming the version needed. From 0.20 C(--cdi-disabled) is passed, so buildkitd does not warn at every
    start about its missing CDI folder.
  - Before every start the groups of O(allowed_groups) are created when missing (buildkitd refuses to start with a
    C(--group) that does not exist), and containerd's service is started and its pipe waited for.
  - After every start C(buildctl.exe debug workers) runs through the pipe. The containerd worker must be there, for
    this host's platform, at the version installed, with network C(cni) when O(cni) is set. A failed check after an
    upgrade rolls back to the previous version.
  - With O(tcp), buildkitd also listens on TCP with mutual TLS. O(tls_generate) makes the certificates on the
    controller (a CA kept in O(tls_ca_dir), a server certificate per host, a client bundle for buildx); the keys are
    owner-only on the controller and readable only by SYSTEM and Administrators on the host. A certificate within
    O(tls_renew_days) of expiry is renewed and the service restarts once. An inbound firewall rule for the port is
    kept, scoped to O(firewall_remote_addresses).
  - Warns when the version predates a published security fix that affects Windows builders, naming the fixed version.
author:
  - wcow.buildkit contributors (@wcow-buildkit)
extends_documentation_fragment:
  - wcow.buildkit.artifact_source
  - wcow.buildkit.artifact_source.buildkit
attributes:
  check_mode:
    support: full
    description: Reports what would change, with the config diff, and touches nothing (no certificate is made).
  diff_mode:
    support: full
    description: Shows C(buildkitd.toml) before and after, and the list of planned changes.
  platform:
    description: Manages Windows hosts; runs on the controller and reaches them over WinRM, PSRP or SSH.
    support: full
    platforms: windows
options:
  state:
    description:
      - V(present) installs and runs buildkitd; V(absent) stops and unregisters the service, removes the firewall
        rule, the PATH entry, the Defender exclusion and the binaries.
    type: str
    choices: [present, absent]
    default: present
  install_dir:
    description: Where the binaries go (C(<install_dir>\bin), added to the machine PATH).
    type: str
    default: C:\Program Files\buildkit
  config_path:
    description: Where C(buildkitd.toml) is written (passed as C(--config)). Defaults to C(<install_dir>\buildkitd.toml).
    type: str
  service_name:
    description: Name of the Windows service (C(--service-name)).
    type: str
    default: buildkitd
  log_file:
    description: buildkitd's log (C(--log-file)); its folder is created before every start.
    type: str
    default: C:\ProgramData\buildkitd\buildkitd.log
  config:
    description:
      - Settings rendered into C(buildkitd.toml), for example C(registry."docker.io".mirrors),
        C(worker.containerd.gcpolicy). Every key is checked against buildkitd's own configuration; an unknown key is
        refused with the nearest valid name.
      - Garbage collection keys are written as the target version reads them (C(reservedSpace), C(maxUsedSpace),
        C(minFreeSpace) from 0.17, C(gckeepstorage)/C(keepBytes) before).
    type: dict
    default: {}
  root:
    description: The build state folder (C(--root)), to keep it on another disk. Deleted by O(purge).
    type: str
  debug:
    description: Debug logging (C(--debug)).
    type: bool
    default: false
  allowed_groups:
    description:
      - Local groups given read/write on the buildkitd pipe (C(--group), buildkit 0.13.2 or later). A missing group is
        created before the service starts. Members must log on again to use it.
    type: list
    elements: str
    default: []
  tcp:
    description:
      - A TCP listen address C(host:port), for example V(0.0.0.0:1234). Off by default. Needs TLS (O(tls_generate) or
        O(tls_cert)/O(tls_key)/O(tls_ca)) unless O(tcp_insecure) is set.
    type: str
  tcp_insecure:
    description: Listen on O(tcp) without TLS. Anyone reaching the port can build as SYSTEM; warns on every run.
    type: bool
    default: false
  tls_generate:
    description: Make the TLS material on the controller (needs the C(cryptography) package there).
    type: bool
    default: false
  tls_ca_dir:
    description: Controller folder of the CA (C(ca.pem), C(ca-key.pem)), created once and reused by every host and run.
    type: path
    default: ~/.local/share/wcow.buildkit/tls
  tls_server_dir:
    description: Controller folder of this host's server certificate. Defaults to C(<tls_ca_dir>/hosts/<inventory_hostname>).
    type: path
  tls_client_dir:
    description: Controller folder of the client bundle for buildx (C(ca.pem), C(cert.pem), C(key.pem)). Defaults to C(<tls_ca_dir>/client).
    type: path
  tls_renew_days:
    description: Certificates with fewer days left are renewed (the service restarts once).
    type: int
    default: 30
  tls_san:
    description: Extra names and IP addresses for the server certificate (its SANs always hold the inventory name, its short name and C(ansible_host)).
    type: list
    elements: str
    default: []
  tls_cert:
    description:
      - Your own server certificate (with O(tls_key) and O(tls_ca)), in one of three forms.
      - PEM text (it contains C(-----BEGIN)), or a path on the controller; both are uploaded to O(tls_host_dir).
      - A Windows absolute path (C(C:\pki\cert.pem), or UNC C(\\server\share\cert.pem)) of a file already on
        the host; it is used where it is, never uploaded, and checked to exist in the same state read. A missing
        host file fails naming the option and path before anything changes. The module does not watch such files
        for later edits; restart the service yourself after replacing one.
      - The forms can be mixed per option. When all three are PEM text or controller paths, the certificate is
        checked against its key and CA on the controller.
    type: str
  tls_key:
    description:
      - The key of O(tls_cert), in the same three forms (PEM text, controller path, or a Windows path on the host).
      - The key file on the host, uploaded or yours, gets an ACL of SYSTEM and Administrators only (inheritance off),
        checked on every run and restored when loosened.
      - This option is C(no_log), so its value (a host path too) is shown masked in messages.
    type: str
  tls_ca:
    description: The CA that signs client certificates (and O(tls_cert)), in the same three forms as O(tls_cert).
    type: str
  tls_host_dir:
    description: Host folder the TLS files are written to; the key gets an ACL of SYSTEM and Administrators only.
    type: str
    default: C:\ProgramData\buildkitd\certs
  firewall_remote_addresses:
    description: Remote addresses the firewall rule for O(tcp) admits (IPs, subnets, ranges or keywords such as V(LocalSubnet)).
    type: list
    elements: str
    default: [LocalSubnet]
  containerd_address:
    description:
      - containerd's pipe (C(--containerd-worker-addr)). Docker Engine's containerd is V(\\\\.\\pipe\\docker-containerd);
        when the module sees it on the host it says so.
    type: str
    default: \\.\pipe\containerd-containerd
  containerd_service:
    description: The service buildkitd depends on. Defaults to V(containerd), or V(docker) for Docker Engine's pipe.
    type: str
  cni:
    description: CNI networking for RUN steps, passed explicitly (the defaults moved in buildkit 0.22).
    type: dict
    suboptions:
      config_path:
        description: The CNI config file on the host.
        type: str
        required: true
      binary_dir:
        description: The folder of the CNI plugins on the host.
        type: str
        required: true
  hyperv_isolation:
    description:
      - Hyper-V isolated builds (C(--containerd-worker-hyperv-isolation)).
      - No release up to 0.32.2 lists the flag in its C(--help), so V(true) fails for them before anything changes,
        naming the version and the flag.
      - For a newer release the binary decides. When that version is installed, its own C(--help) is read in the
        same state read (no extra round trip) and V(true) fails before any change unless it lists the flag; when it
        is being installed, its C(--register-service) refuses an unknown flag and the install is rolled back.
    type: bool
    default: false
  defender_exclusion:
    description: V(true) adds a Windows Defender process exclusion for buildkitd.exe, V(false) removes it; unset leaves exclusions alone.
    type: bool
  purge:
    description: With O(state=absent), also delete C(C:\ProgramData\buildkitd) (config, logs, certificates, build state) and O(root).
    type: bool
    default: false
  start_timeout:
    description: Seconds to wait for a service to start or stop.
    type: int
    default: 60
  require_containers_feature:
    description:
      - With V(present), fail before changing anything when the host's Windows C(Containers) feature is not
        enabled (or waits for a reboot), because buildkitd cannot run a build step there. The role
        C(wcow.buildkit.containers_feature) enables it.
      - Set to V(false) to install anyway with a warning. In check mode it is always a warning.
    type: bool
    default: true
  verify:
    description: Check the workers with C(buildctl debug workers) after every start.
    type: bool
    default: true
  registries:
    description:
      - Registry settings for builds, rendered into C(buildkitd.toml) as C([registry."<host>"]) tables. BuildKit
        pulls base images and pushes results only through these (containerd's CRI registry settings and sandbox
        image do not apply to builds), and buildkitd reads no C(certs.d) folder by default, so CA files are placed
        and named here.
      - A dict of registry host (C(docker.io), C(registry.example.com:5000); no scheme, no path) to settings, each
        optional. C(mirrors) (list) is where pulls go first (C(host[:port][/path]), no scheme). C(http) (bool) uses
        plain HTTP; C(insecure) (bool) accepts any certificate. C(ca) (a string or a list) is the registry's CA as
        PEM text or a controller path, uploaded to C(<registry_certs_dir>\<host>\ca.crt), or a Windows path of a
        file already on the host (checked to exist). C(client_cert) and C(client_key) (both or neither, same
        forms) are a client certificate for registries that require one (C(client.cert), C(client.key); the key
        gets an ACL of SYSTEM and Administrators only).
      - A mirror is a registry of its own for buildkitd; its own C(http), C(insecure) and C(ca) come from its own
        entry. A host set here may not also be under O(config)C(.registry).
      - Files are read in the same round trip as the rest of the state; a changed one is written and buildkitd
        restarted.
    type: dict
  registry_certs_dir:
    description: Host folder of the files of O(registries), one subfolder per registry host (C(:) becomes C(_)).
    type: str
    default: C:\ProgramData\buildkitd\certs.d
"""

EXAMPLES = r"""
- name: buildkitd on the named pipe, usable by the docker-users group
  wcow.buildkit.win_buildkitd:
    version: 0.24.0
    allowed_groups: [docker-users]

- name: buildkitd reachable over TCP with mutual TLS made on the controller
  wcow.buildkit.win_buildkitd:
    version: latest
    tcp: 0.0.0.0:1234
    tls_generate: true
    tls_ca_dir: "{{ playbook_dir }}/pki"
    firewall_remote_addresses: [10.0.0.0/8]
  register: buildkitd

- name: build on Docker Engine's containerd, with a registry mirror
  wcow.buildkit.win_buildkitd:
    containerd_address: \\.\pipe\docker-containerd
    config:
      registry:
        docker.io:
          mirrors: [mirror.example.com]

- name: remove buildkitd and its data
  wcow.buildkit.win_buildkitd:
    state: absent
    purge: true
"""

RETURN = r"""
version:
  description: The buildkit version installed (V(null) after O(state=absent)).
  returned: always
  type: str
  sample: 0.24.0
previous_version:
  description: The version found before the task.
  returned: always
  type: str
changes:
  description: What the task changed (or would change in check mode), in order.
  returned: always
  type: list
  elements: str
service:
  description: The service (name, status, start_mode, command_line) as the applied steps left it.
  returned: always
  type: dict
config_path:
  description: Where C(buildkitd.toml) is.
  returned: always
  type: str
endpoint:
  description: What a buildx client uses, C(npipe:////./pipe/buildkitd) or C(tcp://<host>:<port>) when O(tcp) is set.
  returned: always
  type: str
  sample: tcp://builder1.example.com:1234
tls:
  description: The TLS material (controller paths of the client bundle, server certificate names and expiry).
  returned: when O(tcp) is set with TLS
  type: dict
  sample: {generated: true, client: {ca: /home/me/pki/client/ca.pem, cert: /home/me/pki/client/cert.pem, key: /home/me/pki/client/key.pem}}
workers:
  description: What C(buildctl debug workers) reported after a start (id, executor, network, platforms, version).
  returned: when the service was started
  type: list
  elements: dict
pipe_access:
  description: The DACL of buildkitd's named pipe read after a start with O(allowed_groups) (sid, identity, type, rights).
  returned: when the service was started with O(allowed_groups)
  type: list
  elements: dict
  sample: [{sid: S-1-5-21-1-2-3-1001, identity: BUILDER1\docker-users, type: Allow, rights: "Write, Read, Synchronize"}]
log_tail:
  description: The last lines of O(log_file) when buildkitd failed to start, died after starting, or failed its worker check.
  returned: on such a failure
  type: list
  elements: str
rolled_back:
  description: Whether a failed upgrade was rolled back.
  returned: when an upgrade failed
  type: bool
"""
