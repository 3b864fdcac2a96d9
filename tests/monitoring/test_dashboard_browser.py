"""The dashboard in a real browser, on the real stack: sandbox, daphne and a Celery worker.

The client texts from the sandbox's phone page, so both ends of the conversation are seen
live. Controls are found by role and accessible name, as a screen reader finds them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, Route, WebSocketRoute, expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+15145550177"
# Delivery goes through the worker, the sandbox and a status callback: give it time.
SLOW = 30_000


class StalledEvents:
    """Holds back what the server pushes to one dashboard, as a dropped channel event would.

    While holding, server messages are discarded. The hold ends with the first message the
    page sends after the claim answer has been handed to it (its request for a resync).
    """

    def __init__(self) -> None:
        self.holding = False
        self.release_on_next_request = False
        self.dropped: list[str] = []

    def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        ws.on_message(lambda message: self._from_page(server, message))
        server.on_message(lambda message: self._from_server(ws, message))

    def _from_page(self, server: WebSocketRoute, message: str | bytes) -> None:
        if self.release_on_next_request:
            self.release_on_next_request = False
            self.holding = False
        server.send(message)

    def _from_server(self, ws: WebSocketRoute, message: str | bytes) -> None:
        if self.holding:
            self.dropped.append(str(message))
        else:
            ws.send(message)

    def release_after_claim(self, route: Route) -> None:
        response = route.fetch()
        self.release_on_next_request = True
        route.fulfill(response=response)


def poll(page: Page, check: Callable[[], Any], timeout_ms: int = 10_000) -> None:
    """Waits for Python-side state that Playwright updates while it processes events."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {check}"
        page.wait_for_timeout(50)


def log_in(page: Page, console_url: str, username: str) -> None:
    page.goto(console_url + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()


def open_phone(browser: Browser, sandbox_url: str) -> Page:
    phone = browser.new_page()
    phone.goto(f"{sandbox_url}/phone/?number={quote(PHONE)}")
    expect(phone.get_by_role("status")).to_contain_text(PHONE)
    return phone


def text_the_line(phone: Page, body: str) -> None:
    phone.get_by_label("Message").fill(body)
    phone.get_by_role("button", name="Send").click()
    expect(phone.get_by_role("status")).to_contain_text("answered HTTP 200")


def queue_item(page: Page) -> Any:
    return page.get_by_role("region", name="Waiting queue").get_by_role(
        "link", name=re.compile("ending in 0177")
    )


def test_it_takes_a_text_from_queue_to_reply_and_back_live(
    live_stack: Any, operator: Any, operator2: Any, browser: Browser
) -> None:
    alice = browser.new_context().new_page()
    bob = browser.new_context().new_page()
    stall = StalledEvents()
    bob.route_web_socket(re.compile(r"/ws/dashboard/$"), stall.route)
    bob.route(re.compile(r"/api/sessions/\d+/claim/$"), stall.release_after_claim)
    log_in(alice, live_stack.console_url, operator.username)
    log_in(bob, live_stack.console_url, operator2.username)
    expect(alice).to_have_title("Overdose response console")
    phone = open_phone(browser, live_stack.sandbox_url)

    text_the_line(phone, "about to use, can someone stay on with me?")

    # The new person appears live in the queue, with a calm highlight and a title count.
    expect(queue_item(alice)).to_be_visible()
    expect(alice).to_have_title("(1) waiting · Overdose response console")
    expect(alice.get_by_role("region", name="Waiting queue").get_by_role("listitem")).to_have_class(
        re.compile(r"\bis-new\b")
    )
    expect(queue_item(bob)).to_be_visible()
    # The automatic reply reaches the phone before anyone has claimed the session.
    expect(phone.get_by_role("log", name="Conversation")).to_contain_text(
        "a peer will text you back soon", timeout=SLOW
    )

    # Bob looks at the session too, and then his dashboard stops hearing about it.
    queue_item(bob).click()
    expect(bob.get_by_role("log", name="Conversation")).to_contain_text("stay on with me")
    stall.holding = True

    queue_item(alice).click()
    alice.get_by_role("button", name="Claim").click()
    mine = alice.get_by_role("region", name="My sessions")
    expect(mine.get_by_role("link", name=re.compile("ending in 0177"))).to_be_visible()
    expect(queue_item(alice)).to_have_count(0)
    expect(alice).to_have_title("Overdose response console")
    poll(bob, lambda: any('"status": "active"' in m for m in stall.dropped))

    # Bob's screen still offers the claim; the server tells him plainly he was too late.
    bob.get_by_role("button", name="Claim").click()
    expect(bob.get_by_text("Another operator has already claimed this session.")).to_be_visible()
    expect(queue_item(bob)).to_have_count(0)
    expect(bob.get_by_text("No one is waiting right now.")).to_be_visible()

    # Alice replies; the phone receives it and Alice sees it delivered.
    reply = alice.get_by_label("Reply")
    reply.fill("Hi, I'm Alice, a peer here. I'll stay with you. Is your door unlocked?")
    reply.press("Enter")
    expect(reply).to_have_value("")
    log = alice.get_by_role("log", name="Conversation")
    sent = log.get_by_role("listitem").filter(has_text="I'll stay with you")
    expect(sent).to_have_count(1)
    expect(phone.get_by_role("log", name="Conversation")).to_contain_text(
        "I'll stay with you", timeout=SLOW
    )
    expect(sent).to_contain_text("Delivered", timeout=SLOW)

    # The client's next text appears live in Alice's conversation.
    text_the_line(phone, "yes it's unlocked, apartment 4")
    expect(log.get_by_role("listitem").filter(has_text="apartment 4")).to_be_visible()


def test_it_marks_the_persons_texts_with_the_sessions_language(
    live_stack: Any, operator: Any, browser: Browser
) -> None:
    from monitoring import inbound
    from monitoring.models import Session

    message = inbound.inbound_sms_receive(
        sid="SM" + "f" * 32, phone=PHONE, body="salut, je vais consommer seul ce soir"
    )
    assert message is not None
    Session.objects.filter(pk=message.session_id).update(language="fr")
    page = browser.new_context().new_page()
    log_in(page, live_stack.console_url, operator.username)
    queue_item(page).click()
    log = page.get_by_role("log", name="Conversation")
    text = log.get_by_role("listitem").filter(has_text="je vais consommer")
    expect(text.locator(".bubble")).to_have_attribute("lang", "fr")
    expect(page.locator("html")).to_have_attribute("lang", "en")
