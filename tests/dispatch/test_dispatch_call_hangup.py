"""The operator sees both legs of the dispatch call, and hangs it up with one click."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.utils import translation

from dispatch import selectors
from dispatch.handlers import session_alarms
from dispatch.models import Escalation, OperatorPhone
from monitoring.models import EventKind, SessionEvent
from telephony import outbox
from telephony.models import CallStatus, OutboundCall, Purpose
from tests.dispatch.test_dispatch_call import OPERATOR_PHONE, call
from tests.dispatch.test_dispatch_call import alarm as alarm

pytestmark = pytest.mark.django_db

LINE_PHONE = "+15145550911"


def hang_up(user: Any, alarm: Escalation) -> Any:
    web = HttpClient()
    if user is not None:
        web.force_login(user)
    return web.post(
        f"/api/sessions/{alarm.session_id}/alarm/call/hangup/",
        json.dumps({"escalation": alarm.pk}),
        content_type="application/json",
    )


def legs(alarm: Escalation) -> dict[str, OutboundCall]:
    rows = OutboundCall.objects.filter(ref_id=alarm.pk).exclude(purpose=Purpose.CLIENT_CHECK)
    return {row.purpose: row for row in rows}


@pytest.fixture
def calling(alarm: Escalation, operator: Any) -> Escalation:
    """The operator clicked "Call dispatch and join me"; the worker has not placed it yet."""
    OperatorPhone.objects.create(user=operator, phone=OPERATOR_PHONE)
    assert call(operator, alarm.session, {"escalation": alarm.pk, "line": 0}).status_code == 200
    return alarm


@pytest.fixture
def connected(calling: Escalation, sandbox: Any) -> Escalation:
    """Both legs placed and answered: each stays in the conference until hung up."""
    for row in legs(calling).values():
        placed = outbox.call_place(call_id=row.pk)
        assert placed is not None and placed.twilio_sid
        sid = placed.twilio_sid
        sandbox.wait_until(lambda sid=sid: sandbox_status(sandbox, sid) == "in-progress")
        for status in ("ringing", "in-progress"):
            outbox.callback_record(sid=sid, status=status)
    return calling


def sandbox_status(sandbox: Any, sid: str) -> str:
    return next(str(c["status"]) for c in sandbox.calls() if c["sid"] == sid)


def shown(alarm: Escalation) -> list[tuple[str, str]]:
    payload = selectors.dispatch_call_dict(alarm)
    return [(leg["leg"], leg["label"]) for leg in payload["legs"]]


def test_the_alarm_shows_each_leg_as_it_moves(connected: Escalation, operator: Any) -> None:
    assert shown(connected) == [("operator", "You joined"), ("dispatch", "Dispatch joined")]
    [alarm] = selectors.alarms_for(user=operator)
    assert alarm["call"]["live"] is True
    assert [leg["status"] for leg in alarm["call"]["legs"]] == ["in-progress", "in-progress"]


def test_a_reload_shows_the_same_legs_as_the_live_events(connected: Escalation) -> None:
    [escalation] = session_alarms(session=connected.session)["escalations"]
    assert escalation["call"] == selectors.dispatch_call_dict(connected)


def test_hanging_up_ends_both_legs_through_twilio(
    connected: Escalation, operator: Any, sandbox: Any
) -> None:
    answer = hang_up(operator, connected)
    assert answer.status_code == 200 and answer.json()["ok"]
    for row in legs(connected).values():
        assert row.twilio_sid and sandbox_status(sandbox, row.twilio_sid) == "completed"
        outbox.callback_record(sid=row.twilio_sid, status="completed")
    assert shown(connected) == [("operator", "Call ended"), ("dispatch", "Call ended")]
    ended = SessionEvent.objects.filter(kind=EventKind.DISPATCH_CALL_ENDED)
    assert [event.actor for event in ended] == [operator]


def test_a_second_click_before_twilio_reports_writes_nothing_twice(
    connected: Escalation, operator: Any
) -> None:
    assert hang_up(operator, connected).status_code == 200
    # Twilio's reports are not in yet: the legs still look live, and Twilio is asked again.
    assert hang_up(operator, connected).status_code == 200
    assert SessionEvent.objects.filter(kind=EventKind.DISPATCH_CALL_ENDED).count() == 1


def test_a_click_once_it_is_over_is_a_clear_conflict(connected: Escalation, operator: Any) -> None:
    hang_up(operator, connected)
    for row in legs(connected).values():
        assert row.twilio_sid
        outbox.callback_record(sid=row.twilio_sid, status="completed")
    again = hang_up(operator, connected)
    assert again.status_code == 409 and "already ended" in again.json()["error"]


def test_a_call_not_placed_yet_is_canceled_without_twilio(
    calling: Escalation, operator: Any, sandbox: Any
) -> None:
    answer = hang_up(operator, calling)
    assert answer.status_code == 200
    assert answer.json()["call"]["live"] is False
    assert {row.status for row in legs(calling).values()} == {CallStatus.CANCELED}
    assert sandbox.calls() == []


def test_a_supervisor_may_hang_up(calling: Escalation, supervisor: Any) -> None:
    assert hang_up(supervisor, calling).status_code == 200


@pytest.mark.parametrize("who", ["operator2", "outsider"])
def test_nobody_else_may_hang_up(calling: Escalation, who: str, request: Any) -> None:
    answer = hang_up(request.getfixturevalue(who), calling)
    assert answer.status_code == 403
    assert {row.status for row in legs(calling).values()} == {CallStatus.QUEUED}
    assert not SessionEvent.objects.filter(kind=EventKind.DISPATCH_CALL_ENDED).exists()


def test_a_visitor_who_is_not_logged_in_is_told_to_log_in(calling: Escalation) -> None:
    assert hang_up(None, calling).status_code == 401
    assert {row.status for row in legs(calling).values()} == {CallStatus.QUEUED}


def test_the_legs_are_labelled_in_french_too() -> None:
    with translation.override("fr"):
        assert selectors.leg_label("dispatch", CallStatus.RINGING) == "La répartition sonne"
        assert selectors.leg_label("operator", CallStatus.IN_PROGRESS) == "Vous êtes en ligne"
        assert selectors.leg_label("operator", CallStatus.COMPLETED) == "Appel terminé"
