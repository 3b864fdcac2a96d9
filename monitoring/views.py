from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie

from monitoring import checkins, selectors, services
from monitoring.hooks import Hook, hooks
from monitoring.models import Outcome, Session
from nors.lib import roles
from nors.lib.jsonapi import json_action


@login_required
@ensure_csrf_cookie
def dashboard(request: HttpRequest) -> HttpResponse:
    if not roles.is_operator(request.user):
        raise PermissionDenied
    context: dict[str, Any] = {
        "outcomes": Outcome.choices,
        "is_supervisor": roles.is_supervisor(request.user),
    }
    for more in hooks.notify(Hook.PAGE_CONTEXT):
        context |= more
    return render(request, "monitoring/dashboard.html", context)


def _summary(session: Session) -> dict[str, Any]:
    return {"session": selectors.session_summary(session)}


@json_action
def claim(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    return _summary(services.session_claim(session_id=session_id, user=request.user))


@json_action
def release(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    return _summary(services.session_release(session_id=session_id, user=request.user))


@json_action
def transfer(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    to_id = data.get("to")
    if not isinstance(to_id, int):
        raise ValueError(_("Choose an operator to transfer to."))
    to_user = get_user_model().objects.filter(pk=to_id, is_active=True).first()
    if to_user is None:
        raise ValueError(_("Choose an operator to transfer to."))
    session = services.session_transfer(session_id=session_id, user=request.user, to_user=to_user)
    return _summary(session)


@json_action
def end(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    outcome = data.get("outcome")
    if not isinstance(outcome, str):
        raise ValueError(_("Choose an outcome from the list."))
    session = checkins.session_end(session_id=session_id, user=request.user, outcome=outcome)
    return _summary(session)


@json_action
def reply(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    body = data.get("body")
    if not isinstance(body, str):
        raise ValueError(_("Write a message first."))
    message = services.session_reply(session_id=session_id, user=request.user, body=body)
    return {"message": selectors.message_dict(message)}


@json_action
def reveal_phone(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    reason = data.get("reason", "")
    phone = services.session_phone_reveal(
        session_id=session_id, user=request.user, reason=reason if isinstance(reason, str) else ""
    )
    return {"phone": phone}


@login_required
def timeline(request: HttpRequest, session_id: int) -> HttpResponse:
    if not roles.is_supervisor(request.user):
        raise PermissionDenied
    session = get_object_or_404(Session.objects.select_related("operator"), pk=session_id)
    rows = selectors.session_timeline(session=session)
    return render(request, "monitoring/timeline.html", {"session": session, "rows": rows})


@login_required
def sessions_review(request: HttpRequest) -> HttpResponse:
    if not roles.is_supervisor(request.user):
        raise PermissionDenied
    sessions = Session.objects.select_related("operator").order_by("-opened_at")[:200]
    return render(request, "monitoring/review.html", {"sessions": sessions})


def _monitoring(session_id: int) -> dict[str, Any]:
    session = Session.objects.get(pk=session_id)
    return {"session": selectors.session_summary(session), **selectors.monitoring_state(session)}


# The longest end the form offers (12 hours). Unbounded, a huge number of minutes overflows
# the conversion to seconds or the datetime it is added to.
MAX_MINUTES = 720


def _minutes(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(_("Give the time in minutes."))
    if not -MAX_MINUTES <= value <= MAX_MINUTES:
        raise ValueError(_("Give a time of at most %(most)s minutes.") % {"most": MAX_MINUTES})
    return round(value * 60)


@json_action
def monitoring_start(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    interval = _minutes(data, "interval_minutes")
    grace = data.get("grace_seconds")
    ends_in = _minutes(data, "ends_in_minutes")
    checkins.monitoring_start(
        session_id=session_id,
        user=request.user,
        interval_seconds=interval,
        grace_seconds=grace,
        ends_at=timezone.now() + timedelta(seconds=ends_in) if ends_in else None,
    )
    return _monitoring(session_id)


@json_action
def monitoring_end(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    checkins.monitoring_end_by_operator(session_id=session_id, user=request.user)
    return _monitoring(session_id)


@json_action
def monitoring_resume(
    request: HttpRequest, session_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    checkins.monitoring_resume(session_id=session_id, user=request.user)
    return _monitoring(session_id)
