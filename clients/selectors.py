"""Reads for clients and their plans. Callers that show plans to staff record the read."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from clients import plans
from clients.models import PlanVersion
from nors.lib import roles


def iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def plan_latest(*, client_id: int | None) -> PlanVersion | None:
    if client_id is None:
        return None
    versions = PlanVersion.objects.filter(client_id=client_id).select_related("region")
    return versions.order_by("-number").first()


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
        "created_at": iso(version.created_at),
        "created_by": roles.display_name(version.created_by),
        "confirmed_at": iso(version.confirmed_at),
        "confirmed_by": roles.display_name(version.confirmed_by),
        "fields": fields.as_json(),
        "response_label": str(version.get_response_display()) if version.response else "",
        "region_label": version.region.name if version.region else "",
        "readback": readback_text(fields),
    }


def choices_dict() -> dict[str, list[tuple[str, str]]]:
    return {
        name: [(value, str(label)) for value, label in choices.choices]
        for name, choices in plans.CHOICES.items()
    }


def version_or_none(version: PlanVersion | None) -> dict[str, Any] | None:
    return version_dict(version) if version is not None else None
