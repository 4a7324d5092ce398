"""Helpers the browser tests share: signing in, browser contexts, screenshots."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page

from tests.web.helpers import PASSWORD
from voiceagent.config import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts"


def artifact(name: str) -> Path:
    """Where a screenshot goes (test-artifacts/ is not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


async def new_context(browser: Browser, height: int = 1000) -> BrowserContext:
    """A fresh browser profile (no cookies) with a front-desk sized window."""
    return await browser.new_context(viewport={"width": 1400, "height": height})


async def sign_in(page: Page, base: str, username: str) -> None:
    """Open the dashboard, get sent to the sign-in form, sign in, land on the queue."""
    await page.goto(base + "/staff")
    await page.wait_for_url(re.compile(r"/staff/login\?next="))
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(base + "/staff")
