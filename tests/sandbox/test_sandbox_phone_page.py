"""The phone page in a real browser: text the console, see its reply arrive live."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sandbox.config import SandboxConfig
from sandbox.testing import SandboxHandle, running_sandbox
from tests.browser import CHROMIUM, CHROMIUM_ARGS

# Kept for a human to look at after the run.
SCREENSHOT = Path(tempfile.gettempdir()) / "sandbox-phone.png"
REPLY = "<Response><Message>Thanks. A peer will text you in a minute.</Message></Response>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed"),
]


class ConsoleReplying(BaseHTTPRequestHandler):
    """Answers every webhook with a TwiML reply, as the console might."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = REPLY.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def handle() -> Iterator[SandboxHandle]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ConsoleReplying)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = SandboxConfig(console_url=f"http://127.0.0.1:{server.server_port}", delay_ms=150)
    try:
        with running_sandbox(config) as running:
            yield running
    finally:
        server.shutdown()
        server.server_close()


def test_a_text_from_the_phone_page_gets_a_live_reply(handle: SandboxHandle) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 900})
            drive_the_phone(page, handle, sync_api.expect)
        finally:
            browser.close()


def drive_the_phone(page: Any, handle: SandboxHandle, expect: Any) -> None:
    page.goto(f"{handle.base_url}/?number=%2B15145550123")
    expect(page.get_by_text("this is not a real phone")).to_be_visible()
    expect(page.get_by_role("textbox", name="Your phone number")).to_have_value("+15145550123")
    conversation = page.get_by_role("log", name="Conversation")
    expect(conversation).to_contain_text("No messages yet")

    page.get_by_role("textbox", name="Message").fill("Hi, I'm using alone tonight. Ça va.")
    page.get_by_role("button", name="Send").click()

    expect(conversation).to_contain_text("Hi, I'm using alone tonight. Ça va.")
    expect(conversation).to_contain_text("received by console (HTTP 200)")
    expect(conversation).to_contain_text("Thanks. A peer will text you in a minute.")
    expect(conversation).to_contain_text("from the line · delivered")
    expect(page.get_by_role("textbox", name="Message")).to_have_value("")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # What the page shows is what the sandbox recorded.
    bodies = [m["body"] for m in handle.conversation("+15145550123")]
    assert bodies == [
        "Hi, I'm using alone tonight. Ça va.",
        "Thanks. A peer will text you in a minute.",
    ]


def test_another_number_opens_its_own_conversation(handle: SandboxHandle) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    handle.send_text("+15145550123", "first phone's text")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{handle.base_url}/phone/?number=%2B15145550123")
            log = page.get_by_role("log", name="Conversation")
            sync_api.expect(log).to_contain_text("first phone's text")
            page.get_by_role("textbox", name="Your phone number").fill("+15145550777")
            page.get_by_role("button", name="Open conversation").click()
            sync_api.expect(log).to_contain_text("No messages yet")
            sync_api.expect(log).not_to_contain_text("first phone's text")
        finally:
            browser.close()
