from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from nors.lib import phones
from nors.lib.fields import EncryptedTextField


class DispatchLine(models.Model):
    """The 10-digit EMS dispatch number for a region: a national line cannot dial 911 there."""

    region = models.ForeignKey(
        "clients.Region", on_delete=models.PROTECT, related_name="dispatch_lines"
    )
    name = models.CharField(_("name"), max_length=120)
    phone = models.CharField(_("10-digit number"), max_length=20)
    notes = models.TextField(_("notes"), blank=True)
    last_verified = models.DateField(_("last verified"), null=True, blank=True)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("dispatch line")
        verbose_name_plural = _("dispatch lines")
        ordering: ClassVar[list[str]] = ["region__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.region})"

    def clean(self) -> None:
        try:
            phones.normalize(self.phone)
        except phones.InvalidPhoneNumber:
            raise ValidationError({"phone": _("Enter the line's 10-digit number.")}) from None


# -- the escalation ladder ---------------------------------------------------------------------


class EscalationStatus(models.TextChoices):
    OPEN = "open", _("Under way")
    STOPPED = "stopped", _("Stopped: the client responded")
    CLOSED = "closed", _("Closed with an outcome")


ESCALATION_TRANSITIONS: dict[str, set[str]] = {
    EscalationStatus.OPEN: {EscalationStatus.STOPPED, EscalationStatus.CLOSED},
    # The client answered; the operator still records what happened.
    EscalationStatus.STOPPED: {EscalationStatus.CLOSED},
    EscalationStatus.CLOSED: set(),
}


class EscalationOutcome(models.TextChoices):
    EMS_SENT = "ems_sent", _("EMS sent")
    CONTACT_REACHED = "contact_reached", _("Contact reached")
    CLIENT_OK = "client_ok", _("Client found OK")
    FALSE_ALARM = "false_alarm", _("False alarm")
    UNKNOWN = "unknown", _("Outcome unknown")


class Escalation(models.Model):
    """What a missed check-in set off. One per missed check-in, whoever notices first."""

    session = models.ForeignKey(
        "monitoring.Session", on_delete=models.PROTECT, related_name="escalations"
    )
    checkin = models.OneToOneField(
        "monitoring.CheckIn", on_delete=models.PROTECT, related_name="escalation"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=EscalationStatus.choices, default=EscalationStatus.OPEN
    )
    started_at = models.DateTimeField(_("started at"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=EscalationOutcome.choices, blank=True
    )
    # The alarm's text to the client: whether it reached them decides how long the ladder waits.
    reprompt = models.OneToOneField(
        "telephony.OutboundSMS", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        indexes: ClassVar[list[Any]] = [models.Index(fields=["status", "started_at"])]

    def __str__(self) -> str:
        return f"Escalation {self.pk} ({self.status})"


class StepKind(models.TextChoices):
    ALARM = "alarm", _("Alarm to the operator, and the client prompted again")
    RESPONSE = "response", _("The plan's response")
    EMS_AFTER_CONTACT = "ems_after_contact", _("EMS, after waiting for the contact")
    CONTACT_AFTER_EMS = "contact_after_ems", _("The contact, after the dispatch call")
    WIDEN_SHIFT = "widen_shift", _("Alarm to every operator on shift")
    WIDEN_SUPERVISOR = "widen_supervisor", _("Text to the supervisor on call")


class StepResult(StrEnum):
    """What a step did, as its timeline line says. Some carry a detail after a colon."""

    ALARM_RAISED = "alarm_raised_client_texted_and_called"
    CONTACTS_ALERTED = "contacts_texted_and_called"
    EMS_TASK_SHOWN = "ems_task_shown"
    EMS_TASK_NO_LINE = "ems_task_shown_no_dispatch_line"
    NO_RESPONSE_IN_PLAN = "no_response_in_plan"
    ALARM_TO_EVERYONE = "alarm_to_every_operator"
    SUPERVISOR_TEXTED = "supervisor_texted"
    NO_SUPERVISOR_NUMBER = "no_supervisor_on_call_number"
    CONTACT_UNREACHABLE = "contact_unreachable"
    # Not run: another worker ran it, or the ladder stopped.
    MOVED_ON = "moved_on"


class StepStatus(models.TextChoices):
    PENDING = "pending", _("Planned")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Not needed")


STEP_TRANSITIONS: dict[str, set[str]] = {
    StepStatus.PENDING: {StepStatus.DONE, StepStatus.CANCELLED},
    StepStatus.DONE: set(),
    StepStatus.CANCELLED: set(),
}


class EscalationStep(models.Model):
    """One rung of the ladder, with its planned and actual time. The sweeper watches due_at."""

    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(_("step"), max_length=20, choices=StepKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=StepStatus.choices, default=StepStatus.PENDING
    )
    planned_at = models.DateTimeField(_("planned for"))
    due_at = models.DateTimeField(_("due at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("escalation step")
        verbose_name_plural = _("escalation steps")
        ordering: ClassVar[list[str]] = ["planned_at", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["escalation", "kind"], name="one_step_of_each_kind"),
        ]
        indexes: ClassVar[list[Any]] = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.kind} of escalation {self.escalation_id} ({self.status})"


class OperatorPhone(models.Model):
    """The number the console rings to put an operator into a dispatch call."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dispatch_phone"
    )
    phone = EncryptedTextField(_("phone number"))

    class Meta:
        verbose_name = _("operator's phone")
        verbose_name_plural = _("operators' phones")

    def __str__(self) -> str:
        return f"phone of {self.user_id}"
