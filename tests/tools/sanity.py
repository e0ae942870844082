# Copyright (c) wcow.buildkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run `ansible-test sanity` on this repository, offline apart from PyPI.

ansible-test wants the collection under `.../ansible_collections/wcow/buildkit`
and its dependencies in the same tree, so the files git knows about (tracked,
plus untracked ones not ignored) are copied to
`build/sanity/ansible_collections/wcow/buildkit` (a git repository of its own,
so ansible-test lists exactly those files) and ansible.windows is linked next to
it from `.collections/` (made by `make setup`).

The offline part: ansible-test gives each sanity test its own virtual
environment, created without pip, and bootstraps pip into it with a get-pip
script it downloads from ci-files.testing.ansible.com (unreachable from CI).
It first looks for that script in `~/.ansible/test/cache/get_pip_<version>.py`
(see ansible_test/_util/target/setup/requirements.py, `bootstrap()`), so we put
our own there: it installs pip from the pip wheel that `pip download` fetched
from PyPI, the same way get-pip does from its embedded copy.  To keep that file
and the per-test venvs out of the user's real home, ansible-test runs with HOME
set to `.cache/ansible-test-home` (kept between runs, so the venvs are reused);
pip's own config and cache stay where they were through XDG_CONFIG_HOME and
XDG_CACHE_HOME.

Usage: python tests/tools/sanity.py [extra ansible-test sanity arguments]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import types

from install_collections import link_dependencies  # same folder: the collections make setup extracted

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD_ROOT = REPO / "build" / "sanity"
COLLECTION_DIR = BUILD_ROOT / "ansible_collections" / "wcow" / "buildkit"
TEST_HOME = REPO / ".cache" / "ansible-test-home"
WHEELS = REPO / ".cache" / "wheels"
PYTHON = "3.11"

# Tests that cannot run here; everything else runs.
SKIPPED = {
    # Runs PSScriptAnalyzer under pwsh: pwsh is not in Debian's archive and its
    # download hosts are unreachable from CI; tests/tools/ps_grammar.py parses our
    # scripts instead.
    "pslint": "needs pwsh",
}

# Our get-pip stand-in: same command line as get-pip.py (pip install arguments
# plus --no-setuptools/--no-wheel), pip imported from a wheel instead of a blob.
GET_PIP_TEMPLATE = '''\
"""Offline stand-in for get-pip.py, written by wcow.buildkit tests/tools/sanity.py."""
import sys

sys.path.insert(0, {wheel!r})
from pip._internal.cli.main import main  # noqa: E402

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", "--find-links", {wheels!r}, *args]))
'''


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kwargs)


def source_files() -> list[pathlib.Path]:
    """Files git tracks or would track (untracked, not ignored), that exist, minus .collections."""
    out = _run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
               capture_output=True).stdout.decode()
    files = []
    for name in sorted(set(filter(None, out.split("\0")))):
        if name.split("/", 1)[0] == ".collections":
            continue
        if (REPO / name).is_file() or (REPO / name).is_symlink():
            files.append(pathlib.Path(name))
    return files


def stage_collection() -> None:
    shutil.rmtree(BUILD_ROOT, ignore_errors=True)
    for name in source_files():
        target = COLLECTION_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target, follow_symlinks=False)
    # ansible-test lists a collection's files with git when it finds a .git on the
    # way up; without its own repository here it would find ours, which ignores build/.
    _run(["git", "init", "--quiet", str(COLLECTION_DIR)])
    _run(["git", "-C", str(COLLECTION_DIR), "add", "--all", "--force", "."])
    try:
        link_dependencies(REPO, BUILD_ROOT)
    except FileNotFoundError as exc:
        raise SystemExit(f"sanity: {exc}") from None


def bootstrap_pip_version() -> str:
    """The pip version ansible-test bootstraps into its venvs (24.2 for ansible-core 2.19)."""
    from ansible_test._internal.python_requirements import get_venv_packages

    return get_venv_packages(types.SimpleNamespace(version=PYTHON))["pip"]


def prepare_offline_get_pip() -> None:
    version = bootstrap_pip_version()
    wheels = sorted(WHEELS.glob(f"pip-{version}-*.whl"))
    if not wheels:
        WHEELS.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
              "--dest", str(WHEELS), f"pip=={version}"])
        wheels = sorted(WHEELS.glob(f"pip-{version}-*.whl"))
    cache = TEST_HOME / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    script = cache / f"get_pip_{version.replace('.', '_')}.py"
    script.write_text(GET_PIP_TEMPLATE.format(wheel=str(wheels[0]), wheels=str(WHEELS)))


def test_environment() -> dict[str, str]:
    env = dict(os.environ)
    real_home = pathlib.Path.home()
    env.setdefault("XDG_CONFIG_HOME", str(real_home / ".config"))
    env.setdefault("XDG_CACHE_HOME", str(real_home / ".cache"))
    legacy_pip_conf = real_home / ".pip" / "pip.conf"
    if legacy_pip_conf.is_file():
        env.setdefault("PIP_CONFIG_FILE", str(legacy_pip_conf))
    env["HOME"] = str(TEST_HOME)
    # Sanity tests of a collection must not pick up the repository's ansible.cfg.
    env.pop("ANSIBLE_CONFIG", None)
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    extra = parser.parse_known_args(argv)[1]  # the rest goes to ansible-test sanity
    stage_collection()
    prepare_offline_get_pip()
    cmd = [str(pathlib.Path(sys.executable).parent / "ansible-test"), "sanity", "--python", PYTHON, "--color", "no"]
    for test in sorted(SKIPPED):
        cmd += ["--skip-test", test]
    cmd += extra
    print(f"sanity: {' '.join(cmd)} (in {COLLECTION_DIR.relative_to(REPO)}; skipped: "
          + ", ".join(f"{test} ({why})" for test, why in sorted(SKIPPED.items())) + ")", flush=True)
    return subprocess.run(cmd, cwd=COLLECTION_DIR, env=test_environment(), check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
