# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by every module that installs a release archive (internal).

`DOCUMENTATION` holds what every project shares; a module adds the fragment of its own project
(`artifact_source.containerd`, `.buildkit` or `.cni`) for version, archive_path and checksum, so its page
names only its own release files and minimum version.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  source:
    description:
      - Where the archive is downloaded.
      - V(controller) downloads it once on the controller into O(cache_dir), verifies it, then copies it
        to each host; hosts need no internet access.
      - V(host) makes each host download it from O(download_base_url) (through O(download_proxy) if set)
        and verify the digest itself before using it. The controller still reads the release's small
        checksum file (and the API for V(latest)) unless O(checksum) is set.
    type: str
    choices: [controller, host]
    default: controller
  verify_checksum:
    description:
      - Set to V(false) to install an archive whose digest cannot be checked. Every run then prints a
        warning. Cannot be combined with O(checksum).
    type: bool
    default: true
  include_prereleases:
    description:
      - Let O(version=latest) pick prereleases (release candidates) too.
    type: bool
    default: false
  github_api_url:
    description:
      - Base URL of the GitHub REST API used to resolve O(version=latest).
      - For GitHub Enterprise Server use V(https://HOST/api/v3).
    type: str
    default: https://api.github.com
  download_base_url:
    description:
      - Where release files are downloaded from. A plain base maps like GitHub,
        V({download_base_url}/{owner}/{repo}/releases/download/{tag}/{file}), which suits GitHub
        Enterprise and repository managers that proxy GitHub (Artifactory, Nexus).
      - A base containing placeholders is used as a template, for flat mirrors and plain file
        servers, for example V(https://files.example.com/wcow/{asset}). Placeholders are V({owner}),
        V({repo}), V({tag}) (V(v1.7.29)), V({version}) (V(1.7.29)) and V({asset}) (the file name;
        checksum and attestation files are fetched by the same template with their own names).
    type: str
    default: https://github.com
  github_token:
    description:
      - A GitHub token for the API (higher rate limit, GitHub Enterprise). When not set, the
        E(GITHUB_TOKEN) environment variable of the controller is used.
      - "Sent only as an C(Authorization: Bearer) header to O(github_api_url); never logged."
    type: str
  cache_dir:
    description:
      - Controller folder of downloaded archives, keyed by digest and shared by all hosts and runs.
        A cached file is verified again before each use and replaced if it is corrupt.
    type: path
    default: ~/.cache/wcow.buildkit
  download_proxy:
    description:
      - Proxy URL the hosts use to download with O(source=host), for example V(http://proxy:3128).
      - Downloads on the controller use the controller's usual proxy environment variables.
    type: str
  validate_certs:
    description:
      - Set to V(false) to skip TLS certificate checks of the API and download servers (on the
        controller, and on the hosts with O(source=host)). Only for servers you trust.
    type: bool
    default: true
"""

    CONTAINERD = r"""
options:
  version:
    description:
      - The containerd release to install, as V(X.Y.Z) (a leading V(v) is accepted, a prerelease suffix such as
        V(2.1.0-rc.1) too), or V(latest).
      - V(latest) asks the GitHub releases API on the controller once per playbook run and picks the
        highest version among published releases that have the Windows archive (prereleases only with
        O(include_prereleases)). A mirror without an API needs a pinned version.
      - A version that is not a published release fails naming the nearest published ones.
      - Versions older than containerd 1.7.7 are refused.
      - With O(archive_path) and V(latest), the version is read from the archive's release file name.
    type: str
    default: latest
  archive_path:
    description:
      - A containerd release archive already on the controller, for air-gapped sites; it is verified and
        copied to the hosts. Nothing is downloaded.
      - It is verified with O(checksum) or, when that is not set, with the release's checksum file
        kept beside it under its release name (V(<archive>.sha256sum)).
      - Cannot be combined with O(source=host).
    type: path
  checksum:
    description:
      - The archive's expected digest, as V(sha256:<hex>), V(sha512:<hex>) or bare hex.
      - Always wins over the digest the release publishes (containerd's V(.sha256sum) file).
      - A mismatch fails before anything on the host changes and shows the expected and actual digests
        and the URL.
    type: str
"""

    BUILDKIT = r"""
options:
  version:
    description:
      - The BuildKit release to install, as V(X.Y.Z) (a leading V(v) is accepted, a prerelease suffix such as
        V(0.25.0-rc.1) too), or V(latest).
      - V(latest) asks the GitHub releases API on the controller once per playbook run and picks the
        highest version among published releases that have the Windows archive (prereleases only with
        O(include_prereleases)). A mirror without an API needs a pinned version.
      - A version that is not a published release fails naming the nearest published ones.
      - Versions older than BuildKit 0.13.0 are refused.
      - With O(archive_path) and V(latest), the version is read from the archive's release file name.
    type: str
    default: latest
  archive_path:
    description:
      - A BuildKit release archive already on the controller, for air-gapped sites; it is verified and
        copied to the hosts. Nothing is downloaded.
      - It is verified with O(checksum) or, when that is not set, with the release's checksum file
        kept beside it under its release name (the V(.provenance.json) or V(.sbom.json) statement).
      - Cannot be combined with O(source=host).
    type: path
  checksum:
    description:
      - The archive's expected digest, as V(sha256:<hex>), V(sha512:<hex>) or bare hex.
      - Always wins over the digest the release publishes (BuildKit publishes no checksum file, so it is the
        V(sha256) subject digest of its in-toto V(.provenance.json) or V(.sbom.json) statement).
      - A mismatch fails before anything on the host changes and shows the expected and actual digests
        and the URL.
    type: str
"""

    CNI = r"""
options:
  version:
    description:
      - The Windows CNI plugins release to install, as V(X.Y.Z) (a leading V(v) is accepted, a prerelease suffix such as
        V(0.4.0-rc.1) too), or V(latest).
      - V(latest) asks the GitHub releases API on the controller once per playbook run and picks the
        highest version among published releases that have the Windows archive (prereleases only with
        O(include_prereleases)). A mirror without an API needs a pinned version.
      - A version that is not a published release fails naming the nearest published ones.
      - Versions older than Windows CNI plugins 0.3.0 are refused.
      - With O(archive_path) and V(latest), the version is read from the archive's release file name.
    type: str
    default: latest
  archive_path:
    description:
      - A Windows CNI plugins release archive already on the controller, for air-gapped sites; it is verified and
        copied to the hosts. Nothing is downloaded.
      - It is verified with O(checksum) or, when that is not set, with the release's checksum file
        kept beside it under its release name (V(<archive>.sha256), else V(<archive>.sha512)).
      - Cannot be combined with O(source=host).
    type: path
  checksum:
    description:
      - The archive's expected digest, as V(sha256:<hex>), V(sha512:<hex>) or bare hex.
      - Always wins over the digest the release publishes (V(.sha256), else V(.sha512); the file-name field may read V(./release/<zip>)).
      - A mismatch fails before anything on the host changes and shows the expected and actual digests
        and the URL.
    type: str
"""
