""" "Try a call" in a real browser: an admin opens the page, starts a call, the fake
microphone (a WAV of synthesized speech) talks to the agent through the AudioWorklet and the
websocket, the page plays the greeting and the answer and echoes their marks, and the admin
hangs up. The call is in call history with its transcript."""

from __future__ import annotations

import asyncio
import shutil
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS
from tests.browser.helpers import artifact, sign_in
from tests.calls.helpers import TEST_ACTOR
from tests.web.helpers import add_user
from voiceagent.runtime import SpeechServices
from voiceagent.simulate import sounds
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.speech.resample import resample
from voiceagent.store.repos import calls as call_repo

pytestmark = [pytest.mark.browser, pytest.mark.audio]

MIC_RATE = 16000
# Quiet while the page connects and the greeting plays (about 4 s, longer on a loaded
# machine: the fake microphone starts with getUserMedia, before the socket opens), then
# one request.
LEAD_SECONDS = 9.0
SAID = "I'd like to book an appointment."


def write_microphone_wav(path: Path, speech: SpeechServices) -> Path:
    said = sounds.speech(speech.synthesizer, SAID)
    pcm = resample(np.clip(said, -32768, 32767).astype(np.int16), 8000, MIC_RATE)
    lead = np.zeros(int(LEAD_SECONDS * MIC_RATE), dtype=np.int16)
    tail = np.zeros(30 * MIC_RATE, dtype=np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(MIC_RATE)
        out.writeframes(np.concatenate([lead, pcm, tail]).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
async def softphone_browser(
    speech_services: SpeechServices, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Browser]:
    """Chromium whose fake microphone says ``SAID`` once (no loop), microphone allowed."""
    if shutil.which(str(CHROMIUM)) is None:
        pytest.skip(
            "browser tests need Debian's chromium at /usr/bin/chromium: apt-get install chromium"
        )
    wav = write_microphone_wav(tmp_path_factory.mktemp("mic") / "caller.wav", speech_services)
    args = [
        *LAUNCH_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        "--autoplay-policy=no-user-gesture-required",
    ]
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=args
        )
        yield chromium
        await chromium.close()


def caller_turns(sandbox: Sandbox, call_sid: str) -> list[str]:
    with sandbox.runtime.db.session() as session:
        call = call_repo.get_call(session, TEST_ACTOR, call_sid)
        return [t.text for t in call.turns if t.speaker == "caller"]


async def wait_for_caller_turn(sandbox: Sandbox, call_sid: str, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        turns = await asyncio.to_thread(caller_turns, sandbox, call_sid)
        if turns or time.monotonic() > deadline:
            return turns
        await asyncio.sleep(0.2)


async def prompts_heard(page: Page, at_least: int, timeout_ms: int) -> None:
    await page.wait_for_function(
        "n => Number(document.querySelector('[data-try-call]').dataset.heard) >= n",
        arg=at_least,
        timeout=timeout_ms,
    )


async def test_an_admin_tries_a_call_from_the_browser(
    softphone_browser: Browser, sandbox: Sandbox
) -> None:
    add_user(sandbox.runtime.db, "phoneadmin", "admin")
    context = await softphone_browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            # The app serves no favicon; every page's automatic request for one is a 404.
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    await sign_in(page, sandbox.url, "phoneadmin")
    await page.get_by_role("link", name="Try a call").click()
    await expect(page.get_by_role("heading", name="Try a call")).to_be_visible()
    phone = page.locator("[data-try-call]")
    await expect(page.get_by_role("button", name="Hang up")).to_be_disabled()

    await page.get_by_role("button", name="Start call").click()
    await expect(phone).to_have_attribute("data-state", "live", timeout=15_000)
    await expect(page.get_by_role("button", name="Hang up")).to_be_enabled()
    call_sid = await phone.get_attribute("data-call-sid") or ""
    assert call_sid.startswith("BR")
    # The greeting reached the page and played to its end (its mark was echoed).
    await prompts_heard(page, 1, 20_000)
    assert int(await phone.get_attribute("data-frames-received") or 0) > 100  # > 2 s of audio

    # The fake microphone's request went through the worklet, the socket and soxr to the
    # agent, which understood it and answered (the answer played too).
    heard = await wait_for_caller_turn(sandbox, call_sid, 40)
    assert heard and "appointment" in heard[0].lower(), heard
    await prompts_heard(page, 2, 20_000)
    shot = artifact("try-call-live.png")
    await page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")

    await page.get_by_role("button", name="Hang up").click()
    await expect(phone).to_have_attribute("data-state", "ended", timeout=10_000)
    await expect(page.locator("[data-status]")).to_have_text("You hung up.")
    await expect(page.get_by_role("button", name="Start call")).to_be_enabled()
    link = page.get_by_role("link", name="Read this call's transcript in call history")
    await expect(link).to_be_visible()
    shot = artifact("try-call-ended.png")
    await page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")

    await link.click()
    await page.wait_for_url(f"**/staff/calls/{call_sid}")
    await expect(page.locator(".turn-caller").first).to_contain_text("appointment")
    with sandbox.runtime.db.session() as session:
        call = call_repo.get_call(session, TEST_ACTOR, call_sid)
        assert (call.outcome, call.called_number) == ("caller_hung_up", "browser-test")
        assert call.intent == "book_appointment"
    assert not problems, problems
    await context.close()
