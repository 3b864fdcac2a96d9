"""Emergency response plans as plain data: parsing what the form sends, and what a plan
still needs before anyone could act on it. Pure functions only; storage is in services.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nors.lib import phones

MAX_CONTACTS = 3
MAX_SHORT = 300
MAX_LONG = 2000


class Response(models.TextChoices):
    EMS = "ems", gettext_lazy("EMS (the local dispatch line)")
    CONTACT = "contact", gettext_lazy("Their emergency contact")
    BOTH = "both", gettext_lazy("Both EMS and their contact")


class Order(models.TextChoices):
    EMS_FIRST = "ems_first", gettext_lazy("EMS first, then the contact")
    CONTACT_FIRST = "contact_first", gettext_lazy("The contact first, then EMS")


class Route(models.TextChoices):
    NOT_SAID = "", gettext_lazy("Not said")
    SMOKE = "smoke", gettext_lazy("Smoking")
    INJECT = "inject", gettext_lazy("Injecting")
    SNORT = "snort", gettext_lazy("Snorting")
    SWALLOW = "swallow", gettext_lazy("Swallowing")
    OTHER = "other", gettext_lazy("Other")


class Naloxone(models.TextChoices):
    NOT_ASKED = "", gettext_lazy("Not asked yet")
    YES = "yes", gettext_lazy("Yes, naloxone is there")
    NO = "no", gettext_lazy("No naloxone")


class Language(models.TextChoices):
    EN = "en", gettext_lazy("English")
    FR = "fr", gettext_lazy("French")


class PlanInputError(ValueError):
    """What the form sent is not a plan at all (wrong types, unknown choices, far too long)."""


@dataclass(frozen=True)
class Contact:
    name: str = ""
    phone: str = ""
    relationship: str = ""
    agreed: bool = False
    language: str = Language.EN


@dataclass(frozen=True)
class PlanFields:
    address: str = ""
    unit: str = ""
    entry: str = ""
    landmarks: str = ""
    region: int | None = None
    response: str = ""
    order: str = Order.EMS_FIRST
    wait_for_contact: bool = False
    contacts: tuple[Contact, ...] = ()
    substances: str = ""
    amount: str = ""
    route: str = ""
    naloxone: str = ""
    others_nearby: str = ""
    medical_notes: str = ""
    language: str = Language.EN
    practical_notes: str = ""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["contacts"] = [asdict(c) for c in self.contacts]
        return data

    @property
    def calls_ems(self) -> bool:
        return self.response in (Response.EMS, Response.BOTH)

    @property
    def calls_contact(self) -> bool:
        return self.response in (Response.CONTACT, Response.BOTH)


# What the operator calls each field: errors name fields as the form labels them.
FIELD_LABELS = {
    "address": gettext_lazy("Address"),
    "unit": gettext_lazy("Unit or apartment"),
    "entry": gettext_lazy("How to get in"),
    "landmarks": gettext_lazy("Landmarks"),
    "substances": gettext_lazy("What they are using"),
    "amount": gettext_lazy("How much"),
    "others_nearby": gettext_lazy("Who else is nearby"),
    "medical_notes": gettext_lazy("Medical notes"),
    "practical_notes": gettext_lazy("Practical notes"),
    "response": gettext_lazy("If they stop responding"),
    "order": gettext_lazy("In what order"),
    "wait_for_contact": gettext_lazy("Wait for the contact"),
    "route": gettext_lazy("How they are using"),
    "naloxone": gettext_lazy("Naloxone"),
    "language": gettext_lazy("Language"),
    "name": gettext_lazy("Contact's name or nickname"),
    "phone": gettext_lazy("Contact's phone number"),
    "relationship": gettext_lazy("Relationship"),
    "agreed": gettext_lazy("Agreed to be called"),
}


def _label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


TEXTS = (
    "address",
    "unit",
    "entry",
    "landmarks",
    "substances",
    "amount",
    "others_nearby",
    "medical_notes",
    "practical_notes",
)
LONG_TEXTS = {"entry", "landmarks", "medical_notes", "practical_notes", "others_nearby"}
CHOICES: dict[str, type[models.TextChoices]] = {
    "response": Response,
    "order": Order,
    "route": Route,
    "naloxone": Naloxone,
    "language": Language,
}


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PlanInputError(_("“%(field)s” must be text.") % {"field": _label(name)})
    value = value.replace("\x00", "").strip()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Lone surrogates survive JSON decoding but are not text anyone typed.
        raise PlanInputError(
            _("“%(field)s” contains characters that are not text.") % {"field": _label(name)}
        ) from exc
    if len(value) > limit:
        raise PlanInputError(
            _("“%(field)s” is too long: use at most %(limit)s characters.")
            % {"field": _label(name), "limit": limit}
        )
    return value


def _choice(data: dict[str, Any], name: str, default: str) -> str:
    value = data.get(name, default)
    if value is None:
        value = default
    # An empty default means "not chosen yet", which a draft may well be.
    if not isinstance(value, str) or (value not in CHOICES[name].values and value != default):
        raise PlanInputError(_("“%(field)s” is not one of the choices.") % {"field": _label(name)})
    return str(value)


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise PlanInputError(_("“%(field)s” must be true or false.") % {"field": _label(name)})
    return value


def _region(data: dict[str, Any]) -> int | None:
    value = data.get("region")
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise PlanInputError(_("Choose the region from the list."))
    return value


def _contact(data: Any) -> Contact:
    if not isinstance(data, dict):
        raise PlanInputError(_("Each contact must be a set of fields."))
    return Contact(
        name=_text(data, "name", MAX_SHORT),
        phone=_text(data, "phone", 40),
        relationship=_text(data, "relationship", MAX_SHORT),
        agreed=_flag(data, "agreed"),
        language=_choice(data, "language", Language.EN),
    )


def fields_parse(data: Any) -> PlanFields:
    """The plan the form sent, or PlanInputError saying what is wrong with it."""
    if not isinstance(data, dict):
        raise PlanInputError(_("The plan must be a set of fields."))
    contacts = data.get("contacts") or []
    if not isinstance(contacts, list):
        raise PlanInputError(_("Contacts must be a list."))
    if len(contacts) > MAX_CONTACTS:
        raise PlanInputError(_("A plan can have at most %(max)s contacts.") % {"max": MAX_CONTACTS})
    texts = {
        name: _text(data, name, MAX_LONG if name in LONG_TEXTS else MAX_SHORT) for name in TEXTS
    }
    return PlanFields(
        **texts,
        region=_region(data),
        response=_choice(data, "response", ""),
        order=_choice(data, "order", Order.EMS_FIRST),
        wait_for_contact=_flag(data, "wait_for_contact"),
        contacts=tuple(_contact(c) for c in contacts),
        route=_choice(data, "route", ""),
        naloxone=_choice(data, "naloxone", ""),
        language=_choice(data, "language", Language.EN),
    )


# -- what a plan still needs -----------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


@dataclass
class Problems:
    missing: list[Problem] = field(default_factory=list)
    advice: list[Problem] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.missing

    def as_json(self) -> dict[str, list[dict[str, str]]]:
        return {
            "missing": [asdict(p) for p in self.missing],
            "advice": [asdict(p) for p in self.advice],
        }


def _location_problems(plan: PlanFields, found: Problems) -> None:
    if not plan.address:
        found.missing.append(Problem("address", _("Add the address where they are.")))
    elif not any(c.isdigit() for c in plan.address) and not plan.landmarks:
        # No civic number (a rural road, a camp, a car): responders need landmarks instead.
        found.missing.append(
            Problem(
                "landmarks",
                _("The address has no number: describe landmarks that lead to the door."),
            )
        )
    if not plan.entry:
        found.advice.append(
            Problem("entry", _("Say how responders get in: buzzer, door code, which door."))
        )


def _contact_problems(plan: PlanFields, client_phone: str | None, found: Problems) -> None:
    if not plan.contacts:
        found.missing.append(Problem("contacts", _("Add the emergency contact to call.")))
        return
    for i, contact in enumerate(plan.contacts):
        n = {"n": i + 1}
        if not contact.name:
            found.missing.append(
                Problem(f"contacts.{i}.name", _("Add a name or nickname for contact %(n)s.") % n)
            )
        problem = _phone_problem(contact.phone, client_phone, n)
        if problem:
            found.missing.append(Problem(f"contacts.{i}.phone", problem))
        if not contact.agreed:
            found.advice.append(
                Problem(
                    f"contacts.{i}.agreed", _("Contact %(n)s has not agreed to be called yet.") % n
                )
            )


def _phone_problem(raw: str, client_phone: str | None, n: dict[str, int]) -> str | None:
    if not raw:
        return _("Add a phone number for contact %(n)s.") % n
    try:
        number = phones.normalize(raw)
    except phones.InvalidPhoneNumber:
        return _("The number for contact %(n)s is not a valid phone number.") % n
    if client_phone and number == client_phone:
        # If the client stops responding, their own phone is the one nobody will answer.
        return (
            _("Contact %(n)s has the number the person texts from: add the contact's own number.")
            % n
        )
    return None


def problems_find(plan: PlanFields, *, client_phone: str | None = None) -> Problems:
    """What stops this plan from being acted on (missing), and what would help (advice)."""
    found = Problems()
    if not plan.response:
        found.missing.append(
            Problem("response", _("Choose what should happen if they stop responding."))
        )
    if plan.calls_ems or plan.calls_contact:
        _location_problems(plan, found)
    if plan.calls_ems and plan.region is None:
        found.missing.append(
            Problem("region", _("Choose the region, so we can reach its dispatch line."))
        )
    if plan.calls_contact:
        _contact_problems(plan, client_phone, found)
    else:
        # Numbers typed in are checked even when the contact is not part of the response.
        for i, contact in enumerate(plan.contacts):
            message = contact.phone and _phone_problem(contact.phone, client_phone, {"n": i + 1})
            if message:
                found.missing.append(Problem(f"contacts.{i}.phone", message))
    if not plan.naloxone:
        found.advice.append(Problem("naloxone", _("Ask whether naloxone is on hand.")))
    return found


def invalid_numbers(plan: PlanFields) -> Problems:
    """Contact numbers that cannot be stored at all: a version never keeps an invalid number."""
    found = Problems()
    for i, contact in enumerate(plan.contacts):
        if contact.phone:
            try:
                phones.normalize(contact.phone)
            except phones.InvalidPhoneNumber:
                message = _("The number for contact %(n)s is not a valid phone number.")
                found.missing.append(Problem(f"contacts.{i}.phone", message % {"n": i + 1}))
    return found


def numbers_normalized(plan: PlanFields) -> PlanFields:
    """The same plan with every contact number in E.164 (call invalid_numbers first)."""
    contacts = tuple(
        replace(c, phone=phones.normalize(c.phone) if c.phone else "") for c in plan.contacts
    )
    return replace(plan, contacts=contacts)
