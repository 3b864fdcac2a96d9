"""The dashboard's snapshot reads alarms in a fixed number of queries, however many there are."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients.models import Region
from clients.plans import PlanFields
from dispatch.models import Escalation
from monitoring import checkins, selectors
from monitoring import plans as plan_services
from monitoring.models import SessionStatus
from tests.factories import session_make
from tests.ladder import sweep

pytestmark = pytest.mark.django_db


def _alarms(operator: Any, numbers: range, region: Region) -> None:
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        for i in numbers:
            session = session_make(f"+1514555{1000 + i:04d}", SessionStatus.ACTIVE, operator)
            plan = PlanFields(address="4520 rue Saint-Denis", region=region.pk, response="ems")
            plan_services.plan_version_save(
                session_id=session.pk, user=operator, fields=plan, ready=True
            )
            checkins.monitoring_start(
                session_id=session.pk, user=operator, interval_seconds=60, grace_seconds=10
            )
    for seconds in (60, 70):
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            sweep()


def _snapshot_queries(operator: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        snapshot = selectors.dashboard_snapshot(user=operator)
    assert len(snapshot["alarms"]) == Escalation.objects.count()
    return len(queries)


def test_the_snapshot_reads_alarms_without_a_query_per_alarm(operator: Any, sandbox: Any) -> None:
    region = Region.objects.create(name="Montréal")
    _alarms(operator, range(1), region)
    one = _snapshot_queries(operator)
    _alarms(operator, range(1, 5), region)
    assert Escalation.objects.count() == 5
    assert _snapshot_queries(operator) == one
