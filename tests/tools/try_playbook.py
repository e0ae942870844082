"""`make try PLAYBOOK=play.yml`: run your own playbook against the simulated Windows hosts.

For an infrastructure repository's playbook that includes this collection's roles: it runs
against the same simulated hosts and local release server as `make demo`, so variables,
check mode and upgrades can be tried before a real host is touched.

- Hosts: tests/simulated/inventory/hosts.yml (group `windows_builders`: a Windows Server 2022 and a
  Windows 11 host), or INVENTORY=your/inventory.yml: then an overlay inventory makes every host of
  `windows_builders` a simulated one (connection variables set on a host itself, or in a
  group_vars/ file next to your inventory, still win: point those at the simulator yourself).
- Releases: containerd and buildkit archives come from a fake GitHub on 127.0.0.1, handed to the
  roles as extra variables (`containerd_github_api_url`, ... see release_vars() in demo.py); it
  serves containerd 1.7.6 to 2.3.4 and buildkit 0.12.5 to 0.24.0, so pin an older version, run,
  then a newer one to try an upgrade.
- State: the hosts' state is kept in build/try/state/ between runs (`make try-reset` starts over).

Usage: python tests/tools/try_playbook.py PLAYBOOK [--inventory FILE] [-- ansible-playbook args...]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

import demo  # same folder: the demo's simulated environment and release variables

REPO = demo.REPO
TRY_DIR = pathlib.Path(os.environ.get("WCOW_TRY_DIR") or REPO / "build" / "try")
STATE_DIR = TRY_DIR / "state"
OVERLAY = {"all": {"children": {"windows_builders": {"vars": {
    "ansible_connection": "simulated_windows", "ansible_shell_type": "powershell"}}}}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("playbook", type=pathlib.Path, help="your playbook (relative to the repository root or absolute)")
    parser.add_argument("--inventory", type=pathlib.Path, help="your inventory (default: the simulated hosts)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="more ansible-playbook arguments, after --")
    opts = parser.parse_args(argv)
    playbook = opts.playbook if opts.playbook.is_absolute() else pathlib.Path.cwd() / opts.playbook
    if not playbook.is_file():
        print(f"make try: PLAYBOOK={opts.playbook} is not a file; give the path of your playbook, "
              "e.g. make try PLAYBOOK=playbooks/site.yml", file=sys.stderr)
        return 2
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    inventories = ["-i", str(demo.INVENTORY)]
    if opts.inventory:
        overlay = TRY_DIR / "simulated-overlay.json"
        overlay.write_text(json.dumps(OVERLAY))
        inventories = ["-i", str(opts.inventory.resolve()), "-i", str(overlay)]
    extra = [a for a in opts.args if a != "--"]
    server = demo.fake_github.start(demo.RELEASES)
    try:
        release = TRY_DIR / "release-vars.json"
        release.write_text(json.dumps(demo.release_vars(server, TRY_DIR / "downloads")))
        print(f"== make try: {playbook} on simulated hosts (state in {STATE_DIR}); "
              f"releases from a fake GitHub at {server.base_url}")
        cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), *inventories,
               "-e", f"@{release}", str(playbook), *extra]
        rc = subprocess.run(cmd, cwd=REPO, env=demo.simulated_env(STATE_DIR), check=False).returncode
    finally:
        server.stop()
    demo.summary(STATE_DIR)
    print(f"== make try: ansible-playbook exited {rc}; `make try-reset` forgets the simulated hosts")
    return rc


if __name__ == "__main__":
    sys.exit(main())
