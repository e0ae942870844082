# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerd config.toml rendering for win_containerd (internal).

config.toml is ``containerd config default`` of the target release deep-merged
with the user's ``config`` option.  The controller renders it from the defaults
embedded below, so check mode and diff work before any containerd binary is on
the host.

Defaults by release series (``default_series``):

* 1.7.x  -> 1.7 defaults, config schema ``version = 2``
* 2.0.x  -> 2.0 defaults, schema ``version = 3``
* 2.1.0 and later 2.x -> 2.1 defaults, schema ``version = 3``.  Keys added by a
  later 2.x release are absent, so containerd applies its built-in defaults for
  them (the pinned sandbox image stays pause:3.10 unless ``config`` sets it).

Merge rule (``merge``): tables merge key by key; any other value (string, number,
boolean, array) replaces the default; ``None`` removes the key, so
``{"plugins": {"io.containerd.nri.v1.nri": None}}`` drops that table.  Arrays are
replaced whole, never appended to.
"""

from __future__ import annotations

import datetime
import re
import tomllib
import types
import typing as t
from collections.abc import Mapping

try:
    import tomli_w
except ImportError:  # reported by render(), so a controller without it gets a message, not a traceback
    tomli_w = None


class ContainerdConfigError(ValueError):
    """A containerd version or config the renderer cannot use; the message says what to change."""


# The module option whose value is the user's override dict; error messages start with it.
OPTION = "config"

# `containerd.exe config default`, containerd 1.7.29 windows/amd64.
_DEFAULT_1_7 = r"""disabled_plugins = []
imports = []
oom_score = 0
plugin_dir = ""
required_plugins = []
root = "C:\\ProgramData\\containerd\\root"
state = "C:\\ProgramData\\containerd\\state"
temp = ""
version = 2

[cgroup]
  path = ""

[debug]
  address = ""
  format = ""
  gid = 0
  level = ""
  uid = 0

[grpc]
  address = "\\\\.\\pipe\\containerd-containerd"
  gid = 0
  max_recv_message_size = 16777216
  max_send_message_size = 16777216
  tcp_address = ""
  tcp_tls_ca = ""
  tcp_tls_cert = ""
  tcp_tls_key = ""
  uid = 0

[metrics]
  address = ""
  grpc_histogram = false

[plugins]

  [plugins."io.containerd.gc.v1.scheduler"]
    deletion_threshold = 0
    mutation_threshold = 100
    pause_threshold = 0.02
    schedule_delay = "0s"
    startup_delay = "100ms"

  [plugins."io.containerd.grpc.v1.cri"]
    cdi_spec_dirs = []
    device_ownership_from_security_context = false
    disable_apparmor = false
    disable_cgroup = false
    disable_hugetlb_controller = false
    disable_proc_mount = false
    disable_tcp_service = true
    drain_exec_sync_io_timeout = "0s"
    enable_cdi = false
    enable_selinux = false
    enable_tls_streaming = false
    enable_unprivileged_icmp = false
    enable_unprivileged_ports = false
    ignore_deprecation_warnings = []
    ignore_image_defined_volumes = false
    image_pull_progress_timeout = "5m0s"
    image_pull_with_sync_fs = false
    max_concurrent_downloads = 3
    max_container_log_line_size = 16384
    netns_mounts_under_state_dir = false
    restrict_oom_score_adj = false
    sandbox_image = "registry.k8s.io/pause:3.8"
    selinux_category_range = 0
    stats_collect_period = 10
    stream_idle_timeout = "4h0m0s"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    systemd_cgroup = false
    tolerate_missing_hugetlb_controller = false
    unset_seccomp_profile = ""

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "C:\\Program Files\\containerd\\cni\\bin"
      conf_dir = "C:\\Program Files\\containerd\\cni\\conf"
      conf_template = ""
      ip_pref = ""
      max_conf_num = 1
      setup_serially = false

    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runhcs-wcow-process"
      disable_snapshot_annotations = false
      discard_unpacked_layers = false
      ignore_blockio_not_enabled_errors = false
      ignore_rdt_not_enabled_errors = false
      no_pivot = false
      snapshotter = "windows"

      [plugins."io.containerd.grpc.v1.cri".containerd.default_runtime]
        base_runtime_spec = ""
        cni_conf_dir = ""
        cni_max_conf_num = 0
        container_annotations = []
        pod_annotations = []
        privileged_without_host_devices = false
        privileged_without_host_devices_all_devices_allowed = false
        runtime_engine = ""
        runtime_path = ""
        runtime_root = ""
        runtime_type = ""
        sandbox_mode = ""
        snapshotter = ""

        [plugins."io.containerd.grpc.v1.cri".containerd.default_runtime.options]

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runhcs-wcow-hypervisor]
          base_runtime_spec = ""
          cni_conf_dir = ""
          cni_max_conf_num = 0
          container_annotations = ["io.microsoft.container.*"]
          pod_annotations = ["io.microsoft.virtualmachine.*"]
          privileged_without_host_devices = false
          privileged_without_host_devices_all_devices_allowed = false
          runtime_engine = ""
          runtime_path = ""
          runtime_root = ""
          runtime_type = "io.containerd.runhcs.v1"
          sandbox_mode = ""
          snapshotter = ""

          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runhcs-wcow-hypervisor.options]
            SandboxIsolation = 1
            ScaleCpuLimitsToSandbox = true

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runhcs-wcow-process]
          base_runtime_spec = ""
          cni_conf_dir = ""
          cni_max_conf_num = 0
          container_annotations = ["io.microsoft.container.*"]
          pod_annotations = []
          privileged_without_host_devices = false
          privileged_without_host_devices_all_devices_allowed = false
          runtime_engine = ""
          runtime_path = ""
          runtime_root = ""
          runtime_type = "io.containerd.runhcs.v1"
          sandbox_mode = ""
          snapshotter = ""

          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runhcs-wcow-process.options]

      [plugins."io.containerd.grpc.v1.cri".containerd.untrusted_workload_runtime]
        base_runtime_spec = ""
        cni_conf_dir = ""
        cni_max_conf_num = 0
        container_annotations = []
        pod_annotations = []
        privileged_without_host_devices = false
        privileged_without_host_devices_all_devices_allowed = false
        runtime_engine = ""
        runtime_path = ""
        runtime_root = ""
        runtime_type = ""
        sandbox_mode = ""
        snapshotter = ""

        [plugins."io.containerd.grpc.v1.cri".containerd.untrusted_workload_runtime.options]

    [plugins."io.containerd.grpc.v1.cri".image_decryption]
      key_model = "node"

    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = ""

      [plugins."io.containerd.grpc.v1.cri".registry.auths]

      [plugins."io.containerd.grpc.v1.cri".registry.configs]

      [plugins."io.containerd.grpc.v1.cri".registry.headers]

      [plugins."io.containerd.grpc.v1.cri".registry.mirrors]

    [plugins."io.containerd.grpc.v1.cri".x509_key_pair_streaming]
      tls_cert_file = ""
      tls_key_file = ""

  [plugins."io.containerd.internal.v1.opt"]
    path = "C:\\ProgramData\\containerd\\root\\opt"

  [plugins."io.containerd.internal.v1.restart"]
    interval = "10s"

  [plugins."io.containerd.internal.v1.tracing"]

  [plugins."io.containerd.metadata.v1.bolt"]
    content_sharing_policy = "shared"

  [plugins."io.containerd.nri.v1.nri"]
    disable = true
    disable_connections = false
    plugin_config_path = "/etc/nri/conf.d"
    plugin_path = "/opt/nri/plugins"
    plugin_registration_timeout = "5s"
    plugin_request_timeout = "2s"
    socket_path = "/var/run/nri/nri.sock"

  [plugins."io.containerd.runtime.v2.task"]
    platforms = ["windows/amd64", "linux/amd64"]
    sched_core = false

  [plugins."io.containerd.service.v1.diff-service"]
    default = ["windows", "windows-lcow"]
    sync_fs = false

  [plugins."io.containerd.service.v1.tasks-service"]
    blockio_config_file = ""
    rdt_config_file = ""

  [plugins."io.containerd.tracing.processor.v1.otlp"]

  [plugins."io.containerd.transfer.v1.local"]
    config_path = ""
    max_concurrent_downloads = 3
    max_concurrent_uploaded_layers = 3

    [[plugins."io.containerd.transfer.v1.local".unpack_config]]
      differ = "walking"
      platform = "windows/amd64"
      snapshotter = "windows"

[proxy_plugins]

[stream_processors]

  [stream_processors."io.containerd.ocicrypt.decoder.v1.tar"]
    accepts = ["application/vnd.oci.image.layer.v1.tar+encrypted"]
    args = ["--decryption-keys-path", "C:\\Program Files\\containerd\\ocicrypt\\keys"]
    env = ["OCICRYPT_KEYPROVIDER_CONFIG=C:\\Program Files\\containerd\\ocicrypt\\ocicrypt_keyprovider.conf"]
    path = "ctd-decoder"
    returns = "application/vnd.oci.image.layer.v1.tar"

  [stream_processors."io.containerd.ocicrypt.decoder.v1.tar.gzip"]
    accepts = ["application/vnd.oci.image.layer.v1.tar+gzip+encrypted"]
    args = ["--decryption-keys-path", "C:\\Program Files\\containerd\\ocicrypt\\keys"]
    env = ["OCICRYPT_KEYPROVIDER_CONFIG=C:\\Program Files\\containerd\\ocicrypt\\ocicrypt_keyprovider.conf"]
    path = "ctd-decoder"
    returns = "application/vnd.oci.image.layer.v1.tar+gzip"

[timeouts]
  "io.containerd.timeout.bolt.open" = "0s"
  "io.containerd.timeout.metrics.shimstats" = "2s"
  "io.containerd.timeout.shim.cleanup" = "5s"
  "io.containerd.timeout.shim.load" = "5s"
  "io.containerd.timeout.shim.shutdown" = "3s"
  "io.containerd.timeout.task.state" = "2s"

[ttrpc]
  address = ""
  gid = 0
  uid = 0
"""

# `containerd.exe config default`, containerd 2.0.11 windows/amd64.
_DEFAULT_2_0 = r"""version = 3
root = 'C:\ProgramData\containerd\root'
state = 'C:\ProgramData\containerd\state'
temp = ''
plugin_dir = ''
disabled_plugins = []
required_plugins = []
oom_score = 0
imports = []

[grpc]
  address = '\\.\pipe\containerd-containerd'
  tcp_address = ''
  tcp_tls_ca = ''
  tcp_tls_cert = ''
  tcp_tls_key = ''
  uid = 0
  gid = 0
  max_recv_message_size = 16777216
  max_send_message_size = 16777216

[ttrpc]
  address = ''
  uid = 0
  gid = 0

[debug]
  address = ''
  uid = 0
  gid = 0
  level = ''
  format = ''

[metrics]
  address = ''
  grpc_histogram = false

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'windows'
    disable_snapshot_annotations = false
    discard_unpacked_layers = false
    max_concurrent_downloads = 3
    image_pull_progress_timeout = '5m0s'
    image_pull_with_sync_fs = false
    stats_collect_period = 10

    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = 'registry.k8s.io/pause:3.10'

    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = ''

    [plugins.'io.containerd.cri.v1.images'.image_decryption]
      key_model = 'node'

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    selinux_category_range = 0
    max_container_log_line_size = 16384
    disable_apparmor = false
    restrict_oom_score_adj = false
    disable_proc_mount = false
    unset_seccomp_profile = ''
    tolerate_missing_hugetlb_controller = false
    disable_hugetlb_controller = false
    device_ownership_from_security_context = false
    ignore_image_defined_volumes = false
    netns_mounts_under_state_dir = false
    enable_unprivileged_ports = false
    enable_unprivileged_icmp = false
    enable_cdi = false
    cdi_spec_dirs = []
    drain_exec_sync_io_timeout = '0s'
    ignore_deprecation_warnings = []

    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runhcs-wcow-process'
      ignore_blockio_not_enabled_errors = false
      ignore_rdt_not_enabled_errors = false

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes]
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runhcs-wcow-hypervisor]
          runtime_type = 'io.containerd.runhcs.v1'
          runtime_path = ''
          pod_annotations = ['io.microsoft.virtualmachine.*']
          container_annotations = ['io.microsoft.container.*']
          privileged_without_host_devices = false
          privileged_without_host_devices_all_devices_allowed = false
          base_runtime_spec = ''
          cni_conf_dir = ''
          cni_max_conf_num = 0
          snapshotter = ''
          sandboxer = ''
          io_type = ''

          [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runhcs-wcow-hypervisor.options]
            SandboxIsolation = 1
            ScaleCpuLimitsToSandbox = true

        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runhcs-wcow-process]
          runtime_type = 'io.containerd.runhcs.v1'
          runtime_path = ''
          pod_annotations = []
          container_annotations = ['io.microsoft.container.*']
          privileged_without_host_devices = false
          privileged_without_host_devices_all_devices_allowed = false
          base_runtime_spec = ''
          cni_conf_dir = ''
          cni_max_conf_num = 0
          snapshotter = ''
          sandboxer = ''
          io_type = ''

    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dir = 'C:\Program Files\containerd\cni\bin'
      conf_dir = 'C:\Program Files\containerd\cni\conf'
      max_conf_num = 1
      setup_serially = false
      conf_template = ''
      ip_pref = ''
      use_internal_loopback = false

  [plugins.'io.containerd.gc.v1.scheduler']
    pause_threshold = 0.02
    deletion_threshold = 0
    mutation_threshold = 100
    schedule_delay = '0s'
    startup_delay = '100ms'

  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
    stream_idle_timeout = '4h0m0s'
    enable_tls_streaming = false

    [plugins.'io.containerd.grpc.v1.cri'.x509_key_pair_streaming]
      tls_cert_file = ''
      tls_key_file = ''

  [plugins.'io.containerd.image-verifier.v1.bindir']
    bin_dir = 'C:\ProgramData\containerd\root\opt\image-verifier\bin'
    max_verifiers = 10
    per_verifier_timeout = '10s'

  [plugins.'io.containerd.internal.v1.opt']
    path = 'C:\ProgramData\containerd\root\opt'

  [plugins.'io.containerd.internal.v1.tracing']

  [plugins.'io.containerd.metadata.v1.bolt']
    content_sharing_policy = 'shared'

  [plugins.'io.containerd.monitor.container.v1.restart']
    interval = '10s'

  [plugins.'io.containerd.nri.v1.nri']
    disable = false
    socket_path = '/var/run/nri/nri.sock'
    plugin_path = '/opt/nri/plugins'
    plugin_config_path = '/etc/nri/conf.d'
    plugin_registration_timeout = '5s'
    plugin_request_timeout = '2s'
    disable_connections = false

  [plugins.'io.containerd.runtime.v2.task']
    platforms = ['windows(6.1.7601)/amd64', 'linux/amd64']

  [plugins.'io.containerd.service.v1.diff-service']
    default = ['windows', 'windows-lcow']
    sync_fs = false

  [plugins.'io.containerd.service.v1.tasks-service']
    blockio_config_file = ''
    rdt_config_file = ''

  [plugins.'io.containerd.shim.v1.manager']
    env = []

  [plugins.'io.containerd.tracing.processor.v1.otlp']

  [plugins.'io.containerd.transfer.v1.local']
    max_concurrent_downloads = 3
    max_concurrent_uploaded_layers = 3
    config_path = ''

[cgroup]
  path = ''

[timeouts]
  'io.containerd.timeout.bolt.open' = '0s'
  'io.containerd.timeout.metrics.shimstats' = '2s'
  'io.containerd.timeout.shim.cleanup' = '5s'
  'io.containerd.timeout.shim.load' = '5s'
  'io.containerd.timeout.shim.shutdown' = '3s'
  'io.containerd.timeout.task.state' = '2s'

[stream_processors]
  [stream_processors.'io.containerd.ocicrypt.decoder.v1.tar']
    accepts = ['application/vnd.oci.image.layer.v1.tar+encrypted']
    returns = 'application/vnd.oci.image.layer.v1.tar'
    path = 'ctd-decoder'
    args = ['--decryption-keys-path', 'C:\Program Files\containerd\ocicrypt\keys']
    env = ['OCICRYPT_KEYPROVIDER_CONFIG=C:\Program Files\containerd\ocicrypt\ocicrypt_keyprovider.conf']

  [stream_processors.'io.containerd.ocicrypt.decoder.v1.tar.gzip']
    accepts = ['application/vnd.oci.image.layer.v1.tar+gzip+encrypted']
    returns = 'application/vnd.oci.image.layer.v1.tar+gzip'
    path = 'ctd-decoder'
    args = ['--decryption-keys-path', 'C:\Program Files\containerd\ocicrypt\keys']
    env = ['OCICRYPT_KEYPROVIDER_CONFIG=C:\Program Files\containerd\ocicrypt\ocicrypt_keyprovider.conf']
"""

# `containerd.exe config default`, containerd 2.1.5 windows/amd64.
_DEFAULT_2_1 = r"""version = 3
root = 'C:\ProgramData\containerd\root'
state = 'C:\ProgramData\containerd\state'
temp = ''
disabled_plugins = []
required_plugins = []
oom_score = 0
imports = []

[grpc]
  address = '\\.\pipe\containerd-containerd'
  tcp_address = ''
  tcp_tls_ca = ''
  tcp_tls_cert = ''
  tcp_tls_key = ''
  uid = 0
  gid = 0
  max_recv_message_size = 16777216
  max_send_message_size = 16777216

[ttrpc]
  address = ''
  uid = 0
  gid = 0

[debug]
  address = ''
  uid = 0
  gid = 0
  level = ''
  format = ''

[metrics]
  address = ''
  grpc_histogram = false

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'windows'
    disable_snapshot_annotations = false
    discard_unpacked_layers = false
    max_concurrent_downloads = 3
    concurrent_layer_fetch_buffer = 0
    image_pull_progress_timeout = '5m0s'
    image_pull_with_sync_fs = false
    stats_collect_period = 10
    use_local_image_pull = false

    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = 'registry.k8s.io/pause:3.10'

    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = ''

    [plugins.'io.containerd.cri.v1.images'.image_decryption]
      key_model = 'node'

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    selinux_category_range = 0
    max_container_log_line_size = 16384
    disable_apparmor = false
    restrict_oom_score_adj = false
    disable_proc_mount = false
    unset_seccomp_profile = ''
    tolerate_missing_hugetlb_controller = false
    disable_hugetlb_controller = false
    device_ownership_from_security_context = false
    ignore_image_defined_volumes = false
    netns_mounts_under_state_dir = false
    enable_unprivileged_ports = false
    enable_unprivileged_icmp = false
    enable_cdi = false
    cdi_spec_dirs = []
    drain_exec_sync_io_timeout = '0s'
    ignore_deprecation_warnings = []

    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runhcs-wcow-process'
      ignore_blockio_not_enabled_errors = false
      ignore_rdt_not_enabled_errors = false

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes]
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runhcs-wcow-hypervisor]
          runtime_type = 'io.containerd.runhcs.v1'
          runtime_path = ''
          pod_annotations = ['io.microsoft.virtualmachine.*']
          container_annotations = ['io.microsoft.container.*']
          privileged_without_host_devices = false
          privileged_without_host_devices_all_devices_allowed = false
          cgroup_writable = false
          base_runtime_spec = ''
          cni_conf_dir = ''
          cni_max_conf_num = 0
          snapshotter = ''
          sandboxer = ''
          io_type = ''

          [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runhcs-wcow-hypervisor.options]
            SandboxIsolation = 1
            ScaleCpuLimitsToSandbox = true

        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runhcs-wcow-process]
          runtime_type = 'io.containerd.runhcs.v1'
          runtime_path = ''
          pod_annotations = []
          container_annotations = ['io.microsoft.container.*']
          privileged_without_host_devices = false
          privileged_without_host_devices_all_devices_allowed = false
          cgroup_writable = false
          base_runtime_spec = ''
          cni_conf_dir = ''
          cni_max_conf_num = 0
          snapshotter = ''
          sandboxer = ''
          io_type = ''

    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dir = ''
      bin_dirs = ['C:\Program Files\containerd\cni\bin']
      conf_dir = 'C:\Program Files\containerd\cni\conf'
      max_conf_num = 1
      setup_serially = false
      conf_template = ''
      ip_pref = ''
      use_internal_loopback = false

  [plugins.'io.containerd.gc.v1.scheduler']
    pause_threshold = 0.02
    deletion_threshold = 0
    mutation_threshold = 100
    schedule_delay = '0s'
    startup_delay = '100ms'

  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
    stream_idle_timeout = '4h0m0s'
    enable_tls_streaming = false

    [plugins.'io.containerd.grpc.v1.cri'.x509_key_pair_streaming]
      tls_cert_file = ''
      tls_key_file = ''

  [plugins.'io.containerd.image-verifier.v1.bindir']
    bin_dir = 'C:\ProgramData\containerd\root\opt\image-verifier\bin'
    max_verifiers = 10
    per_verifier_timeout = '10s'

  [plugins.'io.containerd.internal.v1.opt']
    path = 'C:\ProgramData\containerd\root\opt'

  [plugins.'io.containerd.internal.v1.tracing']

  [plugins.'io.containerd.metadata.v1.bolt']
    content_sharing_policy = 'shared'
    no_sync = false

  [plugins.'io.containerd.monitor.container.v1.restart']
    interval = '10s'

  [plugins.'io.containerd.nri.v1.nri']
    disable = false
    socket_path = '/var/run/nri/nri.sock'
    plugin_path = '/opt/nri/plugins'
    plugin_config_path = '/etc/nri/conf.d'
    plugin_registration_timeout = '5s'
    plugin_request_timeout = '2s'
    disable_connections = false

  [plugins.'io.containerd.runtime.v2.task']
    platforms = ['windows(6.1.7601)/amd64', 'linux/amd64']

  [plugins.'io.containerd.service.v1.diff-service']
    default = ['windows', 'windows-lcow']
    sync_fs = false

  [plugins.'io.containerd.service.v1.tasks-service']
    blockio_config_file = ''
    rdt_config_file = ''

  [plugins.'io.containerd.shim.v1.manager']
    env = []

  [plugins.'io.containerd.tracing.processor.v1.otlp']

  [plugins.'io.containerd.transfer.v1.local']
    max_concurrent_downloads = 3
    concurrent_layer_fetch_buffer = 0
    max_concurrent_uploaded_layers = 3
    check_platform_supported = false
    config_path = ''

[cgroup]
  path = ''

[timeouts]
  'io.containerd.timeout.bolt.open' = '0s'
  'io.containerd.timeout.cri.defercleanup' = '1m0s'
  'io.containerd.timeout.metrics.shimstats' = '2s'
  'io.containerd.timeout.shim.cleanup' = '5s'
  'io.containerd.timeout.shim.load' = '5s'
  'io.containerd.timeout.shim.shutdown' = '3s'
  'io.containerd.timeout.task.state' = '2s'

[stream_processors]
  [stream_processors.'io.containerd.ocicrypt.decoder.v1.tar']
    accepts = ['application/vnd.oci.image.layer.v1.tar+encrypted']
    returns = 'application/vnd.oci.image.layer.v1.tar'
    path = 'ctd-decoder'
    args = ['--decryption-keys-path', 'C:\Program Files\containerd\ocicrypt\keys']
    env = ['OCICRYPT_KEYPROVIDER_CONFIG=C:\Program Files\containerd\ocicrypt\ocicrypt_keyprovider.conf']

  [stream_processors.'io.containerd.ocicrypt.decoder.v1.tar.gzip']
    accepts = ['application/vnd.oci.image.layer.v1.tar+gzip+encrypted']
    returns = 'application/vnd.oci.image.layer.v1.tar+gzip'
    path = 'ctd-decoder'
    args = ['--decryption-keys-path', 'C:\Program Files\containerd\ocicrypt\keys']
    env = ['OCICRYPT_KEYPROVIDER_CONFIG=C:\Program Files\containerd\ocicrypt\ocicrypt_keyprovider.conf']
"""

DEFAULTS: Mapping[str, str] = types.MappingProxyType({"1.7": _DEFAULT_1_7, "2.0": _DEFAULT_2_0, "2.1": _DEFAULT_2_1})
_SCHEMA_BY_SERIES = {"1.7": 2, "2.0": 3, "2.1": 3}

_VERSION = re.compile(r"v?(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?(?:[-+][0-9A-Za-z.+-]*)?")
# `containerd --version`: "containerd <module path> v<version> <commit>"; distro builds drop the "v".
_VERSION_LINE = re.compile(
    r"^\s*containerd\s+(?:\S+\s+)?v?(?P<version>\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)(?:\s|$)", re.M)

_CRI_V2 = "io.containerd.grpc.v1.cri"
_CRI_IMAGES = "io.containerd.cri.v1.images"
_CRI_RUNTIME = "io.containerd.cri.v1.runtime"
# Which 1.7 CRI keys go where in schema 3, as containerd 2.x's own migration moves them
# (plugins/cri/images/plugin.go and plugins/cri/runtime/plugin.go, configMigration).
_SERVER_KEYS = frozenset({"disable_tcp_service", "stream_server_address", "stream_server_port",
                          "stream_idle_timeout", "enable_tls_streaming", "x509_key_pair_streaming"})
_IMAGE_KEYS = frozenset({"registry", "image_decryption", "max_concurrent_downloads",
                         "image_pull_progress_timeout", "image_pull_with_sync_fs", "stats_collect_period"})
_IMAGE_KEYS_FROM_CONTAINERD = frozenset({"snapshotter", "disable_snapshot_annotations", "discard_unpacked_layers"})
# Plugin IDs renamed between the schemas (seen in the two defaults): 1.7 name -> 2.x name.
_RENAMED_PLUGINS = {"io.containerd.internal.v1.restart": "io.containerd.monitor.container.v1.restart"}

_SANDBOX_IMAGE_PATH = {2: ("plugins", _CRI_V2, "sandbox_image"),
                       3: ("plugins", _CRI_IMAGES, "pinned_images", "sandbox")}
_CNI_PATH = {2: ("plugins", _CRI_V2, "cni"), 3: ("plugins", _CRI_RUNTIME, "cni")}

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_KIND_NOUNS = {"table": "a table (dictionary)", "array": "an array (list)", "string": "a string",
               "boolean": "a boolean", "number": "a number", "datetime": "a date/time"}

_Path = tuple[t.Any, ...]


def default_series(version: str) -> str:
    """Return the key of ``DEFAULTS`` for a containerd version ("1.7", "2.0" or "2.1")."""
    match = _VERSION.fullmatch(version.strip()) if isinstance(version, str) else None
    if not match:
        raise ContainerdConfigError(
            f"containerd version {version!r} is not a version number; give it as a string like '2.1.5'.")
    major, minor = int(match["major"]), int(match["minor"])
    if (major, minor) == (1, 7):
        return "1.7"
    if major == 2:
        return "2.0" if minor == 0 else "2.1"
    raise ContainerdConfigError(
        f"containerd {version.strip()} is not supported: wcow.buildkit renders config.toml for containerd 1.7.x "
        "and 2.x only; choose a version in that range.")


def schema_version(version: str) -> int:
    """Return the config.toml schema (``version = N``) that containerd ``version`` reads: 2 or 3."""
    return _SCHEMA_BY_SERIES[default_series(version)]


def default_config(version: str) -> dict[str, t.Any]:
    """Return ``containerd config default`` of the series of ``version``, parsed (a fresh dict each call)."""
    return tomllib.loads(DEFAULTS[default_series(version)])


def merge(base: Mapping[str, t.Any], overrides: Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """Deep-merge ``overrides`` onto ``base`` and return a new dict; neither input is changed.

    Tables merge key by key; any other value replaces what ``base`` has; ``None``
    removes the key (removing a key ``base`` lacks is a no-op).  ``overrides=None``
    (``config: null`` in a task) changes nothing.  Values come back as plain
    dict/list/str/int/float/bool, so tagged Ansible values do not leak.
    """
    merged = _plain(base)
    for key, value in (overrides or {}).items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping):
            current = merged.get(key)
            merged[key] = merge(current if isinstance(current, Mapping) else {}, value)
        else:
            merged[key] = _plain(value)
    return merged


def check_overrides(version: str, overrides: Mapping[str, t.Any] | None) -> list[str]:
    """Return the problems ``overrides`` has for containerd ``version``; an empty list when it can be rendered.

    Reports values TOML cannot hold, a top-level ``version`` other than the
    target's schema, settings placed where the other schema keeps them (with the
    place this schema uses), values whose type differs from containerd's default
    for that key, and CNI ``bin_dir``/``bin_dirs`` use the target cannot honour.
    """
    series = default_series(version)
    if overrides is None:
        return []
    if not isinstance(overrides, Mapping):
        return [f"{OPTION} must be a dictionary of containerd settings, got {_type_noun(overrides)}."]
    errors: list[str] = []
    _check_toml_values(overrides, (), errors)
    schema = _SCHEMA_BY_SERIES[series]
    _check_version_key(version, schema, overrides, errors)
    plugins = overrides.get("plugins")
    if isinstance(plugins, Mapping):
        if schema == 3:
            _check_schema2_keys(version, series, plugins, errors)
        else:
            _check_schema3_keys(version, plugins, errors)
    _check_kinds(overrides, default_config(version), (), errors)
    _check_cni_bin_dirs(version, series, overrides, errors)
    return errors


def render(version: str, overrides: Mapping[str, t.Any] | None) -> str:
    """Return config.toml for containerd ``version``: its defaults merged with ``overrides``.

    The text depends only on the defaults series and the override values (keys
    are sorted), so equal input gives byte-identical output and a patch release
    alone does not rewrite the file.  Raises ``ContainerdConfigError`` listing
    every problem ``check_overrides`` finds.
    """
    series = default_series(version)
    errors = check_overrides(version, overrides)
    if errors:
        raise ContainerdConfigError("\n".join(errors))
    if tomli_w is None:
        raise ContainerdConfigError("Rendering containerd's config.toml needs the Python package tomli-w on the "
                                    "Ansible controller; install it with `pip install tomli-w`.")
    merged = merge(default_config(version), overrides or {})
    ordered = {"version": merged.pop("version")} if "version" in merged else {}
    ordered.update(_sorted_tables(merged))
    header = (f"# Managed by wcow.buildkit (win_containerd): `containerd config default` of containerd {series}\n"
              f"# merged with the module's {OPTION} option. Edits here are replaced; change {OPTION} instead.\n\n")
    return header + tomli_w.dumps(ordered)


def parse_version_output(text: str) -> str | None:
    """Return the version from ``containerd --version`` output ("2.1.5"), or None when it is not there."""
    if not isinstance(text, str):
        return None
    match = _VERSION_LINE.search(text.lstrip("\ufeff"))
    return match["version"] if match else None


def sandbox_image(config: Mapping[str, t.Any], version: str) -> str | None:
    """Return the pause image a merged config pins for containerd ``version``, or None when it sets none.

    1.7: ``plugins."io.containerd.grpc.v1.cri".sandbox_image``;
    2.x: ``plugins."io.containerd.cri.v1.images".pinned_images.sandbox``.
    """
    value = _lookup(config, _SANDBOX_IMAGE_PATH[schema_version(version)])
    return value if isinstance(value, str) else None


def cni_dirs(config: Mapping[str, t.Any], version: str) -> dict[str, t.Any]:
    """Return where containerd ``version`` looks for CNI plugins and their config, per a merged config.

    ``{"bin_dirs": [...], "bin_dir": first of bin_dirs or None, "conf_dir": str or None}``.
    1.7 and 2.0 have one ``cni.bin_dir``; 2.1 reads ``cni.bin_dirs`` and, like
    containerd, lets a non-empty deprecated ``bin_dir`` win over the default
    ``bin_dirs``.  ``bin_dir`` is there because buildkitd takes a single
    ``--containerd-cni-binary-dir``.
    """
    series = default_series(version)
    cni = _lookup(config, _CNI_PATH[_SCHEMA_BY_SERIES[series]])
    cni = cni if isinstance(cni, Mapping) else {}
    bin_dir = cni.get("bin_dir") if isinstance(cni.get("bin_dir"), str) else ""
    if series == "2.1":
        bin_dirs = [d for d in cni.get("bin_dirs") or [] if isinstance(d, str)]
        if bin_dir and (not bin_dirs or bin_dirs == _default_bin_dirs()):
            bin_dirs = [bin_dir]
    else:
        bin_dirs = [bin_dir] if bin_dir else []
    conf_dir = cni.get("conf_dir")
    return {"bin_dirs": bin_dirs, "bin_dir": bin_dirs[0] if bin_dirs else None,
            "conf_dir": conf_dir if isinstance(conf_dir, str) and conf_dir else None}


def _default_bin_dirs() -> list[str]:
    return default_config("2.1.0")["plugins"][_CRI_RUNTIME]["cni"]["bin_dirs"]


def _plain(value: t.Any) -> t.Any:
    """Copy a value into builtin types (tagged Ansible str/int/dict/list are subclasses)."""
    if isinstance(value, Mapping):
        return {(str(k) if isinstance(k, str) else k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, bool):
        return bool(value)
    for builtin in (str, int, float):
        if isinstance(value, builtin):
            return builtin(value)
    return value


def _sorted_tables(value: t.Any) -> t.Any:
    """Sort table keys at every depth (arrays keep their order) so equal dicts render alike."""
    if isinstance(value, Mapping):
        return {k: _sorted_tables(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_sorted_tables(item) for item in value]
    return value


def _lookup(config: t.Any, path: _Path) -> t.Any:
    for key in path:
        if not isinstance(config, Mapping):
            return None
        config = config.get(key)
    return config


def _dotted(path: _Path) -> str:
    """Spell a key path the way TOML does: plugins."io.containerd.cri.v1.images".pinned_images."""
    parts = []
    for key in path:
        if isinstance(key, str) and _BARE_KEY.fullmatch(key):
            parts.append(key)
        elif isinstance(key, str):
            parts.append('"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            parts.append(f"[{key!r}]")
    return ".".join(parts)


def _option_path(path: _Path) -> str:
    return f"{OPTION}.{_dotted(path)}" if path else OPTION


def _kind(value: t.Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "table"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, (datetime.date, datetime.time)):
        return "datetime"
    return None


def _type_noun(value: t.Any) -> str:
    kind = _kind(value)
    return _KIND_NOUNS[kind] if kind else f"a {type(value).__name__}"


def _check_toml_values(table: Mapping[t.Any, t.Any], path: _Path, errors: list[str]) -> None:
    for key, value in table.items():
        here = path + (key,)
        if not isinstance(key, str):
            errors.append(f"{_option_path(path)} has the key {key!r} ({type(key).__name__}); TOML keys are "
                          "strings, so quote the key in YAML.")
            continue
        _check_toml_value(value, here, errors, in_array=False)


def _check_toml_value(value: t.Any, path: _Path, errors: list[str], in_array: bool) -> None:
    where = _option_path(path)
    if value is None:
        if in_array:
            errors.append(f"{where} contains null; TOML arrays cannot hold it, so remove that item.")
    elif isinstance(value, Mapping):
        _check_toml_values(value, path, errors)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_toml_value(item, path + (index,), errors, in_array=True)
    elif isinstance(value, datetime.time) and value.tzinfo is not None:
        errors.append(f"{where} is a time with a UTC offset, which TOML cannot hold; give it as a string.")
    elif _kind(value) is None:
        errors.append(f"{where} is {_type_noun(value)}, which TOML cannot hold; use a string, number, "
                      "boolean, list or dictionary.")


def _check_version_key(version: str, schema: int, overrides: Mapping[str, t.Any], errors: list[str]) -> None:
    if "version" not in overrides:
        return
    value = overrides["version"]
    if isinstance(value, int) and not isinstance(value, bool) and value == schema:
        return
    if value is None:
        errors.append(f"{OPTION}.version cannot be removed: containerd reads a config.toml without it as "
                      f"version 1. Leave it out of {OPTION}; containerd {version} needs version = {schema}.")
    else:
        errors.append(f"{OPTION}.version is {value!r}, but containerd {version} reads config version "
                      f"{schema}. Leave version out of {OPTION} (it is set for you) or set it to {schema}.")


def _schema3_home(cri_path: _Path, series: str) -> _Path | None:
    """Where schema 3 keeps a setting found at plugins."io.containerd.grpc.v1.cri".<cri_path>; None if it stays."""
    head = cri_path[0]
    if head in _SERVER_KEYS:
        return None
    if head == "sandbox_image":
        return _SANDBOX_IMAGE_PATH[3]
    if head in _IMAGE_KEYS:
        return ("plugins", _CRI_IMAGES) + cri_path
    if head == "containerd" and len(cri_path) > 1 and cri_path[1] in _IMAGE_KEYS_FROM_CONTAINERD:
        return ("plugins", _CRI_IMAGES) + cri_path[1:]
    if cri_path[:2] == ("cni", "bin_dir") and series == "2.1":
        return ("plugins", _CRI_RUNTIME, "cni", "bin_dirs")
    return ("plugins", _CRI_RUNTIME) + cri_path


def _schema2_home(plugin: str, rest: _Path) -> _Path | None:
    """Where schema 2 keeps a setting found at plugins.<plugin>.<rest> of schema 3; None if it has no such setting."""
    cri = ("plugins", _CRI_V2)
    head = rest[0]
    if plugin == _CRI_IMAGES:
        if rest[:2] == ("pinned_images", "sandbox"):
            return _SANDBOX_IMAGE_PATH[2]
        if head in _IMAGE_KEYS_FROM_CONTAINERD:
            return cri + ("containerd",) + rest
        if head in _IMAGE_KEYS:
            return cri + rest
        return None
    if rest[:2] == ("cni", "bin_dirs"):
        return cri + ("cni", "bin_dir")
    return cri + rest


def _split_keys(table: Mapping[str, t.Any], path: _Path, descend: t.Callable[[_Path], bool]) -> t.Iterator[_Path]:
    """Yield key paths of ``table``, going one level deeper wherever ``descend(path)`` says the schemas split."""
    for key, value in table.items():
        here = path + (key,)
        if isinstance(value, Mapping) and value and descend(here):
            yield from _split_keys(value, here, descend)
        else:
            yield here


def _check_schema2_keys(version: str, series: str, plugins: Mapping[str, t.Any], errors: list[str]) -> None:
    intro = f"containerd {version} reads config version 3"
    cri = plugins.get(_CRI_V2)
    if isinstance(cri, Mapping):
        for cri_path in _split_keys(cri, (), lambda p: p in {("containerd",), ("cni",)}):
            home = _schema3_home(cri_path, series)
            if home is None:
                continue
            as_list = " (a list of directories)" if home[-1] == "bin_dirs" else ""
            errors.append(f"{_option_path(('plugins', _CRI_V2) + cri_path)} is where containerd 1.7 (config "
                          f"version 2) keeps this setting; {intro}, where it is {_dotted(home)}{as_list}. "
                          "Move the value there.")
    for old, new in _RENAMED_PLUGINS.items():
        if old in plugins:
            errors.append(f"{_option_path(('plugins', old))} is the containerd 1.7 name of this plugin; {intro}, "
                          f"where it is {_dotted(('plugins', new))}. Move the value there.")


def _check_schema3_keys(version: str, plugins: Mapping[str, t.Any], errors: list[str]) -> None:
    intro = f"containerd {version} reads config version 2"
    for plugin in (_CRI_IMAGES, _CRI_RUNTIME):
        table = plugins.get(plugin)
        if not isinstance(table, Mapping):
            if plugin in plugins:
                errors.append(f"{_option_path(('plugins', plugin))} is a containerd 2.x (config version 3) plugin; "
                              f"{intro}, which keeps CRI settings under {_dotted(('plugins', _CRI_V2))}.")
            continue
        for rest in _split_keys(table, (), lambda p: p in {("pinned_images",), ("cni",)}):
            where = _option_path(("plugins", plugin) + rest)
            home = _schema2_home(plugin, rest)
            if home is None:
                errors.append(f"{where} is a containerd 2.x (config version 3) setting that {intro} does not "
                              f"have; remove it, or target containerd 2.x.")
            else:
                one_dir = " (a single directory)" if rest[:2] == ("cni", "bin_dirs") else ""
                errors.append(f"{where} is where containerd 2.x (config version 3) keeps this setting; {intro}, "
                              f"where it is {_dotted(home)}{one_dir}. Move the value there.")
    for old, new in _RENAMED_PLUGINS.items():
        if new in plugins:
            errors.append(f"{_option_path(('plugins', new))} is the containerd 2.x name of this plugin; {intro}, "
                          f"where it is {_dotted(('plugins', old))}. Move the value there.")


def _check_kinds(overrides: Mapping[str, t.Any], defaults: Mapping[str, t.Any], path: _Path,
                 errors: list[str]) -> None:
    """Report values whose type differs from containerd's default for the same key (keys it lacks are free)."""
    for key, value in overrides.items():
        if value is None or key not in defaults or path + (key,) == ("version",):
            continue
        expected, found = _kind(defaults[key]), _kind(value)
        if found is None:
            continue  # already reported by _check_toml_values
        where = _option_path(path + (key,))
        if expected != found:
            example = "" if expected in ("table", "array") else f" (containerd's default is {defaults[key]!r})"
            quote = " Quote the value in YAML." if expected == "string" and found in ("number", "boolean") else ""
            errors.append(f"{where} must be {_KIND_NOUNS[expected]}{example}; got {_KIND_NOUNS[found]}.{quote}")
        elif expected == "table":
            _check_kinds(value, defaults[key], path + (key,), errors)


def _check_cni_bin_dirs(version: str, series: str, overrides: Mapping[str, t.Any], errors: list[str]) -> None:
    schema = _SCHEMA_BY_SERIES[series]
    cni_path = _CNI_PATH[schema]
    if series != "2.1":
        if isinstance(_lookup(overrides, cni_path), Mapping) and "bin_dirs" in _lookup(overrides, cni_path):
            errors.append(f"{_option_path(cni_path + ('bin_dirs',))} needs containerd 2.1 or later; containerd "
                          f"{version} ignores it. Set {_dotted(cni_path + ('bin_dir',))} to one directory instead.")
        return
    cni = _lookup(merge(default_config(version), overrides), cni_path)
    if not isinstance(cni, Mapping):
        return
    bin_dirs = cni.get("bin_dirs")
    if cni.get("bin_dir") and bin_dirs and bin_dirs != _default_bin_dirs():
        errors.append(f"{_option_path(cni_path)} sets both bin_dir and bin_dirs; containerd {version} refuses to "
                      "start with both. Set only bin_dirs (bin_dir is deprecated since containerd 2.1).")
