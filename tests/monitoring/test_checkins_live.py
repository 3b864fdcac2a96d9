"""Check-ins on the real stack, in real seconds: daphne, a Celery worker and beat, the sandbox.

Nothing here freezes time. Monitoring starts with a 3-second interval and a 2-second grace
period; the client stays silent; the prompt, the re-prompt text and call, and then the
contact's text and call must reach the Twilio sandbox, each exactly once.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from clients.models import Region
from clients.plans import Contact, PlanFields
from dispatch.models import Escalation, EscalationStep
from monitoring import checkins
from monitoring import plans as plan_services
from monitoring.models import CheckIn, Session, SessionEvent, SessionStatus
from tests import support
from tests.factories import session_make

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PHONE = "+15145550171"
SISTER = "+15145550172"
TIMINGS = {
    "CHECKIN_MIN_INTERVAL_SECONDS": "1",
    "CHECKIN_MIN_GRACE_SECONDS": "1",
    "ESCALATION_RESPONSE_WAIT_SECONDS": "2",
    # "Both", EMS first: the contact hears after this, the operator having placed no call.
    "ESCALATION_CONTACT_AFTER_EMS_SECONDS": "3",
    "ALARM_WIDEN_SECONDS": "600",
    "TIMER_SWEEP_SECONDS": "1",
}


@pytest.fixture
def live_stack_env() -> dict[str, str]:
    return dict(TIMINGS)


@pytest.fixture
def monitored(live_stack: Any, operator: Any, settings: Any) -> Session:
    for name, value in TIMINGS.items():
        setattr(settings, name, float(value))
    session = session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)
    plan = PlanFields(
        address="4520 rue Saint-Denis",
        entry="Back door",
        region=Region.objects.create(name="Montréal").pk,
        response="both",
        contacts=(Contact("Maryse", SISTER, agreed=True),),
    )
    plan_services.plan_version_save(session_id=session.pk, user=operator, fields=plan, ready=True)
    checkins.monitoring_start(
        session_id=session.pk, user=operator, interval_seconds=3, grace_seconds=2
    )
    return session


def bodies(live_stack: Any, phone: str) -> list[str]:
    return [m["body"] for m in live_stack.sandbox.messages(to=phone)]


def test_a_silent_client_is_prompted_then_the_plan_is_followed(
    live_stack: Any, monitored: Session
) -> None:
    box = live_stack.sandbox
    with (
        tempfile.TemporaryDirectory() as folder,
        support.celery_beat(live_stack.env, str(Path(folder) / "beat-schedule")),
    ):
        box.wait_until(lambda: len(box.messages(to=SISTER)) == 1, timeout=40)
        box.wait_until(lambda: len(box.calls(to=SISTER)) == 1, timeout=20)
        # Several more sweeps go by: nothing may be sent twice.
        support.wait_until(
            lambda: SessionEvent.objects.filter(kind="call_ended").count() >= 2, timeout=20
        )

    texts = bodies(live_stack, PHONE)
    assert len(texts) == 3, texts
    assert texts[0].startswith("OK, we're with you")
    assert texts[1].startswith("Checking in")
    assert texts[2].startswith("We haven't heard from you")
    assert len(box.calls(to=PHONE)) == 1
    assert "4520 rue Saint-Denis" in bodies(live_stack, SISTER)[0]
    checkin = CheckIn.objects.get()
    ladder = Escalation.objects.get()
    assert checkin.status == "missed" and ladder.checkin == checkin
    response = EscalationStep.objects.get(escalation=ladder, kind="response")
    assert response.status == "done" and response.result.startswith("ems_task_shown")
    contact = EscalationStep.objects.get(escalation=ladder, kind="contact_after_ems")
    assert (contact.planned_at - response.planned_at).total_seconds() == 3
    assert contact.done_at is not None and contact.done_at >= contact.planned_at
    # The prompt went out on time: the countdown task is the precise path.
    prompted = SessionEvent.objects.get(kind="checkin_prompted")
    assert prompted.data["late_ms"] < 1500, prompted.data


def test_a_key_pressed_on_the_check_call_stops_the_ladder(
    live_stack: Any, monitored: Session
) -> None:
    """The sandbox answers the alarm's call as the client would, by pressing a key in reply to
    the call's own TwiML: Twilio's signed gather webhook reaches the console."""
    box = live_stack.sandbox
    box.set_number(PHONE, call="press")
    with (
        tempfile.TemporaryDirectory() as folder,
        support.celery_beat(live_stack.env, str(Path(folder) / "beat-schedule")),
    ):
        support.wait_until(
            lambda: SessionEvent.objects.filter(kind="client_pressed_key").exists(), timeout=40
        )
        first = Escalation.objects.order_by("pk").first()
        assert first is not None
        support.wait_until(lambda: Escalation.objects.get(pk=first.pk).status == "stopped")
        # Well past the 2-second wait for the plan's response, with a sweep every second.
        time.sleep(4)

    assert box.messages(to=SISTER) == [] and box.calls(to=SISTER) == []
    response = EscalationStep.objects.get(escalation=first, kind="response")
    assert response.status == "cancelled"
    (call,) = [c for c in box.calls(to=PHONE) if c["sid"] == client_check_sid(first)]
    assert call["status"] == "completed"
    # Check-ins went on by themselves after the key press.
    assert CheckIn.objects.filter(number__gt=first.checkin.number).exists()


def client_check_sid(ladder: Escalation) -> str | None:
    from telephony.models import OutboundCall, Purpose

    return OutboundCall.objects.get(ref_id=ladder.pk, purpose=Purpose.CLIENT_CHECK).twilio_sid
