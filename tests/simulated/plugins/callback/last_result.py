# Test helper: never shipped (galaxy.yml build_ignore keeps tests/ out).
"""Callback plugin: keep each host's last task result as JSON, for the playbook tests."""

from __future__ import annotations

DOCUMENTATION = r"""
name: last_result
type: aggregate
short_description: Write each host's last task result to a JSON file
description:
  - Writes C(<dir>/<host>) after every task, so a test can read what the last task returned.
requirements:
  - enabled in callbacks_enabled
options:
  directory:
    description: Folder of the result files.
    env:
      - name: WCOW_RESULTS_DIR
    required: true
"""

import json
import os

from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "last_result"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, result) -> None:
        directory = self.get_option("directory")
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, result._host.get_name()), "w", encoding="utf-8") as out:
            json.dump(result._result, out, cls=AnsibleJSONEncoder)

    def v2_runner_on_ok(self, result) -> None:
        self._write(result)

    def v2_runner_on_failed(self, result, ignore_errors: bool = False) -> None:
        self._write(result)

    def v2_runner_on_unreachable(self, result) -> None:
        self._write(result)
