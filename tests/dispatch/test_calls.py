"""Automated calls in the ladder: placed once through the outbox, and how they end counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client as HttpClient
from django.utils import timezone

from clients.models import Region
from clients.plans import Contact, PlanFields
from dispatch.models import Escalation, EscalationStatus
from monitoring import checkins
from monitoring import plans as plan_services
from monitoring.models import Session, SessionEvent, SessionStatus
from telephony import outbox
from telephony.models import CallStatus, OutboundCall, OutboundSMS, Purpose
from tests.factories import session_make
from tests.ladder import sweep
from tests.twilio_helpers import new_sid, signed_post

pytestmark = pytest.mark.django_db

PHONE = "+15145550123"
SISTER = "+15145550188"
INTERVAL, GRACE, WAIT = 60, 30, 45


@pytest.fixture
def start(settings: Any) -> Iterator[datetime]:
    settings.ESCALATION_RESPONSE_WAIT_SECONDS = WAIT
    at = timezone.now().replace(microsecond=0)
    with time_machine.travel(at, tick=False):
        yield at


@pytest.fixture
def alarm(operator: Any, start: datetime, sandbox: Any) -> Escalation:
    session = session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)
    plan = PlanFields(
        address="4520 rue Saint-Denis",
        region=Region.objects.create(name="Montréal").pk,
        response="contact",
        contacts=(Contact("Maryse", SISTER, agreed=True),),
    )
    plan_services.plan_version_save(session_id=session.pk, user=operator, fields=plan, ready=True)
    checkins.monitoring_start(
        session_id=session.pk, user=operator, interval_seconds=INTERVAL, grace_seconds=GRACE
    )
    for seconds in (INTERVAL, INTERVAL + GRACE):
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            sweep()
    return Escalation.objects.get()


def client_call() -> OutboundCall:
    return OutboundCall.objects.get(purpose=Purpose.CLIENT_CHECK)


def placed(call: OutboundCall) -> str:
    sid = new_sid("CA")
    OutboundCall.objects.filter(pk=call.pk).update(twilio_sid=sid, status=CallStatus.INITIATED)
    return sid


def status(sid: str, call_status: str, **extra: str) -> Any:
    params = {"CallSid": sid, "CallStatus": call_status, "AccountSid": "AC" + "0" * 32} | extra
    return signed_post(HttpClient(), "/twilio/calls/status/", params)


def response_step(alarm: Escalation) -> Any:
    return alarm.steps.get(kind="response")


def test_the_alarm_calls_the_client_and_asks_for_a_key(alarm: Escalation) -> None:
    call = client_call()
    assert call.to_phone == PHONE and call.ref_id == alarm.pk
    assert "<Gather" in call.twiml and f"/twilio/calls/gather/?call={call.pk}" in call.twiml
    assert "press any key" in call.twiml


def test_a_key_press_stops_the_ladder(alarm: Escalation) -> None:
    call = client_call()
    path = f"/twilio/calls/gather/?call={call.pk}"
    params = {"CallSid": placed(call), "Digits": "5"}
    answer = signed_post(HttpClient(), path, params)
    assert answer.status_code == 200 and b"Thank you" in answer.content
    signed_post(HttpClient(), path, params)  # Twilio retried
    alarm.refresh_from_db()
    assert alarm.status == EscalationStatus.STOPPED
    assert response_step(alarm).status == "cancelled"
    events = SessionEvent.objects.filter(kind="client_pressed_key")
    assert events.count() == 1


def reprompt_fails(alarm: Escalation) -> None:
    from telephony.outbox import callback_record as status_callback_record

    alarm.refresh_from_db()
    assert alarm.reprompt is not None
    sid = new_sid()
    OutboundSMS.objects.filter(pk=alarm.reprompt.pk).update(twilio_sid=sid, status="sent")
    status_callback_record(sid=sid, status="undelivered", error_code="30003")


@pytest.mark.parametrize("call_id", ["²", "١٢", "", "1x", "9" * 30])
def test_a_gather_for_a_malformed_call_is_a_400(call_id: str) -> None:
    # "²".isdigit() is true, and int("²") raises: that was a 500.
    path = f"/twilio/calls/gather/?{urlencode({'call': call_id})}"
    answer = signed_post(HttpClient(), path, {"CallSid": new_sid("CA"), "Digits": "5"})
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("ending", "extra"),
    [
        ("no-answer", {}),
        ("busy", {}),
        ("failed", {}),
        ("completed", {"AnsweredBy": "machine_start"}),
    ],
)
def test_a_call_that_reached_nobody_moves_the_ladder_on_once_the_text_failed_too(
    alarm: Escalation, start: datetime, ending: str, extra: dict[str, str]
) -> None:
    sid = placed(client_call())
    at = start + timedelta(seconds=INTERVAL + GRACE + 8)
    with time_machine.travel(at, tick=False):
        reprompt_fails(alarm)
        assert response_step(alarm).status == "pending"
        assert status(sid, "ringing").status_code == 200
        assert status(sid, ending, **extra).status_code == 200
        assert status(sid, ending, **extra).status_code == 200  # a repeat changes nothing
    step = response_step(alarm)
    assert (step.status, step.done_at) == ("done", at)
    contact_calls = OutboundCall.objects.filter(purpose=Purpose.CONTACT_ALERT)
    assert [c.to_phone for c in contact_calls] == [SISTER]
    assert "4520 rue Saint-Denis" in contact_calls[0].twiml


@pytest.mark.parametrize(
    ("ending", "extra"),
    [
        ("no-answer", {}),
        ("completed", {"AnsweredBy": "machine_start"}),
        ("completed", {"AnsweredBy": "human"}),  # picked up, but no key: never early
    ],
)
def test_a_call_alone_never_cuts_the_wait_short(
    alarm: Escalation, start: datetime, ending: str, extra: dict[str, str]
) -> None:
    sid = placed(client_call())
    with time_machine.travel(start + timedelta(seconds=INTERVAL + GRACE + 3), tick=False):
        status(sid, "ringing")
        status(sid, ending, **extra)
    assert response_step(alarm).status == "pending"
    with time_machine.travel(start + timedelta(seconds=INTERVAL + GRACE + WAIT), tick=False):
        sweep()
    assert response_step(alarm).status == "done"


def test_a_person_who_picked_up_without_a_key_gets_the_full_wait_even_if_the_text_failed(
    alarm: Escalation, start: datetime
) -> None:
    sid = placed(client_call())
    with time_machine.travel(start + timedelta(seconds=INTERVAL + GRACE + 3), tick=False):
        reprompt_fails(alarm)
        status(sid, "in-progress", AnsweredBy="human")
        status(sid, "completed", AnsweredBy="human")
    assert response_step(alarm).status == "pending"


@pytest.mark.parametrize(
    ("answered_by", "reached"),
    [
        ("human", True),
        ("machine_start", False),
        ("machine_end_beep", False),
        ("fax", False),
        ("unknown", False),  # detection could not tell: nobody is known to have heard it
    ],
)
def test_a_contact_is_reached_only_by_a_person_answering(
    alarm: Escalation, start: datetime, answered_by: str, reached: bool
) -> None:
    with time_machine.travel(start + timedelta(seconds=INTERVAL + GRACE + WAIT), tick=False):
        sweep()
    (contact_call,) = OutboundCall.objects.filter(purpose=Purpose.CONTACT_ALERT)
    sid = placed(contact_call)
    assert status(sid, "completed", AnsweredBy=answered_by).status_code == 200
    ended = SessionEvent.objects.get(kind="call_ended", data__purpose=Purpose.CONTACT_ALERT)
    assert ended.data["reached"] is reached


def test_a_call_still_ringing_does_not_move_the_ladder(alarm: Escalation) -> None:
    sid = placed(client_call())
    status(sid, "in-progress")
    assert response_step(alarm).status == "pending"


def test_call_statuses_only_move_forward(alarm: Escalation) -> None:
    call = client_call()
    sid = placed(call)
    status(sid, "completed", AnsweredBy="human")
    status(sid, "ringing")
    call.refresh_from_db()
    assert (call.status, call.answered_by) == ("completed", "human")


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/twilio/calls/status/", {"CallSid": "CA123", "CallStatus": "completed"}, 400),
        # A status Twilio adds later is kept, never refused.
        ("/twilio/calls/status/", {"CallSid": new_sid("CA"), "CallStatus": "exploded"}, 200),
        ("/twilio/calls/status/", {"CallSid": new_sid("CA")}, 400),
        (
            "/twilio/calls/status/",
            {"CallSid": new_sid("CA"), "CallStatus": "completed", "AnsweredBy": "<x>"},
            400,
        ),
        ("/twilio/calls/gather/", {"Digits": "1"}, 400),
        ("/twilio/calls/gather/?call=abc", {"Digits": "1"}, 400),
        ("/twilio/calls/gather/?call=1", {"Digits": "1; DROP"}, 400),
        ("/twilio/calls/gather/?call=999", {"Digits": "1"}, 200),
        ("/twilio/calls/status/", {"CallSid": new_sid("CA"), "CallStatus": "completed"}, 200),
    ],
)
def test_call_webhooks_answer_bad_input_clearly(path: str, params: Any, code: int) -> None:
    assert signed_post(HttpClient(), path, params).status_code == code


def test_call_webhooks_refuse_unsigned_requests(alarm: Escalation) -> None:
    call = client_call()
    response = HttpClient().post(f"/twilio/calls/gather/?call={call.pk}", {"Digits": "1"})
    assert response.status_code == 403
    alarm.refresh_from_db()
    assert alarm.status == EscalationStatus.OPEN


def test_a_call_is_placed_once_through_twilio(
    alarm: Escalation, sandbox: Any, start: datetime
) -> None:
    call = client_call()
    with time_machine.travel(start + timedelta(seconds=INTERVAL + GRACE + 1), tick=False):
        first = outbox.call_place(call_id=call.pk)
        again = outbox.call_place(call_id=call.pk)
    assert first is not None and again is None
    (made,) = sandbox.calls(to=PHONE)
    assert made["sid"] == first.twilio_sid
    assert first.status == CallStatus.INITIATED


def test_a_call_the_sweeper_finds_stuck_is_not_placed_again(
    alarm: Escalation, start: datetime
) -> None:
    call = client_call()
    OutboundCall.objects.filter(pk=call.pk).update(
        status=CallStatus.SENDING, claimed_at=start + timedelta(seconds=INTERVAL + GRACE)
    )
    later = start + timedelta(seconds=INTERVAL + GRACE + 3600)
    with time_machine.travel(later, tick=False):
        swept = outbox.outbox_sweep(now=later)
    assert swept["calls_unconfirmed"] == 1
    call.refresh_from_db()
    assert call.status == CallStatus.UNCONFIRMED
    # Not knowing whether the client's phone rang is no reason to cut the wait short.
    assert response_step(alarm).status == "pending"


def test_events_record_how_each_call_ended(alarm: Escalation) -> None:
    sid = placed(client_call())
    status(sid, "no-answer")
    event = SessionEvent.objects.get(kind="call_ended")
    assert event.data == {
        "purpose": "client_check",
        "status": "no-answer",
        "answered_by": "",
        "reached": False,
    }
    assert Session.objects.get().pk == event.session_id
