from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from clients.models import Client, PlanVersion, Region
from clients.plans import Contact, PlanFields
from dispatch.models import DispatchLine, Escalation
from monitoring import checkins
from monitoring import plans as plan_services
from monitoring.models import Session, SessionStatus
from telephony.models import CallStatus, OutboundCall, OutboundSMS, Purpose
from tests.factories import session_make
from tests.ladder import sweep
from tests.twilio_helpers import new_sid


@dataclass
class World:
    """One operator's sessions in the states requests act on, and every id they could name."""

    operator: Any  # whose sessions these are
    ready: Session  # the plan is ready, check-ins have not started
    alarmed: Session  # a check-in was missed: an open alarm, its call placed
    escalation: Escalation
    call: OutboundCall
    ids: list[int]
    sids: list[str]


def _plan(region: Region) -> PlanFields:
    return PlanFields(
        address="4520 rue Saint-Denis",
        region=region.pk,
        response="both",
        contacts=(Contact("Maryse", "+15145550188", agreed=True),),
        substances="fentanyl",
        naloxone="yes",
    )


def _ready(operator: Any, phone: str, region: Region) -> Session:
    session = session_make(phone, status=SessionStatus.ACTIVE, operator=operator)
    plan_services.plan_version_save(
        session_id=session.pk, user=operator, fields=_plan(region), ready=True
    )
    return session


def _alarm(session: Session, operator: Any) -> Escalation:
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        checkins.monitoring_start(
            session_id=session.pk, user=operator, interval_seconds=60, grace_seconds=30
        )
    for seconds in (60, 90):
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            sweep()
    return Escalation.objects.get(session=session)


@pytest.fixture
def region(db: Any) -> Region:
    region = Region.objects.create(name="Montréal")
    DispatchLine.objects.create(region=region, name="Urgences-santé", phone="5145550911")
    return region


@pytest.fixture
def ready_session(operator: Any, region: Region) -> Session:
    """The operator's session, its plan ready: check-ins can start."""
    return _ready(operator, "+15145550123", region)


@pytest.fixture
def world(
    sandbox: Any, operator: Any, operator2: Any, region: Region, ready_session: Session
) -> World:
    ready = ready_session
    alarmed = _ready(operator, "+15145550124", region)
    escalation = _alarm(alarmed, operator)
    call = OutboundCall.objects.get(purpose=Purpose.CLIENT_CHECK)
    OutboundCall.objects.filter(pk=call.pk).update(
        twilio_sid=new_sid("CA"), status=CallStatus.INITIATED
    )
    call.refresh_from_db()
    sids = [s for s in OutboundSMS.objects.values_list("twilio_sid", flat=True) if s]
    ids = sorted(
        {ready.pk, alarmed.pk, escalation.pk, call.pk, region.pk, operator.pk, operator2.pk}
        | set(PlanVersion.objects.values_list("pk", flat=True))
        | set(Client.objects.values_list("pk", flat=True))
    )
    return World(operator, ready, alarmed, escalation, call, ids, [*sids, str(call.twilio_sid)])
