"""Domain code takes ``now`` from the runtime's clock: a lint over the modules where a
direct read of the wall clock once made the dialog and the store disagree about the time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from voiceagent.config import REPO_ROOT

# Packages whose every decision must use the injected clock.
CLOCK_FREE = (
    "voiceagent/store/repos",
    "voiceagent/dialog",
    "voiceagent/handoff",
    "voiceagent/understanding",
    "voiceagent/web",
)
# Calls that read the wall clock, by their last two name parts.
WALL_CLOCK = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("ids", "utcnow"),
    ("", "utcnow"),
    ("", "system_clock"),
}


def wall_clock_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            owner_name = (
                owner.id
                if isinstance(owner, ast.Name)
                else owner.attr
                if isinstance(owner, ast.Attribute)
                else ""
            )
            key = (owner_name, func.attr)
        elif isinstance(func, ast.Name):
            key = ("", func.id)
        else:
            continue
        if key in WALL_CLOCK:
            where = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
            found.append(f"{where}:{node.lineno}: {'.'.join(filter(None, key))}()")
    return found


# Operators' commands run outside any server: the real time is their moment.
COMMAND_MODULES = {"cli.py"}


def modules() -> list[Path]:
    return sorted(
        p
        for d in CLOCK_FREE
        for p in (REPO_ROOT / d).rglob("*.py")
        if p.name not in COMMAND_MODULES
    )


def test_the_lint_sees_the_modules_it_guards() -> None:
    names = {p.name for p in modules()}
    assert {"slots.py", "appointments.py", "engine.py", "policy.py"} <= names


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime\nx = datetime.now()\n",
        "import datetime\nx = datetime.date.today()\n",
        "from voiceagent.store.ids import utcnow\nx = utcnow()\n",
        "import time\nx = time.time()\n",
    ],
)
def test_the_lint_catches_a_wall_clock_read(tmp_path: Path, source: str) -> None:
    bad = tmp_path / "probe.py"
    bad.write_text(source)
    assert wall_clock_calls(bad)


def test_domain_code_never_reads_the_wall_clock() -> None:
    found = [hit for path in modules() for hit in wall_clock_calls(path)]
    assert not found, "take `now` from the runtime's clock instead:\n" + "\n".join(found)
