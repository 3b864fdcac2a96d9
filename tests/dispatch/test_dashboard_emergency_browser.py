"""The operator's screen during an emergency, in a real browser on the real stack.

A shortcut, said once: the alarm is raised by running the timer sweeper in the test's process
(tests/ladder.py), with the check-in's deadline moved into the past, instead of waiting out a
check-in with beat running. Everything the page shows comes from daphne and the websocket.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from dispatch.models import EscalationStep, OperatorPhone
from monitoring import checkins as checkin_services
from monitoring import inbound, services
from monitoring.models import Session
from telephony.models import OutboundSMS
from tests.dispatch.test_alarm_browser import ready_plan, region_with_dispatch_line
from tests.ladder import sweep
from tests.monitoring.test_dashboard_browser import PHONE, SLOW, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALARM_TITLE = "Alarm under way: no answer to check-in 1"
CLIENT_TEXTS = [
    "hey, using alone tonight, can someone check on me",
    "i'm at home, same place as last time",
    "ok i'm going to use now, text me in a bit",
]
REPLIES = [
    "Hi, I'm here with you. Where are you tonight?",
    "Thanks. I'll check in every minute. Text back when you see my message.",
]


@pytest.fixture
def live_stack_env() -> dict[str, str]:
    return {"ESCALATION_RESPONSE_WAIT_SECONDS": "0", "ALARM_WIDEN_SECONDS": "600"}


def conversation_with(operator: Any, *, language: str = "") -> Session:
    """A session the way a night goes: the person texts, Alice claims and replies."""
    for index, body in enumerate(CLIENT_TEXTS[:1]):
        inbound.inbound_sms_receive(sid=f"SM{index:032d}", phone=PHONE, body=body)
    session = Session.objects.get()
    services.session_claim(session_id=session.pk, user=operator)
    for index, body in enumerate(CLIENT_TEXTS[1:], start=1):
        inbound.inbound_sms_receive(sid=f"SM{index:032d}", phone=PHONE, body=body)
    for body in REPLIES:
        services.session_reply(session_id=session.pk, user=operator, body=body)
    if language:
        services.session_language_set(session=session, language=language)
    return session


def alarm_raised(session: Session, operator: Any) -> None:
    """The check-in went out and its grace ended long ago; the next sweep raises the alarm."""
    ready_plan(session, operator, region_with_dispatch_line())
    checkin_services.monitoring_start(session_id=session.pk, user=operator, interval_seconds=60)
    session.checkins.update(due_at=timezone.now())
    sweep()
    long_ago = timezone.now() - timedelta(minutes=10)
    session.checkins.update(due_at=timezone.now(), prompted_at=long_ago)
    OutboundSMS.objects.filter(session_id=session.pk).update(claimed_at=long_ago)
    sweep()
    # The plan's response (the EMS task) without waiting for it.
    EscalationStep.objects.filter(kind="response").update(due_at=timezone.now())
    sweep()


def acknowledged_alarm_panel(page: Page) -> Any:
    page.get_by_role("alert").get_by_role("button", name="Acknowledge").click()
    panel = page.get_by_role("region", name=ALARM_TITLE)
    expect(panel.get_by_role("heading", name=ALARM_TITLE)).to_be_focused()
    return panel


def dispatch_task(page: Page, panel: Any) -> Any:
    # The response step is due at once (ESCALATION_RESPONSE_WAIT_SECONDS=0): one more sweep.
    sweep()
    task = panel.get_by_role("group", name="Dispatch task: call EMS")
    expect(task).to_be_visible(timeout=SLOW)
    return task


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return found


def inside_viewport(page: Page, locator: Any) -> bool:
    viewport = page.viewport_size
    assert viewport is not None
    found = box(locator)
    return (
        found["x"] >= 0
        and found["y"] >= 0
        and found["x"] + found["width"] <= viewport["width"]
        and found["y"] + found["height"] <= viewport["height"]
    )


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def on_top(page: Page, locator: Any) -> bool:
    """Whether a click at the element's centre reaches it: nothing covers or clips it."""
    found = box(locator)
    hit: bool = locator.evaluate(
        "(el, [x, y]) => el.contains(document.elementFromPoint(x, y))",
        [found["x"] + found["width"] / 2, found["y"] + found["height"] / 2],
    )
    return hit


def visible_bubbles(page: Page) -> list[dict[str, float]]:
    """The message bubbles as the operator sees them: clipped to the log's scroll box."""
    clipped: list[dict[str, float]] = page.evaluate(
        """() => {
          const log = document.getElementById("log").getBoundingClientRect();
          return [...document.querySelectorAll("#log .bubble")].map((el) => {
            const r = el.getBoundingClientRect();
            const top = Math.max(r.top, log.top), bottom = Math.min(r.bottom, log.bottom);
            return {x: r.left, y: top, width: r.width, height: bottom - top};
          }).filter((r) => r.height > 0);
        }"""
    )
    return clipped


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1400, 900)])
def test_it_gives_the_dispatch_task_the_column_during_an_alarm(
    live_stack: Any, operator: Any, browser: Browser, width: int, height: int
) -> None:
    OperatorPhone.objects.create(user=operator, phone="+15145550111")
    session = conversation_with(operator)
    alarm_raised(session, operator)
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    log_in(page, live_stack.console_url, operator.username)
    page.get_by_role("region", name="My sessions").get_by_role("link").click()
    expect(page.get_by_role("log", name="Conversation")).to_contain_text(CLIENT_TEXTS[-1])
    task = dispatch_task(page, acknowledged_alarm_panel(page))
    expect(task).to_contain_text("4520 rue Saint-Denis")
    page.wait_for_timeout(300)  # lets the layout settle before it is measured
    page.screenshot(path=Path(tempfile.gettempdir()) / f"dispatch-task-{width}x{height}.png")

    call = task.get_by_role("button", name="Call dispatch and join me")
    address = task.get_by_text("4520 rue Saint-Denis")
    assert page.evaluate("() => [window.scrollX, window.scrollY]") == [0, 0]
    for needed in (call, address, task.get_by_role("link", name="514 555 0100")):
        assert inside_viewport(page, needed), box(needed)
        assert on_top(page, needed), box(needed)
    # The task is whole, not a box to scroll inside; the texts are what scroll.
    assert box(task)["y"] + box(task)["height"] <= box(page.locator("#log"))["y"]
    assert visible_bubbles(page), "the latest text stays in sight"
    # Nothing of the dispatch task (or anything else in the column) lies over a message.
    bubbles = visible_bubbles(page)
    for part in (task, page.locator("#conv-alarms")):
        assert not any(overlaps(box(part), bubble) for bubble in bubbles), (box(part), bubbles)
