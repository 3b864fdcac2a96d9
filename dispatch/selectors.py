"""Reads for the escalation ladder and the dispatch directory."""

from __future__ import annotations

from typing import Any

from dispatch.models import DispatchLine, Escalation, EscalationStatus, EscalationStep


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


def escalation_dict(escalation: Escalation) -> dict[str, Any]:
    """What the operator's alarm shows. Location details are for the session's own operator."""
    return {
        "id": escalation.pk,
        "session_id": escalation.session_id,
        "status": escalation.status,
        "status_label": str(escalation.get_status_display()),
        "started_at": _iso(escalation.started_at),
        "acknowledged_at": _iso(escalation.acknowledged_at),
        "ended_at": _iso(escalation.ended_at),
        "outcome": escalation.outcome,
        "checkin": escalation.checkin.number,
        "steps": [step_dict(s) for s in escalation.steps.all()],
    }


def escalations_open(*, session_id: int) -> list[Escalation]:
    open_ = Escalation.objects.filter(session_id=session_id).exclude(status=EscalationStatus.CLOSED)
    return list(open_.select_related("checkin").order_by("started_at"))
