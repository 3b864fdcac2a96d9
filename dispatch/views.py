"""Alarms on the dashboard: acknowledge, see the dispatch task, record what happened."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from dispatch import calls, escalation, selectors
from dispatch.models import Escalation
from monitoring import services as session_services
from monitoring.models import PersonalDataAccess
from nors.lib.jsonapi import Conflict, json_action


def _escalation(session_id: int, data: dict[str, Any]) -> Escalation:
    escalation_id = data.get("escalation")
    if isinstance(escalation_id, bool) or not isinstance(escalation_id, int):
        raise ValueError(_("Say which alarm this is about."))
    return Escalation.objects.select_related(
        "session__plan_version", "checkin__monitoring__plan_version"
    ).get(pk=escalation_id, session_id=session_id)


@json_action
def acknowledge(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    found = _escalation(session_id, data)
    done = escalation.escalation_acknowledge(escalation_id=found.pk, user=request.user)
    return {"alarm": selectors.escalation_dict(done)}


@json_action
def close(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    found = _escalation(session_id, data)
    outcome = data.get("outcome")
    if not isinstance(outcome, str):
        raise ValueError(_("Choose what happened from the list."))
    done = escalation.escalation_close(escalation_id=found.pk, user=request.user, outcome=outcome)
    return {"alarm": selectors.escalation_dict(done)}


@json_action
def dispatch_task(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """The location and what EMS must know. Reading it is recorded, like every personal read."""
    found = _escalation(session_id, data)
    session = session_services.session_for_action(session_id=session_id, user=request.user)
    user: Any = request.user
    PersonalDataAccess.objects.create(
        user=user, session=session, field="dispatch_task", at=timezone.now()
    )
    return {"task": selectors.dispatch_task(escalation=found)}


@json_action
def dispatch_call(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """One click: the console rings the operator and the dispatch line into one conference."""
    found = _escalation(session_id, data)
    session_services.session_for_action(session_id=session_id, user=request.user)
    index = data.get("line", 0)
    lines = selectors.dispatch_lines(region_id=selectors.plan_in_force(found).region_id)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(lines):
        raise ValueError(_("Choose a dispatch line from the list."))
    try:
        name = escalation.dispatch_call_start(
            escalation=found, user=request.user, line=lines[index]
        )
    except calls.DispatchCallRefused as exc:
        raise Conflict(str(exc)) from exc
    return {"call": {"status": "calling", "conference": name}}


@json_action
def dispatch_call_hangup(
    request: HttpRequest, session_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    """Hangs up both legs of the dispatch call; once it is over, says so (409)."""
    found = _escalation(session_id, data)
    # An operator who ended the session during the call must still be able to hang up.
    session_services.session_for_action(
        session_id=session_id, user=request.user, allow=session_services.HELD
    )
    try:
        calls.dispatch_call_end(escalation=found, user=request.user)
    except calls.DispatchCallRefused as exc:
        raise Conflict(str(exc)) from exc
    return {"call": selectors.dispatch_call_dict(found)}
