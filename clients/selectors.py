"""Reads for clients and their plans. Callers that show plans to staff record the read."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from clients import plans
from clients.models import Client, PlanDraft, PlanInForce, PlanVersion
from dispatch.models import Region
from monitoring.models import Session
from nors.lib import roles


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def plan_latest(*, client_id: int | None) -> PlanVersion | None:
    if client_id is None:
        return None
    versions = PlanVersion.objects.filter(client_id=client_id).select_related("region")
    return versions.order_by("-number").first()


def plan_in_force_at(*, session: Session, at: datetime) -> PlanVersion | None:
    """The version that was this session's plan at that moment (None before the first)."""
    row = (
        PlanInForce.objects.filter(session=session, since__lte=at)
        .select_related("version")
        .order_by("-since", "-id")
        .first()
    )
    return row.version if row else None


def plan_fields(version: PlanVersion) -> plans.PlanFields:
    contacts = tuple(
        plans.Contact(
            name=c.name,
            phone=c.phone,
            relationship=c.relationship,
            agreed=c.agreed,
            language=c.language,
        )
        for c in version.contacts.all()
    )
    return plans.PlanFields(
        address=version.address,
        unit=version.unit,
        entry=version.entry,
        landmarks=version.landmarks,
        region=version.region_id,
        response=version.response,
        order=version.order,
        wait_for_contact=version.wait_for_contact,
        contacts=contacts,
        substances=version.substances,
        amount=version.amount,
        route=version.route,
        naloxone=version.naloxone,
        others_nearby=version.others_nearby,
        medical_notes=version.medical_notes,
        language=version.language,
        practical_notes=version.practical_notes,
    )


def _contact_name(fields: plans.PlanFields) -> str:
    named = [c.name for c in fields.contacts if c.name]
    return named[0] if named else _("your contact")


def response_text(fields: plans.PlanFields) -> str:
    """What happens if they stop responding, as said to the client."""
    name = _contact_name(fields)
    if fields.response == plans.Response.EMS:
        return _("we will send EMS to you")
    if fields.response == plans.Response.CONTACT:
        return _("we will call %(name)s") % {"name": name}
    if fields.response == plans.Response.BOTH and fields.order == plans.Order.CONTACT_FIRST:
        if fields.wait_for_contact:
            return _("we will call %(name)s first, and send EMS if %(name)s cannot help") % {
                "name": name
            }
        return _("we will call %(name)s, then send EMS") % {"name": name}
    if fields.response == plans.Response.BOTH:
        return _("we will send EMS to you, then call %(name)s") % {"name": name}
    return ""


def readback_text(fields: plans.PlanFields) -> str:
    """The plan as the operator reads it back, in the client's language, ready to text."""
    with translation.override(fields.language):
        where = ", ".join(p for p in (fields.address, fields.unit) if p) or _("not given yet")
        parts = [_("Let me read your plan back. Where you are: %(where)s.") % {"where": where}]
        if fields.entry:
            parts.append(_("Getting in: %(entry)s.") % {"entry": fields.entry})
        if fields.response:
            action = response_text(fields)
            parts.append(_("If you stop answering, %(action)s.") % {"action": action})
        else:
            parts.append(_("We have not yet agreed what to do if you stop answering."))
        parts.append(_("Is that right?"))
        return " ".join(parts)


def version_dict(version: PlanVersion) -> dict[str, Any]:
    fields = plan_fields(version)
    return {
        "id": version.pk,
        "number": version.number,
        "status": version.status,
        "status_label": str(version.get_status_display()),
        "created_at": _iso(version.created_at),
        "created_by": roles.display_name(version.created_by),
        "confirmed_at": _iso(version.confirmed_at),
        "confirmed_by": roles.display_name(version.confirmed_by),
        "fields": fields.as_json(),
        "response_label": str(version.get_response_display()) if version.response else "",
        "region_label": version.region.name if version.region else "",
        "readback": readback_text(fields),
    }


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
    return {"fields": fields.as_json(), "updated_at": _iso(draft.updated_at)}


def _choices() -> dict[str, list[tuple[str, str]]]:
    return {
        name: [(value, str(label)) for value, label in choices.choices]
        for name, choices in plans.CHOICES.items()
    }


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
                "last_version": _version_or_none(plan_latest(client_id=c.pk)),
            }
            for c in returning_clients(session=session)
        ],
        "in_force": _version_or_none(in_force),
        "latest": _version_or_none(latest),
        "draft": draft,
        "problems": problems.as_json(),
        "regions": [{"id": r.pk, "name": r.name} for r in Region.objects.filter(active=True)],
        "choices": _choices(),
    }


def _version_or_none(version: PlanVersion | None) -> dict[str, Any] | None:
    return version_dict(version) if version is not None else None
