"""Precision on real data: the intent examples admins wrote for every flow.

They are ordinary clinic requests (bookings, refills, insurance, hours...), so none may
look like an emergency, and only the few that are about a sensitive topic may go to staff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.handoff.conftest import REPO_ROOT
from voiceagent.handoff import FindingKind, PolicyEngine

FLOWS = sorted((REPO_ROOT / "dialogs" / "flows").glob("*.yaml"))
# Sensitive on purpose: a lawyer's records request is for staff (release of information).
ALLOWED_SENSITIVE = {"My lawyer needs to fax a records request"}


def _examples(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples = (data.get("intent") or {}).get("examples") or []
    return [e for e in examples if isinstance(e, str)]


@pytest.mark.skipif(not FLOWS, reason="no dialog flows in dialogs/flows yet")
def test_flow_examples_are_not_emergencies_or_handoffs(engine: PolicyEngine) -> None:
    examples = [text for path in FLOWS for text in _examples(path)]
    assert len(examples) > 100
    flagged = {}
    for text in examples:
        finding = engine.assess(text)
        if finding is None or text in ALLOWED_SENSITIVE:
            continue
        flagged[text] = (finding.kind.value, finding.category)
    assert not [t for t, (kind, _) in flagged.items() if kind == FindingKind.EMERGENCY.value]
    assert flagged == {}
