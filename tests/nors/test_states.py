from __future__ import annotations

from typing import Any

import pytest

from dispatch.models import (
    ESCALATION_TRANSITIONS,
    STEP_TRANSITIONS,
    EscalationStatus,
    StepStatus,
)
from monitoring.models import (
    CHECKIN_TRANSITIONS,
    MONITORING_TRANSITIONS,
    SESSION_TRANSITIONS,
    CheckInStatus,
    MonitoringStatus,
    Session,
    SessionStatus,
)
from nors.lib.states import IllegalTransition, status_move
from tests.factories import session_make

TABLES = [
    (SESSION_TRANSITIONS, SessionStatus),
    (MONITORING_TRANSITIONS, MonitoringStatus),
    (CHECKIN_TRANSITIONS, CheckInStatus),
    (ESCALATION_TRANSITIONS, EscalationStatus),
    (STEP_TRANSITIONS, StepStatus),
]


@pytest.mark.parametrize(("table", "enum"), TABLES)
def test_every_status_has_a_row_in_its_table(table: dict[str, set[str]], enum: Any) -> None:
    assert set(table) == set(enum.values)
    assert all(set(moves) <= set(enum.values) for moves in table.values())


@pytest.mark.django_db
def test_a_move_the_table_forbids_raises_and_changes_nothing() -> None:
    session = session_make(status=SessionStatus.ENDED)
    with pytest.raises(IllegalTransition):
        status_move(
            Session.objects.filter(pk=session.pk),
            SESSION_TRANSITIONS,
            old=SessionStatus.ENDED,
            new=SessionStatus.ACTIVE,
        )
    assert Session.objects.get(pk=session.pk).status == SessionStatus.ENDED


@pytest.mark.django_db
def test_a_move_another_worker_made_first_changes_no_row() -> None:
    session = session_make(status=SessionStatus.WAITING)
    rows = Session.objects.filter(pk=session.pk)
    move = {"old": SessionStatus.WAITING, "new": SessionStatus.ENDED}
    assert status_move(rows, SESSION_TRANSITIONS, **move) == 1
    assert status_move(rows, SESSION_TRANSITIONS, **move) == 0
