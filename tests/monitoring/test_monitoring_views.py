"""Check-ins and alarms through the dashboard's JSON API and snapshot."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client as HttpClient
from django.utils import timezone

from clients.models import Region
from clients.plans import Contact, PlanFields
from dispatch.models import DispatchLine, Escalation
from monitoring import plans as plan_services
from monitoring import selectors
from monitoring.models import Monitoring, PersonalDataAccess, Session, SessionStatus
from tests.factories import session_make
from tests.ladder import sweep

pytestmark = pytest.mark.django_db

PHONE = "+15145550123"


@pytest.fixture
def session(operator: Any) -> Session:
    session = session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)
    region = Region.objects.create(name="Montréal")
    DispatchLine.objects.create(region=region, name="Urgences-santé", phone="5145550911")
    plan = PlanFields(
        address="4520 rue Saint-Denis",
        entry="Buzzer 12",
        region=region.pk,
        response="both",
        contacts=(Contact("Maryse", "+15145550188", agreed=True),),
        substances="fentanyl",
        naloxone="yes",
    )
    plan_services.plan_version_save(session_id=session.pk, user=operator, fields=plan, ready=True)
    return session


def web_for(user: Any) -> HttpClient:
    client = HttpClient()
    client.force_login(user)
    return client


def post(web: HttpClient, session: Session, action: str, body: Any = None) -> Any:
    return web.post(
        f"/api/sessions/{session.pk}/{action}/",
        json.dumps(body or {}),
        content_type="application/json",
    )


def test_the_operator_starts_and_ends_check_ins(session: Session, operator: Any) -> None:
    web = web_for(operator)
    started = post(web, session, "monitoring/start", {"interval_minutes": 2}).json()
    assert started["ok"] and started["monitoring"]["interval_seconds"] == 120
    assert started["monitoring"]["next"]["status"] == "scheduled"
    assert started["session"]["monitoring"]["next_due_at"]
    ended = post(web, session, "monitoring/end").json()
    assert ended["monitoring"]["status"] == "ended"
    assert post(web, session, "monitoring/end").status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"interval_minutes": "two"},
        {"interval_minutes": 0.5},
        {"interval_minutes": 31},
        {"grace_seconds": 5},
        {"interval_minutes": 2, "ends_in_minutes": 1},
    ],
)
def test_bad_settings_get_a_clear_error(session: Session, operator: Any, body: Any) -> None:
    response = post(web_for(operator), session, "monitoring/start", body)
    assert response.status_code == 400 and response.json()["error"]
    assert not Monitoring.objects.exists()


def test_another_operator_cannot_start_check_ins(session: Session, operator2: Any) -> None:
    assert post(web_for(operator2), session, "monitoring/start").status_code == 403


def _missed(session: Session, operator: Any) -> Escalation:
    """Needs the `sandbox` fixture: the prompt must leave before its grace period counts."""
    post(web_for(operator), session, "monitoring/start", {"interval_minutes": 1})
    now = timezone.now()
    for seconds in (61, 61 + 61):
        with time_machine.travel(now + timedelta(seconds=seconds), tick=False):
            sweep()
    return Escalation.objects.get()


def test_an_alarm_is_in_the_snapshot_until_it_is_closed(
    sandbox: Any, session: Session, operator: Any
) -> None:
    alarm = _missed(session, operator)
    snapshot = selectors.dashboard_snapshot(user=operator)
    assert [a["id"] for a in snapshot["alarms"]] == [alarm.pk]
    assert snapshot["timers"]["last_run_at"]
    assert "Saint-Denis" not in json.dumps(snapshot)  # the location is only in the dispatch task
    web = web_for(operator)
    acked = post(web, session, "alarm/acknowledge", {"escalation": alarm.pk}).json()
    assert acked["alarm"]["acknowledged_at"]
    post(web, session, "alarm/close", {"escalation": alarm.pk, "outcome": "client_ok"})
    assert selectors.dashboard_snapshot(user=operator)["alarms"] == []


def test_a_widened_alarm_shows_on_every_operators_dashboard(
    sandbox: Any, session: Session, operator: Any, operator2: Any, settings: Any
) -> None:
    alarm = _missed(session, operator)
    assert selectors.dashboard_snapshot(user=operator2)["alarms"] == []
    with time_machine.travel(timezone.now() + timedelta(seconds=400), tick=False):
        sweep()
    shown = selectors.dashboard_snapshot(user=operator2)["alarms"]
    assert [(a["id"], a["widened"]) for a in shown] == [(alarm.pk, True)]
    post(web_for(operator2), session, "alarm/acknowledge", {"escalation": alarm.pk})
    # Acknowledging it made the session theirs: the alarm is now theirs to close.
    (theirs,) = selectors.dashboard_snapshot(user=operator2)["alarms"]
    assert (theirs["operator_id"], theirs["widened"]) == (operator2.pk, False)
    assert selectors.dashboard_snapshot(user=operator)["alarms"] == []


def test_the_dispatch_task_shows_what_ems_needs_and_the_read_is_recorded(
    sandbox: Any, session: Session, operator: Any
) -> None:
    alarm = _missed(session, operator)
    task = post(web_for(operator), session, "alarm/dispatch", {"escalation": alarm.pk}).json()
    assert task["task"]["dispatch_lines"][0]["phone"] == "5145550911"
    assert task["task"]["address"] == "4520 rue Saint-Denis"
    assert task["task"]["substances"] == "fentanyl"
    assert task["task"]["naloxone"] == "Yes, naloxone is there"
    assert PersonalDataAccess.objects.filter(field="dispatch_task", user=operator).count() == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ({"escalation": "1"}, 400), ({"escalation": 999}, 404)],
)
def test_alarm_requests_name_a_real_alarm(
    session: Session, operator: Any, body: Any, status: int
) -> None:
    for action in ("alarm/acknowledge", "alarm/close", "alarm/dispatch"):
        assert post(web_for(operator), session, action, body).status_code == status


def test_an_unknown_outcome_is_refused(sandbox: Any, session: Session, operator: Any) -> None:
    alarm = _missed(session, operator)
    response = post(web_for(operator), session, "alarm/close", {"escalation": alarm.pk})
    assert response.status_code == 400
    bad = post(
        web_for(operator), session, "alarm/close", {"escalation": alarm.pk, "outcome": "arrest"}
    )
    assert bad.status_code == 400
