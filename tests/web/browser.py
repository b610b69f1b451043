"""Real-browser support: the controller app served by uvicorn on a free loopback port, and Debian's chromium.

Playwright drives the system chromium (`/usr/bin/chromium`, installed by .ci/setup); it never downloads
browsers of its own. Headless, and without the sandbox, which cannot start as root in CI containers.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright

from cellward.ports import free_port
from tests.web.conftest import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
SCREENS = {"wall": (1920, 1080), "laptop": (1366, 768)}


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve `app` in a background thread; yields its base URL and stops it afterwards."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn-web-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        raise RuntimeError("Debian's chromium is missing: run `bash .ci/setup` (apt package `chromium`)")
    return path


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/map"))


def shoot(page: Page, name: str, screen: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{screen}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SCREENS[screen][0], f"{name} scrolls sideways at {SCREENS[screen]} ({width} px wide)"
