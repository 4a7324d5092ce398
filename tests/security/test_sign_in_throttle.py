"""Password guessing against the real server, whose clock is moved to the clinic's Monday
(as under VOICEAGENT_DEV_CLOCK_START): what tests/web/test_sign_in_throttle.py drives with
a clock it moves by hand. The throttle must count on the clock it ages failures with, not on
the audit log's real-time stamps, or on a moved clock it would never (or always) bite."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx

from tests.web.helpers import PASSWORD, add_user, audit_entries, sign_in
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.web.sessions import PLAIN_COOKIE


def test_guessing_over_http_on_a_moved_clock_is_slowed_before_any_check(
    clinic: Sandbox,
) -> None:
    add_user(clinic.runtime.db, "thr-guessed")
    with httpx.Client(base_url=clinic.url) as browser:
        for _ in range(clinic.runtime.settings.login_free_failures):
            assert sign_in(browser, "thr-guessed", "a guess at it").status_code == 401
        response = sign_in(browser, "thr-guessed", PASSWORD)  # right, but too soon
        assert response.status_code == 429
        assert 1 <= int(response.headers["retry-after"]) <= 2
        assert PLAIN_COOKIE not in response.cookies
    failures = audit_entries(clinic.runtime.db, "staff.login_failed", record_type="login_pair")
    assert len(failures) == clinic.runtime.settings.login_free_failures
    now = clinic.runtime.clock()
    for entry in failures:
        recorded = datetime.fromisoformat(json.loads(entry.details)["clock_at"])
        assert timedelta(0) <= now - recorded < timedelta(minutes=1)
