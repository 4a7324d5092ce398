"""Whole calls at DEBUG log level, including one whose dialog crashes: no seeded patient
value and nothing the callers said appears anywhere in the server's logs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fakes.twilio_api import FakeTwilioApi
from tests.reliability.server_process import ServerProcess
from tests.security.phi import seeded_values
from voiceagent.config import REPO_ROOT
from voiceagent.runtime import SpeechServices
from voiceagent.simulate.caller import SimulatedCaller
from voiceagent.simulate.scenario import Scenario

pytestmark = pytest.mark.audio

CALLS = [
    {  # identity, a medication, the pharmacy: PHI all along
        "name": "refill",
        "steps": [
            {"wait_for": "how can i help"},
            {"say": "I need a refill on my prescription."},
            {"wait_for": "first and last name"},
            {"say": "Maria Gonzalez."},
            {"wait_for": "birth"},
            {"say": "March third, nineteen eighty-two."},
            {"wait_for": "which medication"},
            {"say": "Lisinopril."},
            {"wait_for": "pharmacy"},
            {"say": "Yes."},
            {"wait_for": "refill request"},
            {"hangup": True},
        ],
    },
    {  # the flow breaks after identity is verified (see the broken copy of the flows)
        "name": "crash",
        "caller": {"from": "+15552019834"},
        "steps": [
            {"wait_for": "how can i help"},
            {"say": "What insurance do you have on file for me?"},
            {"wait_for": "first and last name"},
            {"say": "James Whitaker."},
            {"wait_for": "birth"},
            {"dtmf": "07141958"},
            {"wait_for": "(something went wrong|front desk|having trouble)"},
            {"hangup": True},
        ],
    },
    {  # an emergency and a transfer carrying a summary
        "name": "emergency",
        "steps": [
            {"wait_for": "how can i help"},
            {"say": "My name is Olivia Bennett and I have crushing chest pain."},
            {"wait_for": "9.?1.?1"},
            {"hangup": True},
        ],
    },
]


CALLER_SAID = frozenset({"Olivia", "Bennett"})  # names a caller gives that are on no record


async def test_debug_logs_of_whole_calls_hold_no_patient_data(
    tmp_path: Path, speech_services: SpeechServices, twilio_api: FakeTwilioApi
) -> None:
    dialogs = tmp_path / "dialogs"
    shutil.copytree(REPO_ROOT / "dialogs", dialogs)
    on_file = dialogs / "flows" / "insurance_on_file.yaml"
    # After verification, rendering this reply divides by zero inside the dialog: a broken
    # flow step, which hands the caller to a person and is logged with its error.
    on_file.write_text(
        on_file.read_text().replace(
            "We have {{ coverage.carrier }}", "We have {{ coverage.carrier }}{{ 1 // 0 }}"
        )
    )
    server = ServerProcess(
        tmp_path / "clinic",
        twilio_api,
        VOICEAGENT_LOG_LEVEL="DEBUG",
        VOICEAGENT_DIALOGS_DIR=str(dialogs),
    )
    await server.start()
    try:
        caller = SimulatedCaller(
            server.url,
            auth_token=twilio_api.auth_token,
            account_sid=twilio_api.account_sid,
            speech=speech_services,
        )
        for script in CALLS:
            await caller.run(Scenario.model_validate(script))
    finally:
        await server.stop()
    log = server.log
    assert "flow_step_failed" in log and "TemplateProblem" in log  # the failure was logged...
    assert "call_ended" in log and "DEBUG" in log.upper()
    leaked = sorted(v for v in seeded_values() | CALLER_SAID if v.lower() in log.lower())
    assert leaked == [], f"{len(leaked)} patient values appear in the logs"  # ...without PHI
