"""The lock (packaging/lock.txt): every package of the runtime, dev and package extras at
one exact version, which `make run`, `make test` and `make package` install through.
Held here to pyproject.toml, to the venv the tests run in (what pip really installed,
read from its metadata), and to the commands make really runs."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "packaging" / "lock.txt"
# The venv's own tools, which `pip freeze` leaves out: no dependency of ours.
VENV_TOOLS = {"pip", "setuptools", "wheel"}


def _locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in LOCK.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.strip())
        assert match, f"not an exact pin: {line!r}"
        name = canonicalize_name(match[1])
        assert name not in pins, f"{name} locked twice"
        pins[name] = Version(match[2])
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    extras = project.get("optional-dependencies", {}).values()
    return [Requirement(r) for r in [*project["dependencies"], *(r for e in extras for r in e)]]


def _installed() -> dict[str, str]:
    """{name: version} of what this interpreter imports (the first of a name on sys.path)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        found.setdefault(canonicalize_name(dist.metadata["Name"]), dist.version)
    return found


def test_every_pyproject_requirement_is_locked_inside_its_specifier():
    locked = _locked()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in the lock: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"the lock's {name}=={locked[name]} is outside {requirement}: run `make lock`"
        )


def test_every_installed_package_is_the_locked_version():
    """What pip installed into this venv, read from each package's own metadata: nothing the
    lock misses (a dependency added without `make lock`), nothing at another version (an
    install that bypassed the lock)."""
    locked = _locked()
    installed = _installed()
    ours = canonicalize_name("latent-studio")
    assert ours in installed, "the tests run in the project's venv"
    missing = sorted(set(installed) - set(locked) - VENV_TOOLS - {ours})
    assert not missing, f"installed but not locked (run `make lock`): {missing}"
    other = {
        name: (version, str(locked[name]))
        for name, version in installed.items()
        if name in locked and Version(version) != locked[name]
    }
    assert not other, f"installed at another version than the lock's: {other}"


@pytest.mark.parametrize("target", ["run", "test", "package"])
def test_make_installs_every_target_through_the_lock(target):
    """The commands make would run for a fresh venv (`make -n -B`): every `pip install` of
    the project's dependencies is constrained by the lock."""
    dry = subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert dry.returncode == 0, dry.stderr
    installs = [
        line
        for line in dry.stdout.splitlines()
        if "pip install" in line and not line.rstrip().endswith("--upgrade pip")
    ]
    assert any("-e ." in line for line in installs), dry.stdout  # the project itself
    for line in installs:
        assert f"-c {LOCK.relative_to(ROOT)}" in line, line
