# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the collection tarball, install it, and check what users get from it.

1. `ansible-galaxy collection build` (galaxy.yml's build_ignore decides what ships);
2. `ansible-galaxy collection install` of that tarball into a temporary path
   (--no-deps: ansible.windows is linked in from .collections/, never Galaxy);
3. `ansible-doc` renders every module of plugins/modules/ (and every role with an
   argument spec) from the installed copy, which must be where the doc came from;
4. `ansible-playbook wcow.buildkit.<name> --syntax-check` of site, upgrade and uninstall from the installed copy.

Usage: python tests/tools/check_package.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from install_collections import link_dependencies  # same folder: the collections make setup extracted

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
FQCN = "wcow.buildkit"
PLAYBOOKS = ("site", "upgrade", "uninstall")  # playbooks/<name>.yml, run as wcow.buildkit.<name>

INVENTORY = """\
all:
  children:
    windows_builders:
      hosts:
        builder1.example.com:
    buildx_clients:
      hosts:
        client1.example.com:
"""


class CheckFailed(Exception):
    pass


def run(cmd: list[str], cwd: pathlib.Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise CheckFailed(f"`{' '.join(cmd)}` failed (rc {proc.returncode})\n{proc.stdout}{proc.stderr}")
    return proc


def module_names(root: pathlib.Path) -> list[str]:
    return sorted(p.stem for p in (root / "plugins" / "modules").glob("*.py") if p.name != "__init__.py")


def role_names(root: pathlib.Path) -> list[str]:
    return sorted(p.parent.parent.name for p in (root / "roles").glob("*/meta/argument_specs.y*ml"))


def environment(collections: pathlib.Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATHS"):
        env.pop(name, None)
    env.update({
        # Only the installed copy and its dependencies; never this checkout through .collections.
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOME": str(collections.parent / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(collections.parent / "tmp"),
    })
    return env


def check(work: pathlib.Path) -> list[str]:
    """Run every check in `work`; returns what was checked, raises CheckFailed on the first problem."""
    done: list[str] = []
    collections = work / "collections"
    env = environment(collections)
    dist = work / "dist"
    # cwd=work: the repository's ansible.cfg must not point ansible at .collections.
    run([str(BIN / "ansible-galaxy"), "collection", "build", str(REPO), "--output-path", str(dist)], work, env)
    tarballs = sorted(dist.glob("wcow-buildkit-*.tar.gz"))
    if len(tarballs) != 1:
        raise CheckFailed(f"expected one wcow-buildkit tarball in {dist}, found {[t.name for t in tarballs]}")
    done.append(f"built {tarballs[0].name} ({tarballs[0].stat().st_size // 1024} KiB)")

    run([str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(collections),
         str(tarballs[0])], work, env)
    installed = collections / "ansible_collections" / "wcow" / "buildkit"
    if not (installed / "MANIFEST.json").is_file():
        raise CheckFailed(f"installing {tarballs[0].name} left no MANIFEST.json in {installed}")
    try:
        link_dependencies(REPO, collections)
    except FileNotFoundError as exc:
        raise CheckFailed(str(exc)) from None
    done.append(f"installed into {collections}")

    modules = module_names(REPO)
    missing = [m for m in modules if not (installed / "plugins" / "modules" / f"{m}.py").is_file()]
    if missing:
        raise CheckFailed(f"modules in plugins/modules/ but not in the tarball: {', '.join(missing)} (see build_ignore)")
    for kind, names in (("module", modules), ("role", role_names(REPO))):
        for name in names:
            fqcn = f"{FQCN}.{name}"
            text = run([str(BIN / "ansible-doc"), "-t", kind, fqcn], work, env)
            if not text.stdout.strip() or "[ERROR]" in text.stderr or "[WARNING]" in text.stderr:
                raise CheckFailed(f"ansible-doc -t {kind} {fqcn} did not render cleanly:\n{text.stdout}{text.stderr}")
            if kind == "role" and "EXAMPLES:" not in text.stdout:
                raise CheckFailed(f"ansible-doc -t role {fqcn} shows no EXAMPLES (argument_specs main.examples)")
            if kind == "module":
                doc = json.loads(run([str(BIN / "ansible-doc"), "--json", "-t", kind, fqcn], work, env).stdout)
                origin = pathlib.Path(doc[fqcn]["doc"]["filename"]).resolve()
                if not origin.is_relative_to(installed.resolve()):
                    raise CheckFailed(f"ansible-doc read {fqcn} from {origin}, not from the installed copy {installed}")
        done.append(f"ansible-doc rendered {len(names)} {kind}(s): {', '.join(names) or '(none yet)'}")

    inventory = work / "inventory.yml"
    inventory.write_text(INVENTORY)
    for playbook in PLAYBOOKS:
        run([str(BIN / "ansible-playbook"), "-i", str(inventory), f"{FQCN}.{playbook}", "--syntax-check"], work, env)
        done.append(f"ansible-playbook {FQCN}.{playbook} --syntax-check passed")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=pathlib.Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args(argv)
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        args.keep.mkdir(parents=True)
        work_dir = args.keep.resolve()
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="wcow-package-")
        work_dir = pathlib.Path(cleanup.name)
    try:
        for line in check(work_dir):
            print(f"package: {line}")
    except CheckFailed as exc:
        print(f"package: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if cleanup is not None:
            cleanup.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
