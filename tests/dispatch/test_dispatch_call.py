"""One click joins the operator and the region's dispatch line in a Twilio conference."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client as HttpClient
from django.utils import timezone

from clients.models import Region
from clients.plans import PlanFields
from dispatch.models import DispatchLine, Escalation, OperatorPhone
from monitoring import checkins
from monitoring import plans as plan_services
from monitoring.models import Session, SessionEvent, SessionStatus
from telephony.models import OutboundCall, Purpose
from tests.factories import session_make
from tests.ladder import sweep

pytestmark = pytest.mark.django_db

OPERATOR_PHONE = "+15145550111"


@pytest.fixture
def alarm(operator: Any, sandbox: Any) -> Escalation:
    session = session_make("+15145550123", status=SessionStatus.ACTIVE, operator=operator)
    region = Region.objects.create(name="Montréal")
    DispatchLine.objects.create(region=region, name="Urgences-santé", phone="514 555 0911")
    plan = PlanFields(address="4520 rue Saint-Denis", region=region.pk, response="ems")
    plan_services.plan_version_save(session_id=session.pk, user=operator, fields=plan, ready=True)
    checkins.monitoring_start(session_id=session.pk, user=operator, interval_seconds=60)
    now = timezone.now()
    for seconds in (61, 61 + 61):
        with time_machine.travel(now + timedelta(seconds=seconds), tick=False):
            sweep()
    return Escalation.objects.get()


def call(user: Any, session: Session, body: dict[str, Any]) -> Any:
    web = HttpClient()
    web.force_login(user)
    return web.post(
        f"/api/sessions/{session.pk}/alarm/call/", json.dumps(body), content_type="application/json"
    )


def test_it_rings_the_operator_and_the_dispatch_line_into_one_conference(
    alarm: Escalation, operator: Any
) -> None:
    OperatorPhone.objects.create(user=operator, phone=OPERATOR_PHONE)
    answer = call(operator, alarm.session, {"escalation": alarm.pk, "line": 0})
    assert answer.json() == {
        "ok": True,
        "call": {"status": "calling", "conference": f"alarm-{alarm.pk}"},
    }
    legs = {
        c.purpose: c
        for c in OutboundCall.objects.filter(ref_id=alarm.pk).exclude(purpose=Purpose.CLIENT_CHECK)
    }
    operator_leg, line_leg = legs[Purpose.DISPATCH_OPERATOR], legs[Purpose.DISPATCH_LINE]
    assert operator_leg.to_phone == OPERATOR_PHONE
    assert line_leg.to_phone == "+15145550911"
    # The operator's leg starts and ends the conference: the operator stays in control.
    assert 'endConferenceOnExit="true"' in operator_leg.twiml
    assert 'startConferenceOnEnter="false"' in line_leg.twiml
    assert f"alarm-{alarm.pk}</Conference>" in line_leg.twiml
    assert SessionEvent.objects.filter(kind="dispatch_call").count() == 1


def test_a_second_click_does_not_call_twice(alarm: Escalation, operator: Any) -> None:
    OperatorPhone.objects.create(user=operator, phone=OPERATOR_PHONE)
    call(operator, alarm.session, {"escalation": alarm.pk, "line": 0})
    again = call(operator, alarm.session, {"escalation": alarm.pk, "line": 0})
    assert again.status_code == 409 and "already under way" in again.json()["error"]
    assert OutboundCall.objects.filter(purpose=Purpose.DISPATCH_LINE).count() == 1


def test_an_operator_without_a_phone_is_told_what_to_do(alarm: Escalation, operator: Any) -> None:
    answer = call(operator, alarm.session, {"escalation": alarm.pk, "line": 0})
    assert answer.status_code == 409 and "ask a supervisor" in answer.json()["error"]
    assert not OutboundCall.objects.filter(purpose=Purpose.DISPATCH_LINE).exists()


@pytest.mark.parametrize("line", [1, -1, "0", None, True])
def test_the_line_must_be_one_of_the_regions(alarm: Escalation, operator: Any, line: Any) -> None:
    OperatorPhone.objects.create(user=operator, phone=OPERATOR_PHONE)
    answer = call(operator, alarm.session, {"escalation": alarm.pk, "line": line})
    assert answer.status_code == 400


def test_another_operator_cannot_place_the_call(alarm: Escalation, operator2: Any) -> None:
    OperatorPhone.objects.create(user=operator2, phone=OPERATOR_PHONE)
    assert call(operator2, alarm.session, {"escalation": alarm.pk, "line": 0}).status_code == 403


def test_supervisors_keep_dispatch_lines_with_valid_numbers(supervisor: Any) -> None:
    region = Region.objects.create(name="Laval")
    web = HttpClient()
    web.force_login(supervisor)
    bad = web.post(
        "/admin/dispatch/dispatchline/add/",
        {"region": region.pk, "name": "Laval EMS", "phone": "911", "active": "on"},
    )
    assert bad.status_code == 200 and b"10-digit" in bad.content
    good = web.post(
        "/admin/dispatch/dispatchline/add/",
        {"region": region.pk, "name": "Laval EMS", "phone": "450 555 0911", "active": "on"},
    )
    assert good.status_code == 302
    assert DispatchLine.objects.filter(region=region).count() == 1
