"""Reads for the escalation ladder and the dispatch directory."""

from __future__ import annotations

from typing import Any

from clients.models import PlanStatus, PlanVersion
from dispatch import permissions
from dispatch.models import (
    DispatchLine,
    Escalation,
    EscalationOutcome,
    EscalationStatus,
    EscalationStep,
)
from monitoring.selectors import phone_masked
from nors.lib import roles


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def step_dict(step: EscalationStep) -> dict[str, Any]:
    return {
        "kind": step.kind,
        "label": str(step.get_kind_display()),
        "status": step.status,
        "planned_at": _iso(step.planned_at),
        "due_at": _iso(step.due_at),
        "done_at": _iso(step.done_at),
        "result": step.result,
    }


def dispatch_lines(*, region_id: int | None) -> list[dict[str, Any]]:
    if region_id is None:
        return []
    lines = DispatchLine.objects.filter(region_id=region_id, active=True)
    return [
        {
            "name": line.name,
            "phone": line.phone,
            "notes": line.notes,
            "last_verified": _iso(line.last_verified),
        }
        for line in lines
    ]


def alarm_dict(escalation: Escalation) -> dict[str, Any]:
    return {"type": "alarm", "escalation": escalation_dict(escalation)}


def plan_in_force(escalation: Escalation) -> PlanVersion:
    """The plan the ladder follows: the session's plan in force now if it is ready (the client
    may have moved since check-ins began), else the one check-ins started with."""
    current = escalation.session.plan_version
    if current is not None and current.status == PlanStatus.READY:
        return current
    return escalation.checkin.monitoring.plan_version


def escalation_dict(escalation: Escalation) -> dict[str, Any]:
    """What an alarm shows on a dashboard: no location; that is in the audited dispatch task."""
    steps = list(escalation.steps.all())
    session = escalation.session
    return {
        "id": escalation.pk,
        "session_id": escalation.session_id,
        "phone_masked": phone_masked(session.client_phone),
        "operator": roles.display_name(session.operator) if session.operator else "",
        "operator_id": session.operator_id,
        "widened": permissions.alarm_widened(escalation, steps),
        "status": escalation.status,
        "status_label": str(escalation.get_status_display()),
        "started_at": _iso(escalation.started_at),
        "acknowledged_at": _iso(escalation.acknowledged_at),
        "ended_at": _iso(escalation.ended_at),
        "outcome": escalation.outcome,
        "checkin": escalation.checkin.number,
        "steps": [step_dict(s) for s in steps],
    }


def escalations_open(*, session_id: int) -> list[Escalation]:
    open_ = Escalation.objects.filter(session_id=session_id).exclude(status=EscalationStatus.CLOSED)
    return list(open_.select_related("checkin").order_by("started_at"))


def alarms_for(*, user: Any) -> list[dict[str, Any]]:
    """Alarms on this operator's sessions, and any alarm nobody acknowledged in time."""
    unclosed = (
        Escalation.objects.exclude(status=EscalationStatus.CLOSED)
        .select_related("session__operator", "checkin")
        .prefetch_related("steps")
    )
    return [
        escalation_dict(escalation)
        for escalation in unclosed.order_by("started_at")
        if permissions.alarm_visible_to(escalation, escalation.steps.all(), user)
    ]


def dispatch_task(*, escalation: Escalation) -> dict[str, Any]:
    """Everything the operator needs to call EMS. Personal data: callers record the read."""
    plan = plan_in_force(escalation)
    return {
        "escalation": escalation.pk,
        "region": plan.region.name if plan.region else "",
        "dispatch_lines": dispatch_lines(region_id=plan.region_id),
        "address": plan.address,
        "unit": plan.unit,
        "entry": plan.entry,
        "landmarks": plan.landmarks,
        "substances": plan.substances,
        "amount": plan.amount,
        "route": str(plan.get_route_display()) if plan.route else "",
        "naloxone": str(plan.get_naloxone_display()) if plan.naloxone else "",
        "others_nearby": plan.others_nearby,
        "medical_notes": plan.medical_notes,
        "practical_notes": plan.practical_notes,
        "outcomes": [(v, str(label)) for v, label in EscalationOutcome.choices],
    }
