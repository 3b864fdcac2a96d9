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
    NOT_READY,
    alarm_banner,
    beat,  # noqa: F401  (a fixture)
    ready_plan,
    region_with_dispatch_line,
)
from tests.factories import session_make
from tests.monitoring.test_dashboard_browser import (
    PHONE,
    SLOW,
    StalledEvents,
    log_in,
    open_phone,
    poll,
    queue_item,
    text_the_line,
)
from tests.monitoring.test_plan_browser import claim_from_queue

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


def test_it_clears_the_plan_notice_once_the_plan_is_ready(
    live_stack: Any, operator: Any, browser: Browser
) -> None:
    region_with_dispatch_line()
    page = browser.new_context().new_page()
    log_in(page, live_stack.console_url, operator.username)
    phone = open_phone(browser, live_stack.sandbox_url)
    text_the_line(phone, "using alone tonight, can you check on me?")
    panel = claim_from_queue(page)

    checkins = page.get_by_role("region", name="Check-ins")
    checkins.get_by_role("button", name="Start check-ins").click()
    notice = checkins.get_by_role("status").filter(has_text=NOT_READY)
    expect(notice).to_be_visible()

    panel.get_by_label("Street address").fill("4520 rue Saint-Denis")
    panel.get_by_role("radiogroup", name="Who do we call?").get_by_label(
        "EMS (the local dispatch line)"
    ).check()
    panel.get_by_label("Region", exact=True).select_option(label="Montréal")
    expect(panel.get_by_text("Nothing is missing: this plan can be saved as ready")).to_be_visible()
    panel.get_by_role("button", name="Save as ready").click()
    header = page.get_by_role("region", name="Selected session")
    expect(header.get_by_text("Plan v1 · ready")).to_be_visible()
    expect(notice).to_have_count(0)
    expect(checkins.get_by_role("button", name="Start check-ins")).to_be_visible()


def test_it_clears_already_claimed_once_the_session_is_transferred_here(
    live_stack: Any, operator: Any, operator2: Any, browser: Browser
) -> None:
    alice = browser.new_context().new_page()
    bob = browser.new_context().new_page()
    stall = StalledEvents()
    bob.route_web_socket(re.compile(r"/ws/dashboard/$"), stall.route)
    bob.route(re.compile(r"/api/sessions/\d+/claim/$"), stall.release_after_claim)
    log_in(alice, live_stack.console_url, operator.username)
    log_in(bob, live_stack.console_url, operator2.username)
    phone = open_phone(browser, live_stack.sandbox_url)
    text_the_line(phone, "about to use, can someone stay on with me?")

    # Bob looks at the session, and his dashboard stops hearing about it; Alice claims it.
    queue_item(bob).click()
    expect(bob.get_by_role("button", name="Claim")).to_be_visible()
    stall.holding = True
    queue_item(alice).click()
    alice.get_by_role("button", name="Claim").click()
    expect(my_session(alice, "0177")).to_be_visible()
    poll(bob, lambda: any('"status": "active"' in m for m in stall.dropped))
    bob.get_by_role("button", name="Claim").click()
    claimed = bob.get_by_text("Another operator has already claimed this session.")
    expect(claimed).to_be_visible()

    # Alice hands it to Bob: the notice no longer says anything true.
    alice.get_by_label("Transfer to").select_option(label="Bob")
    alice.get_by_role("button", name="Transfer", exact=True).click()
    expect(my_session(bob, "0177")).to_be_visible()
    expect(claimed).to_have_count(0)


def test_it_gives_another_session_the_default_check_in_settings(
    live_stack: Any, operator: Any, browser: Browser
) -> None:
    session_make("+15145550101", status=SessionStatus.ACTIVE, operator=operator)
    session_make("+15145550102", status=SessionStatus.ACTIVE, operator=operator)
    page = browser.new_context().new_page()
    log_in(page, live_stack.console_url, operator.username)
    checkins = page.get_by_role("region", name="Check-ins")
    interval = checkins.get_by_label("Check every (minutes)")
    grace = checkins.get_by_label("Time to answer (seconds)")
    ends = checkins.get_by_label("End after (minutes)")

    my_session(page, "0101").click()
    expect(interval).to_have_value("3")
    interval.select_option("7")
    grace.fill("25")
    ends.fill("90")

    my_session(page, "0102").click()
    expect(page.get_by_role("region", name="Selected session")).to_contain_text("0102")
    expect(interval).to_have_value("3")
    expect(grace).to_have_value("60")
    expect(ends).to_have_value("")
