"""Automatic sign-out: a dashboard left alone signs itself out after the idle timeout (set
to a few seconds here), even while its live queue is open."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.helpers import artifact, new_context, sign_in
from tests.conftest import CLINIC_MONDAY, sandbox_settings_for
from tests.fakes.twilio_api import FakeTwilioApi
from tests.web.helpers import add_user
from voiceagent.runtime import SpeechServices
from voiceagent.simulate.sandbox import Sandbox, running_sandbox

pytestmark = pytest.mark.browser

# Long enough that a loaded machine still shows the live page before the timeout.
IDLE_SECONDS = 8


@pytest.fixture(scope="module")
def quick_logoff(
    speech_services: SpeechServices,
    twilio_api: FakeTwilioApi,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sandbox]:
    workdir: Path = tmp_path_factory.mktemp("quick-logoff")
    settings = sandbox_settings_for(twilio_api, session_idle_timeout_seconds=IDLE_SECONDS)
    with running_sandbox(settings, workdir, speech_services, now=CLINIC_MONDAY) as box:
        yield box


async def test_an_idle_dashboard_signs_itself_out(browser: Browser, quick_logoff: Sandbox) -> None:
    base = quick_logoff.url
    add_user(quick_logoff.runtime.db, "nightshift")
    context = await new_context(browser, height=900)
    page = await context.new_page()
    await sign_in(page, base, "nightshift")
    await expect(page.locator("[data-live-status]")).to_have_text("Live", timeout=10_000)
    # Nobody touches the page: the open event stream does not count as activity, and the
    # page goes to the sign-in form by itself once the session has timed out.
    await page.wait_for_url(
        re.compile(r"/staff/login\?msg=expired"), timeout=(IDLE_SECONDS + 10) * 1000
    )
    await expect(page.get_by_role("status")).to_contain_text(
        "signed out after a period of inactivity"
    )
    shot = artifact("session-expired.png")
    await page.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot}")
    # The session is gone on the server too: no page and no API answer with the old cookie.
    await page.goto(base + "/staff/callbacks")
    assert "/staff/login?next=" in page.url
    response = await context.request.get(base + "/api/callbacks")
    assert response.status == 401
    await context.close()
