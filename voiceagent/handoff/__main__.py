"""``python -m voiceagent.handoff``: check the policy file, or try a sentence against it.

    python -m voiceagent.handoff validate [dialogs/policy.yaml]
    python -m voiceagent.handoff try "my chest feels tight" [--policy FILE]

For clinic admins editing ``policy.yaml`` by hand; the lead's ``voiceagent flows validate``
runs the same check through :func:`validate_policy_file`. Nothing here is logged: a tried
sentence is printed back to the person who typed it and nowhere else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from voiceagent.handoff import POLICY_FILENAME, PolicyEngine, load_policy, validate_policy_file
from voiceagent.handoff.loader import PolicyError


def _default_policy() -> Path:
    from voiceagent.config import Settings

    return Settings().dialogs_dir / POLICY_FILENAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voiceagent.handoff")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check policy.yaml and list every problem")
    validate.add_argument("policy", nargs="?", type=Path, help="default: the dialogs directory's")
    attempt = commands.add_parser("try", help="show what the policy makes of a sentence")
    attempt.add_argument("text", help="what a caller might say")
    attempt.add_argument("--policy", type=Path, help="default: the dialogs directory's")
    args = parser.parse_args(argv)
    path: Path = args.policy or _default_policy()

    if args.command == "validate":
        problems = validate_policy_file(path)
        for problem in problems:
            print(problem)
        print(f"{path}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0

    try:
        engine = PolicyEngine(load_policy(path))
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        return 1
    for explanation in engine.explain(args.text):
        status = "counts" if explanation.counts else "does not count (denied or unsure)"
        kind, category = explanation.kind.value, explanation.category
        print(f"  {kind:13} {category:20} {status}: {explanation.evidence}")
    finding = engine.assess(args.text)
    if finding is None:
        print("Result: nothing; the agent carries on.")
        return 0
    print(f"Result: {finding.kind.value} / {finding.category} -> {finding.action.value}")
    print(f"Reason for staff: {finding.reason}")
    for sentence in finding.say:
        print(f"Agent says: {sentence}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
