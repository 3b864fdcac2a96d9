"""The outbox for texts and calls, and every report Twilio sent back about them.

A row is written before Twilio hears of it. `purpose` says what the send is for, so the app
that queued it is told how it ended (`telephony.handlers`) without this layer knowing why.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from nors.lib.fields import EncryptedTextField


class Purpose(models.TextChoices):
    CLIENT_REPLY = "client_reply", _("Text from an operator to the client")
    CLIENT_AUTOMATIC = "client_automatic", _("Automatic text to the client")
    CHECKIN_PROMPT = "checkin_prompt", _("Check-in prompt")
    ALARM_REPROMPT = "alarm_reprompt", _("The alarm's text to the client")
    CLIENT_CHECK = "client_check", _("Call to the client: press a key if OK")
    CONTACT_ALERT = "contact_alert", _("Alert to the emergency contact")
    SUPERVISOR_ALERT = "supervisor_alert", _("Alert to the supervisor on call")
    DISPATCH_OPERATOR = "dispatch_operator", _("Dispatch call: the operator's leg")
    DISPATCH_LINE = "dispatch_line", _("Dispatch call: the dispatch line's leg")


# The states every outbound row shares; the sweeper and the sender only use these.
QUEUED, SENDING, FAILED, UNCONFIRMED = "queued", "sending", "failed", "unconfirmed"


class OutboundStatus(models.TextChoices):
    QUEUED = QUEUED, _("Waiting to send")
    SENDING = SENDING, _("Sending")
    ACCEPTED = "accepted", _("Accepted by Twilio")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    # Some parts of a long text reached the phone: the person has at least part of it.
    PARTIALLY_DELIVERED = "partially_delivered", _("Partly delivered")
    UNDELIVERED = "undelivered", _("Not delivered")
    FAILED = FAILED, _("Failed")
    # The worker died mid-call: Twilio may or may not have the message, so it is not resent.
    UNCONFIRMED = UNCONFIRMED, _("Not confirmed")


FINAL_STATUSES = {
    OutboundStatus.DELIVERED,
    OutboundStatus.PARTIALLY_DELIVERED,
    OutboundStatus.UNDELIVERED,
    OutboundStatus.FAILED,
    OutboundStatus.UNCONFIRMED,
}
PROBLEM_STATUSES = {OutboundStatus.UNDELIVERED, OutboundStatus.FAILED, OutboundStatus.UNCONFIRMED}
# Known never to reach the phone (an unconfirmed send may have).
NEVER_ARRIVES = {OutboundStatus.UNDELIVERED, OutboundStatus.FAILED}

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

# Every status of the twilio library's MessageInstance.Status for a text we sent.
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
# Statuses of a text coming in to the line: nothing of ours to move.
INBOUND_STATUSES = {"received", "receiving"}


def status_moves_forward(old: str, new: str) -> bool:
    return STATUS_RANK[OutboundStatus(new)] > STATUS_RANK[OutboundStatus(old)]


class CallStatus(models.TextChoices):
    QUEUED = QUEUED, _("Waiting to call")
    SENDING = SENDING, _("Calling Twilio")
    INITIATED = "initiated", _("Placed")
    RINGING = "ringing", _("Ringing")
    # Contexts: a call (un appel) is masculine in French, a session or check-in is not.
    IN_PROGRESS = "in-progress", pgettext_lazy("call status", "Answered")
    COMPLETED = "completed", pgettext_lazy("call status", "Ended")
    BUSY = "busy", _("Busy")
    NO_ANSWER = "no-answer", _("No answer")
    FAILED = FAILED, _("Failed")
    CANCELED = "canceled", pgettext_lazy("call status", "Cancelled")
    UNCONFIRMED = UNCONFIRMED, _("Not confirmed")


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
CALL_FINAL = {s for s, rank in CALL_RANK.items() if rank == CALL_RANK[CallStatus.COMPLETED]}
# A call that ended one of these ways reached nobody.
CALL_UNANSWERED = {CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED}
CALL_LIVE = (
    CallStatus.QUEUED,
    CallStatus.SENDING,
    CallStatus.INITIATED,
    CallStatus.RINGING,
    CallStatus.IN_PROGRESS,
)


class Outbound(models.Model):
    """What a text and a call have in common: one claim, one send, one retry, one sweep."""

    to_phone = EncryptedTextField()
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    # Which session this is for, and the row above that queued it (an alarm, say). Plain
    # numbers: this layer never reads them; the handler for the purpose does.
    session_id = models.PositiveBigIntegerField(_("session"), null=True, blank=True)
    ref_id = models.PositiveBigIntegerField(_("for"), null=True, blank=True)
    twilio_sid = models.CharField(
        _("Twilio SID"), max_length=64, unique=True, null=True, blank=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    # When the sweeper last queued its task again, in case the first was lost.
    requeued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=16, blank=True)
    # Twilio's words, with any phone number masked: never a number in plain text.
    error_message = models.CharField(_("error message"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        abstract = True


class OutboundSMS(Outbound):
    """The outbox for texts."""

    body = EncryptedTextField()
    status = models.CharField(
        _("status"), max_length=20, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED
    )

    class Meta:
        verbose_name = _("outbound text")
        verbose_name_plural = _("outbound texts")
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["session_id"]),
        ]

    def __str__(self) -> str:
        return f"Outbound SMS {self.pk} ({self.purpose}, {self.status})"


class OutboundCall(Outbound):
    """The outbox for automated calls: placed once, their endings acted on."""

    # What the call says can hold a location: encrypted like every other personal detail.
    twiml = EncryptedTextField()
    status = models.CharField(
        _("status"), max_length=16, choices=CallStatus.choices, default=CallStatus.QUEUED
    )
    answered_by = models.CharField(_("answered by"), max_length=24, blank=True)
    digits = models.CharField(_("key pressed"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("outbound call")
        verbose_name_plural = _("outbound calls")
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["ref_id", "purpose"]),
        ]

    def __str__(self) -> str:
        return f"Outbound call {self.pk} ({self.purpose}, {self.status})"


class StatusCallback(models.Model):
    """Each report Twilio sent us, kept once even when Twilio retries it."""

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
        indexes: ClassVar[list[Any]] = [models.Index(fields=["applied", "received_at"])]

    def __str__(self) -> str:
        return f"{self.twilio_sid} {self.status}"
