"""Focus rings and notices on the dashboard, in a real browser, on the real stack.

What the script focuses keeps a visible ring, and a notice goes once the state it warns
about has changed. Controls are found by role and accessible name, as a screen reader finds
them. Shortcuts, each said where it is taken: sessions and plans are set up through the
services, and the first check-in's deadline is moved to now in the database.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Locator, expect

from monitoring.models import CheckIn, SessionStatus
from tests.dispatch.test_alarm_browser import (
    alarm_banner,
    beat,  # noqa: F401  (a fixture)
    ready_plan,
    region_with_dispatch_line,
)
from tests.factories import session_make
from tests.monitoring.test_dashboard_browser import (
    PHONE,
    SLOW,
    log_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The plan's own EMS step waits: the dispatch task opens only when the operator asks.
TIMINGS = {
    "ESCALATION_RESPONSE_WAIT_SECONDS": "600",
    "ALARM_WIDEN_SECONDS": "600",
    "TIMER_SWEEP_SECONDS": "1",
}

RING = "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }"


@pytest.fixture
def live_stack_env() -> dict[str, str]:
    return dict(TIMINGS)


def assert_ring(element: Locator) -> None:
    expect(element).to_be_focused()
    style, width = element.evaluate(RING)
    assert style != "none", style
    assert float(width.removesuffix("px")) > 0, width


def my_session(page: Any, digits: str) -> Locator:
    name = re.compile(f"ending in {digits}")
    return page.get_by_role("region", name="My sessions").get_by_role("link", name=name)


def test_it_shows_a_focus_ring_where_the_script_puts_focus(
    live_stack: Any,
    beat: None,  # noqa: F811
    operator: Any,
    browser: Browser,
) -> None:
    session = session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)
    ready_plan(session, operator, region_with_dispatch_line())
    page = browser.new_context().new_page()
    log_in(page, live_stack.console_url, operator.username)
    my_session(page, "0177").click()

    # Started with the mouse: the countdown takes focus, and shows it.
    checkins = page.get_by_role("region", name="Check-ins")
    checkins.get_by_label("Check every (minutes)").select_option("1")
    checkins.get_by_label("Time to answer (seconds)").fill("10")
    checkins.get_by_role("button", name="Start check-ins").click()
    assert_ring(checkins.get_by_role("timer"))

    # The shortcut: the first check-in is due now. Nobody answers; the alarm comes.
    now = timezone.now()
    CheckIn.objects.filter(session=session).update(due_at=now, prompt_at=now)
    banner = alarm_banner(page)
    expect(banner).to_be_visible(timeout=SLOW)
    banner.get_by_role("button", name="Acknowledge").click()
    title = "Alarm under way: no answer to check-in 1"
    panel = page.get_by_role("region", name=title)
    assert_ring(panel.get_by_role("heading", name=title))

    panel.get_by_role("button", name="Show the dispatch task").click()
    task = panel.get_by_role("group", name="Dispatch task: call EMS")
    assert_ring(task.get_by_role("heading", name="Dispatch task: call EMS"))
