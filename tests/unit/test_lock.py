"""requirements.lock, which `make install` installs from, is in step with pyproject.toml.

After changing a dependency in pyproject.toml, `make lock` regenerates the lock.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from voiceagent.config import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
LOCK_TEXT = (REPO_ROOT / "requirements.lock").read_text()
SHA256 = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def _lock_lines() -> list[str]:
    """The lock's requirement lines, continuation lines joined and comments dropped."""
    lines = []
    for line in LOCK_TEXT.replace("\\\n", " ").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def _lock() -> dict[str, tuple[Version, list[str]]]:
    """Canonical name -> (pinned version, hash options)."""
    pins: dict[str, tuple[Version, list[str]]] = {}
    for line in _lock_lines():
        requirement, *options = line.split()
        name, pinned, version = requirement.partition("==")
        if pinned and not line.startswith("-"):  # anything else fails the test below
            pins[canonicalize_name(name)] = (Version(version), options)
    return pins


LOCK = _lock()
DECLARED = [
    Requirement(text)
    for text in PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["dev"]
]


def test_every_lock_line_is_a_hashed_pin_from_the_index() -> None:
    for line in _lock_lines():
        # No options (index URLs, find-links, -e) and no direct or local references: every
        # package comes from the index pip is configured with, as name==version + hashes.
        assert not line.startswith("-"), f"option in the lock: {line}"
        requirement, *options = line.split()
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][A-Za-z0-9.+!-]*", requirement), (
            f"not an exact pin: {line}"
        )
        assert options, f"{requirement} has no hashes"
        assert all(SHA256.fullmatch(option) for option in options), (
            f"{requirement}: {[o for o in options if not SHA256.fullmatch(o)]}"
        )


@pytest.mark.parametrize("requirement", DECLARED, ids=str)
def test_each_declared_dependency_is_pinned_within_its_range(requirement: Requirement) -> None:
    name = canonicalize_name(requirement.name)
    assert name in LOCK, f"{requirement} is not in requirements.lock: run `make lock`"
    version, _ = LOCK[name]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"requirements.lock pins {name}=={version}, outside {requirement}: run `make lock`"
    )


@pytest.mark.parametrize("requirement", [r for r in DECLARED if r.extras], ids=str)
def test_the_extras_we_ask_for_are_locked_too(requirement: Requirement) -> None:
    # The lock lists packages without extras, so what `uvicorn[standard]` adds must be there
    # by name. The installed metadata says what each extra needs on this platform.
    missing = []
    for text in metadata.requires(requirement.name) or []:
        needed = Requirement(text)
        if needed.marker is None:
            continue
        wanted = any(needed.marker.evaluate({"extra": extra}) for extra in requirement.extras)
        if wanted and canonicalize_name(needed.name) not in LOCK:
            missing.append(str(needed))
    assert not missing, f"{requirement} needs {missing}, not in requirements.lock"


def test_the_environment_runs_exactly_the_locked_versions() -> None:
    # What these tests run on is what a clean clone installs. If this fails, the virtualenv
    # predates the lock: `make install` brings it in step.
    drift = {}
    for name, (version, _) in LOCK.items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            drift[name] = f"locked {version}, installed {installed}"
    assert not drift, drift
