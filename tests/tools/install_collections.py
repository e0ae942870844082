# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install the collections `make test` and `make demo` need, without Galaxy.

Galaxy may be unreachable from CI machines, while the `ansible` package on PyPI
bundles every collection we depend on.  We download that wheel once (no deps),
extract only the collections we need into `.collections/`, and link this
repository in as `wcow.buildkit` so `ansible-playbook site.yml` finds it.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

ANSIBLE_WHEEL_VERSION = "12.3.0"
NEEDED = ("ansible/windows",)


def _download_wheel(cache: pathlib.Path) -> pathlib.Path:
    wheels = sorted(cache.glob(f"ansible-{ANSIBLE_WHEEL_VERSION}-*.whl"))
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--dest", str(cache), f"ansible=={ANSIBLE_WHEEL_VERSION}"],
            check=True,
        )
        wheels = sorted(cache.glob(f"ansible-{ANSIBLE_WHEEL_VERSION}-*.whl"))
    return wheels[0]


def _extract(wheel: pathlib.Path, dest: pathlib.Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for collection in NEEDED:
            prefix = f"ansible_collections/{collection}/"
            target = dest / "ansible_collections" / collection
            if (target / "MANIFEST.json").exists():
                continue
            shutil.rmtree(target, ignore_errors=True)
            for name in archive.namelist():
                if name.startswith(prefix) and not name.endswith("/"):
                    archive.extract(name, dest)


def _link_self(repo: pathlib.Path, dest: pathlib.Path) -> None:
    link = dest / "ansible_collections" / "wcow" / "buildkit"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        return
    os.symlink(os.path.relpath(repo, link.parent), link)


def link_dependencies(repo: pathlib.Path, collections_root: pathlib.Path) -> None:
    """Link the collections we depend on (extracted by `make setup`) into another collections root."""
    for collection in NEEDED:
        source = repo / ".collections" / "ansible_collections" / collection
        if not (source / "MANIFEST.json").is_file():
            raise FileNotFoundError(f"{source} is missing; run `make setup` first")
        link = collections_root / "ansible_collections" / collection
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(source, target_is_directory=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repo", default=".", help="repository root")
    args = parser.parse_args()
    repo = pathlib.Path(args.repo).resolve()
    dest = repo / ".collections"
    _extract(_download_wheel(repo / ".cache" / "wheels"), dest)
    _link_self(repo, dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
