"""Reads for the escalation ladder and the dispatch directory."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.utils.translation import gettext as _

from clients.models import PlanStatus, PlanVersion
from dispatch import permissions
from dispatch.models import (
    DispatchLine,
    Escalation,
    EscalationOutcome,
    EscalationStatus,
    EscalationStep,
    StepKind,
)
from monitoring.selectors import phone_masked
from nors.lib import roles
from telephony.models import CALL_LIVE, CallStatus, OutboundCall, Purpose


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def step_label(kind: str) -> str:
    return str(StepKind(kind).label) if kind in StepKind.values else kind


def step_dict(step: EscalationStep) -> dict[str, Any]:
    return {
        "kind": step.kind,
        "label": step_label(step.kind),
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


# -- the dispatch call's two legs, as the operator's screen shows them ---------------------------

LEGS: dict[str, str] = {Purpose.DISPATCH_OPERATOR: "operator", Purpose.DISPATCH_LINE: "dispatch"}
_NOT_YET = (CallStatus.QUEUED, CallStatus.SENDING, CallStatus.INITIATED)
_NOBODY = (CallStatus.NO_ANSWER, CallStatus.BUSY)
_BROKEN = (CallStatus.FAILED, CallStatus.UNCONFIRMED)


def leg_label(leg: str, status: str) -> str:
    """What the operator reads about one leg: their own phone, or the dispatch line."""
    if status in _NOT_YET:
        return _("Calling your phone") if leg == "operator" else _("Calling dispatch")
    if status == CallStatus.RINGING:
        return _("Ringing your phone") if leg == "operator" else _("Dispatch ringing")
    if status == CallStatus.IN_PROGRESS:
        return _("You joined") if leg == "operator" else _("Dispatch joined")
    if status in _NOBODY:
        return _("No answer")
    if status in _BROKEN:
        return _("Call failed")
    return _("Call ended")


def dispatch_legs_of(escalation_ids: list[int]) -> dict[int, list[OutboundCall]]:
    """Each alarm's latest dispatch call (one row per leg), in one query for all of them."""
    rows = OutboundCall.objects.filter(ref_id__in=escalation_ids, purpose__in=list(LEGS))
    latest: dict[int, dict[str, OutboundCall]] = defaultdict(dict)
    for row in rows.only("pk", "ref_id", "purpose", "status").order_by("pk"):
        assert row.ref_id is not None
        latest[row.ref_id][row.purpose] = row
    return {ref: list(legs.values()) for ref, legs in latest.items()}


def dispatch_call_dict(
    escalation: Escalation, legs: list[OutboundCall] | None = None
) -> dict[str, Any]:
    """The one shape of a dispatch call's state, pushed live and carried in every resync."""
    if legs is None:
        legs = dispatch_legs_of([escalation.pk]).get(escalation.pk, [])
    shown = [
        {
            "id": row.pk,
            "leg": LEGS[row.purpose],
            "status": row.status,
            "label": leg_label(LEGS[row.purpose], row.status),
        }
        for row in sorted(legs, key=lambda row: list(LEGS).index(Purpose(row.purpose)))
    ]
    return {
        "type": "dispatch_call",
        "session_id": escalation.session_id,
        "escalation_id": escalation.pk,
        "legs": shown,
        "live": any(row.status in CALL_LIVE for row in legs),
    }


def escalation_dict(
    escalation: Escalation, legs: list[OutboundCall] | None = None
) -> dict[str, Any]:
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
        "status_label": status_label(escalation.status),
        "started_at": _iso(escalation.started_at),
        "acknowledged_at": _iso(escalation.acknowledged_at),
        "ended_at": _iso(escalation.ended_at),
        "outcome": escalation.outcome,
        "checkin": escalation.checkin.number,
        "steps": [step_dict(s) for s in steps],
        "call": dispatch_call_dict(escalation, legs),
    }


def status_label(status: str) -> str:
    return str(EscalationStatus(status).label) if status in EscalationStatus.values else status


def call_relabel(call: dict[str, Any]) -> dict[str, Any]:
    legs = [leg | {"label": leg_label(leg["leg"], leg["status"])} for leg in call["legs"]]
    return call | {"legs": legs}


def escalation_relabel(alarm: dict[str, Any]) -> dict[str, Any]:
    """An alarm built in another language (a worker's), its labels rebuilt from its keys."""
    return alarm | {
        "status_label": status_label(alarm["status"]),
        "steps": [step | {"label": step_label(step["kind"])} for step in alarm["steps"]],
        "call": call_relabel(alarm["call"]),
    }


def payload_relabel(payload: dict[str, Any]) -> dict[str, Any]:
    """A dashboard event carrying the ladder's labels, with them in the active language."""
    if payload.get("type") == "alarm":
        return payload | {"escalation": escalation_relabel(payload["escalation"])}
    if payload.get("type") == "dispatch_call":
        return call_relabel(payload)
    if payload.get("type") == "monitoring" and "escalations" in payload:
        return payload | {"escalations": [escalation_relabel(e) for e in payload["escalations"]]}
    return payload


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
    shown = [
        escalation
        for escalation in unclosed.order_by("started_at")
        if permissions.alarm_visible_to(escalation, escalation.steps.all(), user)
    ]
    legs = dispatch_legs_of([escalation.pk for escalation in shown])
    return [escalation_dict(e, legs.get(e.pk, [])) for e in shown]


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
