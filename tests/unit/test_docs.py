"""The README and the code tell the same story about configuration and commands."""

from __future__ import annotations

import re

from voiceagent.config import REPO_ROOT, Settings

README = (REPO_ROOT / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme() -> None:
    documented = set(re.findall(r"VOICEAGENT_[A-Z0-9_]+", README))
    missing = {f"VOICEAGENT_{name.upper()}" for name in Settings.model_fields} - documented
    assert not missing, f"README lacks {sorted(missing)}"


def test_readme_gives_the_two_setup_commands_and_ci_runs_the_test_command() -> None:
    assert "make run" in README and "make test" in README
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
