"""Reads for a session's plan panel. Callers that show plans to staff record the read."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from clients import plans
from clients.models import Client, PlanVersion, Region
from clients.selectors import (
    choices_dict,
    iso,
    plan_fields,
    plan_latest,
    version_or_none,
)
from monitoring.models import PlanDraft, PlanInForce, Session


def plan_in_force_at(*, session: Session, at: datetime) -> PlanVersion | None:
    """The version that was this session's plan at that moment (None before the first)."""
    row = (
        PlanInForce.objects.filter(session=session, since__lte=at)
        .select_related("version")
        .order_by("-since", "-id")
        .first()
    )
    return row.version if row else None


def returning_clients(*, session: Session) -> list[Client]:
    """Clients who agreed to be recognised by the number this session texts from."""
    if session.client_id is not None:
        return []
    clients = Client.objects.filter(phone_index=session.client_phone_index)
    return list(clients.order_by("-created_at", "-id")[:3])


def _draft(session: Session) -> dict[str, Any] | None:
    draft = PlanDraft.objects.filter(session=session).first()
    if draft is None:
        return None
    try:
        fields = plans.fields_parse(json.loads(draft.fields_json))
    except (ValueError, plans.PlanInputError):
        return None
    return {"fields": fields.as_json(), "updated_at": iso(draft.updated_at)}


def _versions(session: Session) -> tuple[PlanVersion | None, PlanVersion | None]:
    in_force = None
    if session.plan_version_id is not None:
        in_force = PlanVersion.objects.select_related("region", "created_by", "confirmed_by").get(
            pk=session.plan_version_id
        )
    latest = plan_latest(client_id=session.client_id)
    if latest is not None and in_force is not None and latest.pk == in_force.pk:
        latest = None
    return in_force, latest


def plan_state(*, session: Session) -> dict[str, Any]:
    in_force, latest = _versions(session)
    draft = _draft(session)
    if draft is not None:
        current = plans.fields_parse(draft["fields"])
    elif in_force is not None:
        current = plan_fields(in_force)
    else:
        current = plans.PlanFields(language=session.language)
    problems = plans.problems_find(current, client_phone=session.client_phone)
    client = session.client
    return {
        "session_id": session.pk,
        "editable": True,
        "client": {
            "id": client.pk,
            "code": client.code,
            "number_remembered": client.phone_index == session.client_phone_index,
        }
        if client
        else None,
        "returning": [
            {
                "client_id": c.pk,
                "code": c.code,
                "last_version": version_or_none(plan_latest(client_id=c.pk)),
            }
            for c in returning_clients(session=session)
        ],
        "in_force": version_or_none(in_force),
        "latest": version_or_none(latest),
        "draft": draft,
        "problems": problems.as_json(),
        "regions": [{"id": r.pk, "name": r.name} for r in Region.objects.filter(active=True)],
        "choices": choices_dict(),
    }
