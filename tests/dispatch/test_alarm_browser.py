"""Check-ins and alarms on the dashboard, in a real browser, on the real stack.

What is real: the sandbox phone, daphne, a Celery worker and Celery beat running the timer
sweeper, the operator's clicks, and every text, call and event in between. A few shortcuts
keep it fast, each said where it is taken: the plan is saved through the plan service rather
than typed into its panel (tests/clients/test_plan_browser.py types one); the first check-in's
deadline is moved to now in the database instead of waiting out the one-minute minimum
interval, and the sweeper finds it there as it would find any deadline a worker missed; the
widening test starts from a session set up through the services; the heartbeat test moves the
heartbeat row itself.

Without Redis (the default local run) the worker's events never reach daphne: the page then
learns of them from a snapshot, which it asks for when a deadline it knows has passed or an
alarm arrives, and otherwise every 20 seconds. Hence the long waits.

Controls are found by role and accessible name, as a screen reader finds them.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from clients.models import Region
from clients.plans import PlanFields
from dispatch.models import DispatchLine, Escalation, EscalationStep, OperatorPhone
from monitoring import checkins as checkin_services
from monitoring import plans as plan_services
from monitoring.models import CheckIn, Session, SessionStatus, TimerHeartbeat
from monitoring.timers import HEARTBEAT
from tests import support
from tests.factories import session_make
from tests.monitoring.test_dashboard_browser import PHONE, SLOW, log_in, open_phone, text_the_line
from tests.monitoring.test_plan_browser import claim_from_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DISPATCH = "5145550100"
OPERATOR_PHONE = "+15145550111"
NOT_READY = "Save the plan as ready before starting check-ins."
ALARM_TEXT = "No answer from the person with the number ending in 0177 (check-in 1)."


# Every status a leg of the dispatch call showed, in order: some last only a few milliseconds.
WATCH_LEGS = """() => {
  window.legsSeen = [];
  const note = () => {
    for (const el of document.querySelectorAll(".dispatch-leg-status")) {
      if (!window.legsSeen.includes(el.textContent)) window.legsSeen.push(el.textContent);
    }
  };
  new MutationObserver(note).observe(document.body, { subtree: true, childList: true });
}"""
SCREENSHOTS = Path(tempfile.gettempdir()) / "nors-screenshots"
SCREENSHOTS.mkdir(exist_ok=True)


# The plan's response comes a few seconds after the alarm; nobody else is alerted.
TIMINGS = {
    "ESCALATION_RESPONSE_WAIT_SECONDS": "4",
    "ALARM_WIDEN_SECONDS": "600",
    "TIMER_SWEEP_SECONDS": "1",
}


@pytest.fixture
def live_stack_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """TIMINGS, or what a test passes through `parametrize(..., indirect=True)`."""
    return dict(getattr(request, "param", TIMINGS))


@pytest.fixture
def beat(live_stack: Any) -> Iterator[None]:
    """Celery beat, sending the timer sweep to the worker every second."""
    with (
        tempfile.TemporaryDirectory() as folder,
        support.celery_beat(live_stack.env, str(Path(folder) / "beat-schedule")),
    ):
        support.wait_until(lambda: TimerHeartbeat.objects.exists(), timeout=30)
        yield


def region_with_dispatch_line() -> Region:
    region = Region.objects.create(name="Montréal")
    DispatchLine.objects.create(
        region=region,
        name="Urgences-santé",
        phone=DISPATCH,
        notes="Say you are calling from the overdose response line.",
        last_verified=date(2024, 5, 1),
    )
    return region


def ready_plan(session: Session, operator: Any, region: Region) -> None:
    """A shortcut: the plan is saved as the panel would save it, without typing it in."""
    fields = PlanFields(
        address="4520 rue Saint-Denis",
        unit="3",
        entry="Back door, buzzer 12",
        region=region.pk,
        response="ems",
        substances="Fentanyl",
        naloxone="yes",
    )
    plan_services.plan_version_save(session_id=session.pk, user=operator, fields=fields, ready=True)


def bodies(live_stack: Any) -> list[str]:
    return [m["body"] for m in live_stack.sandbox.messages(to=PHONE)]


def my_session(page: Page, flag: str) -> Any:
    """The session in "My sessions", by the steady words a screen reader hears for it."""
    name = re.compile(f"ending in 0177.*{re.escape(flag)}$")
    return page.get_by_role("region", name="My sessions").get_by_role("link", name=name)


def alarm_banner(page: Page) -> Any:
    return page.get_by_role("alert").filter(has_text=ALARM_TEXT)


def test_it_raises_an_alarm_and_shows_the_dispatch_task_until_it_is_closed(
    live_stack: Any, beat: None, operator: Any, browser: Browser
) -> None:
    region = region_with_dispatch_line()
    OperatorPhone.objects.create(user=operator, phone=OPERATOR_PHONE)
    page = browser.new_context().new_page()
    log_in(page, live_stack.console_url, operator.username)
    phone = open_phone(browser, live_stack.sandbox_url)
    text_the_line(phone, "using alone tonight, can you check on me?")
    claim_from_queue(page)
    expect(page.get_by_role("alert").filter(has_text="timers")).to_have_count(0)

    # Without a ready plan, the server refuses and the page says why.
    checkins = page.get_by_role("region", name="Check-ins")
    checkins.get_by_label("Check every (minutes)").select_option("1")
    checkins.get_by_label("Time to answer (seconds)").fill("10")
    checkins.get_by_role("button", name="Start check-ins").click()
    expect(checkins.get_by_role("status")).to_have_text(NOT_READY)

    session = Session.objects.get()
    ready_plan(session, operator, region)
    checkins.get_by_role("button", name="Start check-ins").click()
    countdown = checkins.get_by_role("timer")
    expect(countdown).to_have_text(re.compile(r"^Next check-in in (1:00|0:[0-5]\d)$"))
    expect(countdown).to_be_focused()
    mine = page.get_by_role("region", name="My sessions")
    expect(mine.get_by_text(re.compile(r"^Check-in in (1:00|0:[0-5]\d)$"))).to_be_visible()
    expect(my_session(page, "Check-ins running")).to_be_visible()
    # The plan was saved elsewhere (here, by the test): the panel catches up by itself.
    plan_panel = page.get_by_role("region", name="Emergency plan")
    expect(plan_panel.get_by_text(re.compile(r"^Version 1 in force"))).to_be_visible()

    # The shortcut: the first check-in is due now. Beat's sweep sends the prompt.
    now = timezone.now()
    CheckIn.objects.filter(session=session).update(due_at=now, prompt_at=now)
    support.wait_until(lambda: any(b.startswith("Checking in") for b in bodies(live_stack)))

    # The client stays silent. The alarm cannot be missed, and it takes the keyboard.
    banner = alarm_banner(page)
    expect(banner).to_be_visible(timeout=SLOW)
    expect(page).to_have_title(re.compile("ALARM"))
    acknowledge = banner.get_by_role("button", name="Acknowledge")
    expect(acknowledge).to_be_focused()
    expect(my_session(page, "Alarm")).to_be_visible()
    support.wait_until(
        lambda: any(b.startswith("We haven't heard from you") for b in bodies(live_stack)),
        timeout=SLOW / 1000,
    )

    acknowledge.click()
    expect(banner).to_have_count(0)
    expect(page).to_have_title("Overdose response console")
    title = "Alarm under way: no answer to check-in 1"
    panel = page.get_by_role("region", name=title)
    expect(panel.get_by_role("heading", name=title)).to_be_focused()

    # The plan calls EMS: the dispatch task opens in the session by itself.
    task = panel.get_by_role("group", name="Dispatch task: call EMS")
    expect(task).to_be_visible(timeout=SLOW)
    line = task.get_by_role("list", name="Dispatch lines").get_by_role("listitem")
    expect(line).to_contain_text("Urgences-santé")
    expect(line.get_by_role("link", name="514 555 0100")).to_have_attribute(
        "href", f"tel:{DISPATCH}"
    )
    expect(task).to_contain_text("4520 rue Saint-Denis")
    expect(task).to_contain_text("Back door, buzzer 12")
    # One click rings Alice's phone and the dispatch line into one call.
    page.evaluate(WATCH_LEGS)
    line.get_by_role("button", name="Call dispatch and join me").click()
    box = live_stack.sandbox
    box.wait_until(lambda: box.calls(to=f"+1{DISPATCH}"), timeout=SLOW / 1000)
    box.wait_until(lambda: box.calls(to=OPERATOR_PHONE), timeout=SLOW / 1000)
    # Each leg's status, live: both ring, then both are in the conference.
    legs = task.get_by_role("status").filter(has_text="Dispatch call")
    mine_leg = legs.get_by_role("listitem", name="Your phone")
    their_leg = legs.get_by_role("listitem", name="Dispatch line")
    expect(mine_leg).to_contain_text("You joined", timeout=SLOW)
    expect(their_leg).to_contain_text("Dispatch joined", timeout=SLOW)
    seen = page.evaluate("window.legsSeen")
    assert seen.index("Ringing your phone") < seen.index("You joined"), seen
    assert seen.index("Dispatch ringing") < seen.index("Dispatch joined"), seen
    page.set_viewport_size({"width": 1366, "height": 768})
    hang_up = task.get_by_role("button", name="Hang up the dispatch call")
    hang_up.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "dispatch-call-joined.png"))
    hang_up.click()
    expect(mine_leg).to_contain_text("Call ended", timeout=SLOW)
    expect(their_leg).to_contain_text("Call ended", timeout=SLOW)
    expect(hang_up).to_have_count(0)
    legs.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "dispatch-call-ended.png"))
    for leg in box.calls(to=OPERATOR_PHONE) + box.calls(to=f"+1{DISPATCH}"):
        assert leg["status"] == "completed"

    panel.get_by_label("What happened").select_option(label="EMS sent")
    panel.get_by_role("button", name="Record what happened").click()
    expect(panel).to_have_count(0)
    expect(my_session(page, "Check-ins paused")).to_be_visible()
    expect(checkins.get_by_role("button", name="Resume check-ins")).to_be_visible()
    ladder = Escalation.objects.get()
    assert (ladder.status, ladder.outcome) == ("closed", "ems_sent")
    assert ladder.acknowledged_by == operator


def test_it_turns_red_when_the_timers_stop(
    live_stack: Any, operator: Any, browser: Browser
) -> None:
    """No beat runs here: the heartbeat only moves when the test moves it."""
    TimerHeartbeat.objects.create(name=HEARTBEAT, last_run_at=timezone.now())
    page = browser.new_context().new_page()
    log_in(page, live_stack.console_url, operator.username)
    # The snapshot has arrived once the lists stop loading.
    expect(page.get_by_text("You have no open sessions.")).to_be_visible()
    stopped = page.get_by_role("alert").filter(has_text="Check-in timers")
    expect(stopped).to_have_count(0)

    TimerHeartbeat.objects.update(last_run_at=timezone.now() - timedelta(minutes=10))
    page.reload()
    expect(stopped).to_have_text(
        "Check-in timers have stopped. Alarms may not fire. Call the supervisor on call."
    )


@pytest.mark.parametrize(
    "live_stack_env",
    [{**TIMINGS, "ALARM_WIDEN_SECONDS": "10"}],
    ids=["widen-after-10s"],
    indirect=True,
)
def test_it_widens_an_unacknowledged_alarm_and_stands_down_when_they_answer(
    live_stack: Any, beat: None, operator: Any, operator2: Any, browser: Browser
) -> None:
    """Shortcuts: Alice's session, its plan and its check-ins are set up through the services,
    and the first check-in is moved to now. The prompt, the alarm and the widening are real."""
    session = session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)
    ready_plan(session, operator, region_with_dispatch_line())
    checkin_services.monitoring_start(
        session_id=session.pk, user=operator, interval_seconds=60, grace_seconds=15
    )
    now = timezone.now()
    CheckIn.objects.filter(session=session).update(due_at=now, prompt_at=now)
    support.wait_until(lambda: CheckIn.objects.filter(status="prompted").exists())

    # Alice sees the time left to answer, and starts typing to the client.
    alice = browser.new_context().new_page()
    log_in(alice, live_stack.console_url, operator.username)
    expect(my_session(alice, "Waiting for an answer to a check-in")).to_be_visible()
    expect(alice.get_by_text(re.compile(r"^Answer due in 0:[01]\d$"))).to_be_visible()
    my_session(alice, "Waiting for an answer to a check-in").click()
    countdown = alice.get_by_role("region", name="Check-ins").get_by_role("timer")
    expect(countdown).to_have_text(re.compile(r"^Waiting for an answer: 0:[01]\d left$"))
    reply = alice.get_by_label("Reply")
    reply.fill("are you there? text me back")

    # The alarm does not take the keyboard from someone typing; it still cannot be missed.
    banner = alarm_banner(alice)
    expect(banner).to_be_visible(timeout=SLOW)
    expect(alice).to_have_title(re.compile("ALARM"))
    expect(reply).to_be_focused()
    expect(reply).to_have_value("are you there? text me back")

    # Nobody acknowledges it in time: every operator's dashboard shows it, with whose it is.
    support.wait_until(
        lambda: EscalationStep.objects.filter(kind="widen_shift", status="done").exists(),
        timeout=SLOW / 1000,
    )
    bob = browser.new_context().new_page()
    log_in(bob, live_stack.console_url, operator2.username)
    widened = alarm_banner(bob)
    expect(widened).to_contain_text("Alice has not acknowledged this alarm.")
    expect(widened.get_by_role("button", name="Open the session")).to_have_count(0)
    acknowledge = widened.get_by_role("button", name="Acknowledge")
    expect(acknowledge).to_be_focused()
    acknowledge.click()
    expect(widened).to_have_count(0)

    # Whoever silences an alarm must be able to act on it: the session is Bob's now.
    expect(banner).to_have_count(0)
    assert Escalation.objects.get().acknowledged_by == operator2
    assert Session.objects.get().operator == operator2
    expect(my_session(bob, "Alarm under way")).to_be_visible()
    my_session(bob, "Alarm under way").click()
    expect(
        bob.get_by_role("region", name="Alarm under way: no answer to check-in 1")
    ).to_be_visible()
    expect(alice.get_by_role("region", name="My sessions").get_by_role("link")).to_have_count(0)

    # The person answers at last: the ladder stops and check-ins go on by themselves.
    live_stack.sandbox.send_text(PHONE, "sorry, fell asleep. i'm ok")
    answered = bob.get_by_role("region", name="The person answered")
    expect(answered).to_be_visible(timeout=SLOW)
    countdown = bob.get_by_role("region", name="Check-ins").get_by_role("timer")
    expect(countdown).to_have_text(re.compile(r"^Next check-in in (1:00|0:[0-5]\d)$"))
    expect(answered.get_by_role("button", name="Resume check-ins")).to_have_count(0)
    answered.get_by_label("What happened").select_option(label="Client found OK")
    answered.get_by_role("button", name="Record what happened").click()
    expect(answered).to_have_count(0)
    expect(my_session(bob, "Check-ins running")).to_be_visible()
    ladder = Escalation.objects.get()
    assert (ladder.status, ladder.outcome) == ("closed", "client_ok")

    # Later, check-ins end, after a confirmation; the person is told.
    checkins = bob.get_by_role("region", name="Check-ins")
    checkins.get_by_role("button", name="End check-ins").click()
    checkins.get_by_role(
        "group", name="End check-ins? The person gets a text saying they have ended."
    ).get_by_role("button", name="Yes, end check-ins").click()
    expect(checkins.get_by_role("status")).to_have_text(
        "Check-ins have ended. The person was told by text."
    )
    expect(checkins.get_by_role("button", name="Start check-ins")).to_be_focused()
    support.wait_until(
        lambda: any(b.startswith("Check-ins have ended") for b in bodies(live_stack)),
        timeout=SLOW / 1000,
    )
