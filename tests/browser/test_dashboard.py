"""The staff dashboard in a real browser against the real server: a simulated call is
handed to a person and its card appears live; staff claim it and work a callback; staff
and anonymous visitors are kept out of admin pages and admin API routes."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from playwright.async_api import Browser, expect

from tests.browser.helpers import artifact, new_context, sign_in
from tests.calls.helpers import place_call
from tests.web.helpers import TESTS, add_user
from voiceagent.runtime import SpeechServices
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.store.models import Callback, Transfer
from voiceagent.store.repos import callbacks as callback_repo

pytestmark = [pytest.mark.browser, pytest.mark.audio]

ASK_FOR_A_PERSON = """
name: caller asks for a person
steps:
  - wait_for: how can i help
  - say: Can I speak to a real person please?
  - wait_for: connecting
  - hangup: true
"""
NEW_CARD = """existing => [...document.querySelectorAll('[data-transfer-id]')]
    .some(card => !existing.includes(card.dataset.transferId))"""


async def test_a_transfer_appears_live_and_staff_claim_it_and_work_a_callback(
    browser: Browser, sandbox: Sandbox, speech_services: SpeechServices
) -> None:
    db = sandbox.runtime.db
    add_user(db, "frontdesk")
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in(page, sandbox.url, "frontdesk")
    await expect(page.locator("[data-live-status]")).to_have_text("Live", timeout=10_000)
    existing = await page.eval_on_selector_all(
        "[data-transfer-id]", "cards => cards.map(c => c.dataset.transferId)"
    )
    await page.evaluate("window.__sameDocument = true")

    call = asyncio.create_task(place_call(sandbox, speech_services, ASK_FOR_A_PERSON))
    await page.wait_for_function(NEW_CARD, arg=existing, timeout=60_000, polling="raf")
    seen_by_test = time.time()
    transfer_id = await page.evaluate(
        """existing => [...document.querySelectorAll('[data-transfer-id]')]
            .map(card => card.dataset.transferId).find(id => !existing.includes(id))""",
        existing,
    )
    card = page.locator(f"#t-{transfer_id}")
    shown_at_ms = int(await card.get_attribute("data-shown-at") or 0)
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    await expect(card).to_be_visible()
    with db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        created_ms = transfer.created_at.timestamp() * 1000
        assert transfer.reason_code == "caller_request" and transfer.status == "new"
    decision_to_card_ms = shown_at_ms - created_ms
    print(
        f"\nhandoff decision -> card in the page: {decision_to_card_ms:.0f} ms "
        f"(seen by the test after {seen_by_test * 1000 - created_ms:.0f} ms)"
    )
    # Printed, not asserted: speed is the benchmarks' business. Live means the card came
    # into this same document, without a reload (checked above).
    await expect(card).to_contain_text("Next step:")
    await expect(card).to_contain_text("caller request")
    shot = artifact("dashboard-live-transfer.png")
    await page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")

    await card.get_by_role("button", name="Claim").click()
    await page.wait_for_url(re.compile(r"/staff\?msg=claimed"))
    claimed = page.locator(f"#t-{transfer_id}")
    await expect(claimed).to_contain_text("Claimed by you")
    await expect(page.get_by_role("status")).to_contain_text("You claimed the call")
    with db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        assert (transfer.status, transfer.claimed_by) == ("claimed", "staff:frontdesk")
    shot = artifact("dashboard-claimed.png")
    await page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    await claimed.get_by_role("button", name="Mark done").click()
    await page.wait_for_url(re.compile(r"/staff\?msg=transfer_done"))
    await expect(page.locator(f"#t-{transfer_id}")).to_have_count(0)

    with db.session() as session:
        callback_id = callback_repo.create_callback(
            session,
            TESTS,
            phone="+15559876543",
            name="James Okafor",
            reason="Called after hours about a billing question.",
            patient_id="p-002",
        ).id
    await page.get_by_role("link", name="Callbacks").click()
    item = page.locator(f"#cb-{callback_id}")
    await item.get_by_label("What happened").fill("Called back; billing will follow up.")
    await item.get_by_role("button", name="Mark done").click()
    await expect(page.get_by_role("status")).to_have_text("Callback marked done.")
    await expect(page.locator(f"#cb-{callback_id}")).to_have_count(0)
    with db.session() as session:
        done = session.get(Callback, callback_id)
        assert (done.status, done.done_by) == ("done", "staff:frontdesk")
        assert done.note == "Called back; billing will follow up."
    await page.get_by_label("Status").select_option("done")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator(f"#cb-{callback_id}")).to_contain_text("Done by frontdesk")
    shot = artifact("callbacks-done.png")
    await page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    await context.close()
    report = await call  # the simulated caller hung up after hearing it is being connected
    assert report.call_sid


ADMIN_PAGES = [
    "/staff/admin/flows",
    "/staff/admin/policy",
    "/staff/admin/users",
    "/staff/admin/tokens",
]
ADMIN_API = ["/api/admin/staff-users", "/api/admin/tokens", "/api/admin/flows"]


async def test_anonymous_visitors_and_staff_cannot_reach_admin_pages_or_admin_api(
    browser: Browser, sandbox: Sandbox
) -> None:
    base = sandbox.url
    anonymous = await new_context(browser)
    page = await anonymous.new_page()
    for path in ADMIN_PAGES:
        await page.goto(base + path)
        assert "/staff/login?next=" in page.url, path
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    for path in [*ADMIN_API, "/api/calls", "/api/transfers"]:
        response = await anonymous.request.get(base + path)
        assert response.status == 401, path
        assert (await response.json())["error"]["code"] == "unauthorized"
    await anonymous.close()

    add_user(sandbox.runtime.db, "parttime")
    staff = await new_context(browser)
    page = await staff.new_page()
    await sign_in(page, base, "parttime")
    await expect(page.get_by_role("link", name="Flows")).to_have_count(0)
    for path in ADMIN_PAGES:
        response = await page.goto(base + path)
        assert response is not None and response.status == 403, path
        await expect(page.get_by_role("heading", name="Admins only")).to_be_visible()
    shot = artifact("staff-denied-admin.png")
    await page.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot}")
    for path in ADMIN_API:
        response = await staff.request.get(base + path)
        assert response.status == 403, path
        assert (await response.json())["error"]["code"] == "forbidden"
    # A forged admin form post from the page itself, with the real CSRF token: refused.
    status = await page.evaluate(
        """async () => {
            const token = document.querySelector('meta[name=csrf-token]').content;
            const body = new URLSearchParams({csrf_token: token, role: 'admin', label: 'x'});
            const r = await fetch('/staff/admin/tokens', {method: 'POST', body});
            return r.status;
        }"""
    )
    assert status == 403
    await staff.close()


async def test_an_admin_sees_flow_problems_at_their_lines(
    browser: Browser, sandbox: Sandbox
) -> None:
    """Checking only (the sandbox serves the repository's own dialogs: nothing is saved)."""
    add_user(sandbox.runtime.db, "clinicadmin", "admin")
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in(page, sandbox.url, "clinicadmin")
    await page.get_by_role("link", name="Flows").click()
    await page.get_by_role("link", name="flows/clinic_fax.yaml").click()
    editor = page.locator("#editor")
    text = await editor.input_value()
    await editor.fill(text.replace("  - end: Our fax", "  - ends: Our fax"))
    await page.get_by_role("button", name="Check").click()
    problem = page.locator("[data-goto-line]").first
    await expect(problem).to_contain_text("Line 4")
    await problem.click()
    await expect(page.locator("[data-caret]")).to_contain_text("Line 4")
    shot = artifact("admin-flow-problem.png")
    await page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")
    await context.close()
