#!/usr/bin/python
# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file only documents the module: the work happens in plugins/action/controller_check.py.

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: controller_check
short_description: Check that the controller has every Python package the play needs
version_added: 0.1.0
description:
  - Runs on the controller only and contacts no host. Imports what the connections of the given hosts need
    (C(pywinrm) for V(winrm), C(pypsrp) for V(psrp), C(gssapi)/C(requests_credssp) for Kerberos/CredSSP
    transports) and what this collection's plugins need (C(httpx), C(cryptography), C(tomli-w)).
  - Fails once, listing every missing package with the hosts' connection that needs it and the C(pip install)
    command that fixes it, instead of one failure per run.
  - The playbooks C(wcow.buildkit.site), C(wcow.buildkit.upgrade) and C(wcow.buildkit.uninstall) run it first.
author:
  - wcow.buildkit contributors (@wcow-buildkit)
attributes:
  check_mode:
    support: full
    description: Changes nothing in any mode.
  diff_mode:
    support: none
    description: Nothing to compare.
  platform:
    description: Runs on the controller; contacts no host.
    support: full
    platforms: all
options:
  hosts:
    description:
      - Hosts whose connection settings (C(ansible_connection), C(ansible_winrm_transport)) say what is needed.
      - Defaults to every host of the play.
    type: list
    elements: str
notes:
  - Use with O(ignore:run_once=true); the check is the same for every host.
"""

EXAMPLES = r"""
- name: Check the controller before touching any host
  wcow.buildkit.controller_check:
  run_once: true
"""

RETURN = r"""
checked:
  description: PyPI packages that were looked for.
  returned: always
  type: list
  elements: str
  sample: [cryptography, httpx, pywinrm, requests, tomli-w]
missing:
  description: PyPI packages that could not be imported.
  returned: always
  type: list
  elements: str
  sample: [pywinrm]
"""
