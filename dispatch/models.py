from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from nors.lib.fields import EncryptedTextField


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to send")
    SENDING = "sending", _("Sending")
    ACCEPTED = "accepted", _("Accepted by Twilio")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    # Some parts of a long text reached the phone: the person has at least part of it.
    PARTIALLY_DELIVERED = "partially_delivered", _("Partly delivered")
    UNDELIVERED = "undelivered", _("Not delivered")
    FAILED = "failed", _("Failed")
    # The worker died mid-call: Twilio may or may not have the message, so it is not resent.
    UNCONFIRMED = "unconfirmed", _("Not confirmed")


FINAL_STATUSES = {
    OutboundStatus.DELIVERED,
    OutboundStatus.PARTIALLY_DELIVERED,
    OutboundStatus.UNDELIVERED,
    OutboundStatus.FAILED,
    OutboundStatus.UNCONFIRMED,
}
PROBLEM_STATUSES = {OutboundStatus.UNDELIVERED, OutboundStatus.FAILED, OutboundStatus.UNCONFIRMED}
# Known never to reach the phone (an unconfirmed send may have).
PROBLEM_FINAL = {OutboundStatus.UNDELIVERED, OutboundStatus.FAILED}

# Twilio's callbacks may arrive out of order; a status only ever moves up this ladder.
STATUS_RANK = {
    OutboundStatus.QUEUED: 0,
    OutboundStatus.SENDING: 1,
    OutboundStatus.ACCEPTED: 2,
    OutboundStatus.SENT: 3,
    OutboundStatus.DELIVERED: 4,
    OutboundStatus.PARTIALLY_DELIVERED: 4,
    OutboundStatus.UNDELIVERED: 5,
    OutboundStatus.FAILED: 5,
    OutboundStatus.UNCONFIRMED: 5,
}

TWILIO_TO_OUTBOUND = {
    "accepted": OutboundStatus.ACCEPTED,
    "scheduled": OutboundStatus.ACCEPTED,
    "queued": OutboundStatus.ACCEPTED,
    "sending": OutboundStatus.ACCEPTED,
    "sent": OutboundStatus.SENT,
    "delivered": OutboundStatus.DELIVERED,
    "read": OutboundStatus.DELIVERED,
    "partially_delivered": OutboundStatus.PARTIALLY_DELIVERED,
    "undelivered": OutboundStatus.UNDELIVERED,
    "failed": OutboundStatus.FAILED,
    "canceled": OutboundStatus.FAILED,
}


def status_moves_forward(old: str, new: str) -> bool:
    return STATUS_RANK[OutboundStatus(new)] > STATUS_RANK[OutboundStatus(old)]


class OutboundSMS(models.Model):
    """The outbox: a text is written here before Twilio ever hears of it."""

    to_phone = EncryptedTextField()
    body = EncryptedTextField()
    session = models.ForeignKey(
        "monitoring.Session",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outbound_sms",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED
    )
    twilio_sid = models.CharField(
        _("Twilio SID"), max_length=64, unique=True, null=True, blank=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    # When the sweeper last queued its task again, in case the first was lost.
    requeued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=16, blank=True)
    error_message = models.CharField(_("error message"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("outbound text")
        verbose_name_plural = _("outbound texts")
        indexes: ClassVar[list[Any]] = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"Outbound SMS {self.pk} ({self.status})"


class StatusCallback(models.Model):
    """Each delivery report Twilio sent us, kept once even when Twilio retries it."""

    twilio_sid = models.CharField(_("Twilio SID"), max_length=64)
    status = models.CharField(_("status"), max_length=20)
    error_code = models.CharField(_("error code"), max_length=16, blank=True)
    # Calls only: "human", "machine_start"... when answering machine detection is on.
    answered_by = models.CharField(_("answered by"), max_length=24, blank=True)
    received_at = models.DateTimeField(_("received at"))
    applied = models.BooleanField(_("applied"), default=False)

    class Meta:
        verbose_name = _("delivery report")
        verbose_name_plural = _("delivery reports")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["twilio_sid", "status"], name="one_callback_per_status")
        ]

    def __str__(self) -> str:
        return f"{self.twilio_sid} {self.status}"


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


class DispatchLine(models.Model):
    """The 10-digit EMS dispatch number for a region: a national line cannot dial 911 there."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="dispatch_lines")
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
        from nors.lib import phones

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
    EscalationStatus.STOPPED: set(),
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
        "dispatch.OutboundSMS", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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


class StepStatus(models.TextChoices):
    PENDING = "pending", _("Planned")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Not needed")


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


# -- automated voice calls ---------------------------------------------------------------------


class CallStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to call")
    SENDING = "sending", _("Calling Twilio")
    INITIATED = "initiated", _("Placed")
    RINGING = "ringing", _("Ringing")
    # Contexts: a call (un appel) is masculine in French, a session or check-in is not.
    IN_PROGRESS = "in-progress", pgettext_lazy("call status", "Answered")
    COMPLETED = "completed", pgettext_lazy("call status", "Ended")
    BUSY = "busy", _("Busy")
    NO_ANSWER = "no-answer", _("No answer")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", pgettext_lazy("call status", "Cancelled")
    UNCONFIRMED = "unconfirmed", _("Not confirmed")


CALL_RANK = {
    CallStatus.QUEUED: 0,
    CallStatus.SENDING: 1,
    CallStatus.INITIATED: 2,
    CallStatus.RINGING: 3,
    CallStatus.IN_PROGRESS: 4,
    CallStatus.COMPLETED: 5,
    CallStatus.BUSY: 5,
    CallStatus.NO_ANSWER: 5,
    CallStatus.FAILED: 5,
    CallStatus.CANCELED: 5,
    CallStatus.UNCONFIRMED: 5,
}
# A call that ended one of these ways reached nobody.
CALL_UNANSWERED = {CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED}


class CallPurpose(models.TextChoices):
    CLIENT_CHECK = "client_check", _("Call to the client: press a key if OK")
    CONTACT_ALERT = "contact_alert", _("Call to the emergency contact")
    DISPATCH_OPERATOR = "dispatch_operator", _("Dispatch call: the operator's leg")
    DISPATCH_LINE = "dispatch_line", _("Dispatch call: the dispatch line's leg")


class OutboundCall(models.Model):
    """The outbox for automated calls: written before Twilio hears of it, placed once."""

    to_phone = EncryptedTextField()
    # What the call says can hold a location: encrypted like every other personal detail.
    twiml = EncryptedTextField()
    purpose = models.CharField(_("purpose"), max_length=20, choices=CallPurpose.choices)
    session = models.ForeignKey(
        "monitoring.Session", null=True, on_delete=models.PROTECT, related_name="outbound_calls"
    )
    escalation = models.ForeignKey(
        "dispatch.Escalation", null=True, on_delete=models.PROTECT, related_name="calls"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CallStatus.choices, default=CallStatus.QUEUED
    )
    answered_by = models.CharField(_("answered by"), max_length=24, blank=True)
    digits = models.CharField(_("key pressed"), max_length=8, blank=True)
    twilio_sid = models.CharField(
        _("Twilio SID"), max_length=64, unique=True, null=True, blank=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    # When the sweeper last queued its task again, in case the first was lost.
    requeued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=16, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("outbound call")
        verbose_name_plural = _("outbound calls")
        indexes: ClassVar[list[Any]] = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"Outbound call {self.pk} ({self.purpose}, {self.status})"


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
