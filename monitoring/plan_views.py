"""The plan panel's JSON API, beside the conversation on the dashboard."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from clients import codes, plans
from monitoring import plan_selectors as selectors
from monitoring import plans as services
from monitoring.models import Session
from nors.lib.jsonapi import json_action, json_read


def _state(session: Session) -> dict[str, Any]:
    return selectors.plan_state(session=Session.objects.get(pk=session.pk))


LABELS = {
    "birth_month": _lazy("Birth month"),
    "birth_day": _lazy("Birth day"),
    "client_id": _lazy("Client"),
    "version": _lazy("Plan version"),
    "remember_number": _lazy("Remember the number"),
    "ready": _lazy("Plan ready"),
}


def _int(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(_("“%(field)s” must be a whole number.") % {"field": LABELS[name]})
    return value


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(_("“%(field)s” must be true or false.") % {"field": LABELS[name]})
    return value


def _answers(data: dict[str, Any]) -> codes.Answers:
    name = data.get("parent_first_name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(_("Add the first name of a parent (or whoever they choose)."))
    if len(name) > 100:
        raise ValueError(_("That name is too long."))
    try:
        return codes.Answers(name, _int(data, "birth_month"), _int(data, "birth_day"))
    except codes.InvalidAnswers as exc:
        raise ValueError(_("That birth month and day do not make a date.")) from exc


@json_read
def plan(request: HttpRequest, session_id: int) -> dict[str, Any]:
    return services.plan_read(session_id=session_id, user=request.user)


@json_action
def client_link(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    mode = data.get("mode")
    if mode == "answers":
        session = services.session_client_from_answers(
            session_id=session_id,
            user=request.user,
            answers=_answers(data),
            remember_number=_flag(data, "remember_number"),
        )
    elif mode == "random":
        session = services.session_client_random(
            session_id=session_id, user=request.user, remember_number=_flag(data, "remember_number")
        )
    elif mode == "returning":
        session = services.session_client_returning(
            session_id=session_id, user=request.user, client_id=_int(data, "client_id")
        )
    else:
        raise ValueError(_("Choose how to find the client's code."))
    return _state(session)


@json_action
def draft(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    fields = plans.fields_parse(data.get("fields"))
    return services.plan_draft_save(session_id=session_id, user=request.user, fields=fields)


@json_action
def versions(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    fields = plans.fields_parse(data.get("fields"))
    session = services.plan_version_save(
        session_id=session_id, user=request.user, fields=fields, ready=_flag(data, "ready")
    )
    return _state(session)


@json_action
def reuse(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    session = services.plan_reuse(
        session_id=session_id, user=request.user, version_id=_int(data, "version")
    )
    return _state(session)


@json_action
def confirm(request: HttpRequest, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
    session = services.plan_confirm(
        session_id=session_id, user=request.user, version_id=_int(data, "version")
    )
    return _state(session)
