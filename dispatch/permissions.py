"""Who may see and act on an alarm: one place, read by the dashboard and by every action."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dispatch.models import Escalation, EscalationStatus, EscalationStep, StepKind, StepStatus
from nors.lib import roles


def alarm_widened(escalation: Escalation, steps: Iterable[EscalationStep]) -> bool:
    """Shown to every operator: nobody acknowledged it in time, or nobody holds the session."""
    if escalation.acknowledged_at is not None:
        return False
    return escalation.session.operator_id is None or any(
        s.kind == StepKind.WIDEN_SHIFT and s.status == StepStatus.DONE for s in steps
    )


def alarm_visible_to(escalation: Escalation, steps: Iterable[EscalationStep], user: Any) -> bool:
    """Its session's operator sees it until it is closed; others only while it is open and
    widened to them."""
    if escalation.status == EscalationStatus.CLOSED:
        return False
    if escalation.session.operator_id == user.pk:
        return True
    return escalation.status == EscalationStatus.OPEN and alarm_widened(escalation, steps)


def may_acknowledge(escalation: Escalation, user: Any) -> bool:
    """An open alarm that this person can see: their own, one widened to them, or, for a
    supervisor, any. Acknowledging another's alarm takes the session, so this is the door."""
    if escalation.status != EscalationStatus.OPEN or not roles.is_operator(user):
        return False
    if roles.is_supervisor(user):
        return True
    return alarm_visible_to(escalation, escalation.steps.all(), user)
