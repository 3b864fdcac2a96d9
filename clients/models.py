from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from clients.plans import Language, Naloxone, Order, Response, Route
from nors.lib.fields import EncryptedTextField


class Region(models.Model):
    """An area with its own EMS dispatch line. Plans name one, so help can be sent there.

    A national line cannot dial a caller's local 911, so supervisors keep this list.
    """

    name = models.CharField(_("name"), max_length=120, unique=True)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering: ClassVar[list[str]] = ["name"]

    def __str__(self) -> str:
        return self.name


class Client(models.Model):
    """A person known to the line by a code, never by name."""

    code = models.CharField(_("client code"), max_length=16, unique=True)
    # Set for codes built from answers; empty for random codes.
    base_code = models.CharField(max_length=8, blank=True, db_index=True)
    # Keyed hashes: a returning client is found by answers or number without storing either.
    answers_index = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # Only set when the client agreed that the line may recognise the number they text from.
    phone_index = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")

    def __str__(self) -> str:
        return self.code


class PlanStatus(models.TextChoices):
    READY = "ready", _("Ready")
    INCOMPLETE = "incomplete", _("Not ready yet")


class PlanVersion(models.Model):
    """One version of a client's emergency response plan. Versions are never changed: every
    change is a new version, and the client's confirmation is recorded on the one read back."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="plan_versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=16, choices=PlanStatus.choices)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    # The session it was made in: a plain number, as clients sit below sessions.
    session_id = models.PositiveBigIntegerField(_("made in session"), null=True, blank=True)

    address = EncryptedTextField(_("address"), blank=True)
    unit = EncryptedTextField(_("unit"), blank=True)
    entry = EncryptedTextField(_("entry instructions"), blank=True)
    landmarks = EncryptedTextField(_("landmarks"), blank=True)
    region = models.ForeignKey(
        "clients.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    response = models.CharField(
        _("if they stop responding"), max_length=16, choices=Response.choices, blank=True
    )
    order = models.CharField(_("order"), max_length=16, choices=Order.choices)
    wait_for_contact = models.BooleanField(_("wait for the contact before EMS"), default=False)
    substances = EncryptedTextField(_("substances"), blank=True)
    amount = EncryptedTextField(_("amount"), blank=True)
    route = models.CharField(_("route"), max_length=16, choices=Route.choices, blank=True)
    naloxone = models.CharField(_("naloxone"), max_length=8, choices=Naloxone.choices, blank=True)
    others_nearby = EncryptedTextField(_("others nearby"), blank=True)
    medical_notes = EncryptedTextField(_("medical notes"), blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    practical_notes = EncryptedTextField(_("practical notes"), blank=True)

    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["client", "number"], name="one_number_per_version"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id} v{self.number}"


class PlanContact(models.Model):
    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="contacts")
    position = models.PositiveSmallIntegerField()
    name = EncryptedTextField(_("name or nickname"), blank=True)
    phone = EncryptedTextField(_("phone number"), blank=True)
    relationship = EncryptedTextField(_("relationship"), blank=True)
    agreed = models.BooleanField(_("agreed to be called"), default=False)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)

    class Meta:
        verbose_name = _("emergency contact")
        verbose_name_plural = _("emergency contacts")
        ordering: ClassVar[list[str]] = ["position"]

    def __str__(self) -> str:
        return f"contact {self.position} of {self.version_id}"
