"""Training phrases from the YAML files admins edit.

Each flow file (``dialogs/flows/*.yaml``) and pattern file (``dialogs/patterns/*.yaml``)
carries ``flow`` and ``intent.examples``; the dialog engine owns every other key, so they are
ignored here. ``dialogs/out-of-scope.yaml`` lists ``examples`` that are no intent at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

INTENT_DIRS = ("flows", "patterns")
OUT_OF_SCOPE_FILE = "out-of-scope.yaml"


class TrainingDataError(ValueError):
    """A dialogs file lacks the keys intent training needs; the message names the file."""


@dataclass(frozen=True)
class TrainingSet:
    intents: dict[str, list[str]]
    out_of_scope: list[str] = field(default_factory=list)

    def all_examples(self) -> list[str]:
        return [e for examples in self.intents.values() for e in examples] + self.out_of_scope


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TrainingDataError(f"{path}: not valid YAML ({exc})") from exc


def _examples(path: Path, node: Any, where: str) -> list[str]:
    if not isinstance(node, list) or not node:
        raise TrainingDataError(f"{path}: '{where}' must be a non-empty list of phrases")
    bad = [i for i, e in enumerate(node) if not isinstance(e, str | int) or not str(e).strip()]
    if bad:
        raise TrainingDataError(f"{path}: '{where}' item {bad[0] + 1} is not a phrase")
    return [str(e).strip() for e in node]


def load_intent_file(path: Path) -> tuple[str, list[str]] | None:
    """The flow's name and examples; None for a sub-flow, which no phrase starts."""
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise TrainingDataError(f"{path}: expected a mapping with 'flow' and 'intent' keys")
    name = data.get("flow")
    if not isinstance(name, str) or not name.strip():
        raise TrainingDataError(f"{path}: missing 'flow' (the intent name)")
    if "intent" not in data:
        return None
    intent = data.get("intent")
    if not isinstance(intent, dict) or "examples" not in intent:
        raise TrainingDataError(f"{path}: missing 'intent: examples:' list")
    return name.strip(), _examples(path, intent["examples"], "intent.examples")


def load_training_set(dialogs_dir: Path) -> TrainingSet:
    """Read every flow and pattern file under ``dialogs_dir`` plus the out-of-scope list."""
    dialogs_dir = Path(dialogs_dir)
    intents: dict[str, list[str]] = {}
    origin: dict[str, Path] = {}
    for sub in INTENT_DIRS:
        for path in sorted((dialogs_dir / sub).glob("*.yaml")):
            loaded = load_intent_file(path)
            if loaded is None:
                continue
            name, examples = loaded
            if name in intents:
                raise TrainingDataError(
                    f"{path}: flow '{name}' is already defined in {origin[name]}"
                )
            intents[name] = examples
            origin[name] = path
    if not intents:
        raise TrainingDataError(f"{dialogs_dir}: no flow files found under flows/ or patterns/")
    out_of_scope: list[str] = []
    oos_path = dialogs_dir / OUT_OF_SCOPE_FILE
    if oos_path.exists():
        data = _read_yaml(oos_path)
        if not isinstance(data, dict) or "examples" not in data:
            raise TrainingDataError(f"{oos_path}: missing 'examples' list")
        out_of_scope = _examples(oos_path, data["examples"], "examples")
    return TrainingSet(intents=intents, out_of_scope=out_of_scope)
