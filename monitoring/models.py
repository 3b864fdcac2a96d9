from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from nors.lib.fields import EncryptedTextField


class SessionStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    ACTIVE = "active", _("With an operator")
    ENDED = "ended", _("Ended")


class Channel(models.TextChoices):
    SMS = "sms", _("Text")


class Outcome(models.TextChoices):
    SUPPORTED_SAFE = "supported_safe", _("Stayed with them; they were safe")
    TALK_SUPPORT = "talk_support", _("Talk or mental-health support")
    RESOURCES = "resources", _("Shared resources")
    NO_REPLY = "no_reply", _("No reply from the person")
    EMS_DISPATCHED = "ems_dispatched", _("Emergency services sent")
    WRONG_NUMBER = "wrong_number", _("Wrong number or not for the line")
    OTHER = "other", _("Other")


SESSION_TRANSITIONS: dict[str, set[str]] = {
    SessionStatus.WAITING: {SessionStatus.ACTIVE, SessionStatus.ENDED},
    # ACTIVE -> ACTIVE is a transfer to another operator.
    SessionStatus.ACTIVE: {SessionStatus.WAITING, SessionStatus.ACTIVE, SessionStatus.ENDED},
    SessionStatus.ENDED: set(),
}


class Session(models.Model):
    channel = models.CharField(
        _("channel"), max_length=8, choices=Channel.choices, default=Channel.SMS
    )
    status = models.CharField(
        _("status"), max_length=16, choices=SessionStatus.choices, default=SessionStatus.WAITING
    )
    client_phone = EncryptedTextField()
    client_phone_index = models.CharField(max_length=64, db_index=True)
    language = models.CharField(_("language"), max_length=8, default="en")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="monitoring_sessions",
    )
    outcome = models.CharField(_("outcome"), max_length=32, choices=Outcome.choices, blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message at"))
    # How long the person has been silent is what matters for their safety.
    last_inbound_at = models.DateTimeField(_("last heard from at"), null=True, blank=True)
    client = models.ForeignKey(
        "clients.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    # The plan version in force now; clients.PlanInForce keeps the history.
    plan_version = models.ForeignKey(
        "clients.PlanVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        constraints: ClassVar[list[Any]] = [
            # One open conversation per number: concurrent first texts cannot open two.
            models.UniqueConstraint(
                fields=["client_phone_index"],
                condition=~Q(status="ended"),
                name="one_open_session_per_phone",
            ),
        ]
        indexes: ClassVar[list[Any]] = [models.Index(fields=["status", "waiting_since"])]

    def __str__(self) -> str:
        return f"Session {self.pk} ({self.status})"


class Direction(models.TextChoices):
    INBOUND = "in", _("From the client")
    OUTBOUND = "out", _("To the client")


class Message(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    body = EncryptedTextField()
    created_at = models.DateTimeField()
    # Set on inbound messages; the unique constraint makes Twilio's retries harmless.
    twilio_sid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    automatic = models.BooleanField(default=False)
    outbound = models.OneToOneField(
        "telephony.OutboundSMS",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="message",
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering: ClassVar[list[str]] = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Message {self.pk} ({self.direction})"


class EventKind(models.TextChoices):
    """What happened to a session: the timeline supervisors read."""

    OPENED = "opened", _("Session opened")
    CLAIMED = "claimed", _("Claimed by an operator")
    RELEASED = "released", _("Released back to the queue")
    TRANSFERRED = "transferred", _("Transferred to another operator")
    ENDED = "ended", _("Session ended")
    PHONE_REVEALED = "phone_revealed", _("Full phone number shown")
    CLIENT_LINKED = "client_linked", _("Client code linked")
    PLAN_IN_FORCE = "plan_in_force", _("Plan version put in force")
    PLAN_CONFIRMED = "plan_confirmed", _("Plan read back and confirmed")
    MONITORING_STARTED = "monitoring_started", _("Check-ins started")
    MONITORING_RESUMED = "monitoring_resumed", _("Check-ins resumed")
    MONITORING_ENDED = "monitoring_ended", _("Check-ins ended")
    CHECKIN_PROMPTED = "checkin_prompted", _("Check-in prompt sent")
    CHECKIN_ANSWERED = "checkin_answered", _("Check-in answered")
    CHECKIN_MISSED = "checkin_missed", _("Check-in missed")
    ESCALATION_STEP = "escalation_step", _("Escalation step")
    ESCALATION_STOPPED = "escalation_stopped", _("Escalation stopped: the client responded")
    ESCALATION_STEPS_CANCELLED = (
        "escalation_steps_cancelled",
        _("Remaining escalation steps cancelled"),
    )
    ESCALATION_CLOSED = "escalation_closed", _("Alarm closed")
    ALARM_ACKNOWLEDGED = "alarm_acknowledged", _("Alarm acknowledged")
    CALL_ENDED = "call_ended", _("Automated call ended")
    CLIENT_PRESSED_KEY = "client_pressed_key", _("The client pressed a key: they are OK")
    DISPATCH_CALL = "dispatch_call", _("Dispatch call placed")
    DISPATCH_CALL_ENDED = "dispatch_call_ended", _("Dispatch call hung up by the operator")
    TAKEN_OVER = "taken_over", _("Taken over to answer an alarm")
    CONTACT_UNREACHABLE = "contact_unreachable", _("The emergency contact could not be reached")


EVENT_LABELS = dict(EventKind.choices)


class AppendOnlyQuerySet(models.QuerySet["SessionEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("session events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("session events are append-only")


class SessionEvent(models.Model):
    """Who did what to a session, and when. Rows are only ever added."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=40, choices=EventKind.choices)
    old_status = models.CharField(_("from"), max_length=16, blank=True)
    new_status = models.CharField(_("to"), max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    at = models.DateTimeField(_("at"))
    data = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("session event")
        verbose_name_plural = _("session events")
        ordering: ClassVar[list[str]] = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on session {self.session_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("session events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("session events are append-only")


class PersonalDataAccess(models.Model):
    """Every time staff see personal data in full, a row here says who, what and when."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    session = models.ForeignKey(Session, null=True, on_delete=models.PROTECT)
    field = models.CharField(_("field"), max_length=40)
    # Why they looked can name the person or the place: encrypted like the number itself.
    reason = EncryptedTextField(_("reason"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")

    def __str__(self) -> str:
        return f"{self.user_id} read {self.field} at {self.at}"


# -- a session's plan: the draft being typed, and which version was in force when ----------------


class PlanDraft(models.Model):
    """What the operator has typed so far in a session, saved as they go. Deleted when a
    version is saved or the session ends."""

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="plan_draft")
    fields_json = EncryptedTextField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"draft for {self.session_id}"


class PlanInForce(models.Model):
    """From `since` on, this version was the plan for this session. Rows are only added."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="plans_in_force")
    version = models.ForeignKey("clients.PlanVersion", on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField(_("since"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("plan in force")
        verbose_name_plural = _("plans in force")
        ordering: ClassVar[list[str]] = ["since", "id"]
        indexes: ClassVar[list[Any]] = [models.Index(fields=["session", "since"])]

    def __str__(self) -> str:
        return f"{self.version_id} for {self.session_id} since {self.since}"


# -- monitoring: check-ins at agreed intervals ---------------------------------------------------


class MonitoringStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("monitoring status", "Check-ins running")
    ENDED = "ended", _("Ended")


class MonitoringEnd(models.TextChoices):
    CLIENT = "client", _("The client ended it")
    OPERATOR = "operator", _("The operator ended it")
    END_TIME = "end_time", _("The agreed end time came")
    SESSION = "session", _("The session ended")


MONITORING_TRANSITIONS: dict[str, set[str]] = {
    MonitoringStatus.ACTIVE: {MonitoringStatus.ENDED},
    MonitoringStatus.ENDED: set(),
}


class Monitoring(models.Model):
    """The client is using and has agreed to check-ins every `interval_seconds`."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="monitorings")
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=MonitoringStatus.choices,
        default=MonitoringStatus.ACTIVE,
    )
    interval_seconds = models.PositiveIntegerField(_("check-in interval (seconds)"))
    grace_seconds = models.PositiveIntegerField(_("grace period (seconds)"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    plan_version = models.ForeignKey(
        "clients.PlanVersion", on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(
        _("why it ended"), max_length=16, choices=MonitoringEnd.choices, blank=True
    )

    class Meta:
        verbose_name = _("monitoring")
        verbose_name_plural = _("monitorings")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(status="active"),
                name="one_active_monitoring_per_session",
            ),
        ]
        indexes: ClassVar[list[Any]] = [models.Index(fields=["status", "ends_at"])]

    def __str__(self) -> str:
        return f"Monitoring {self.pk} of session {self.session_id} ({self.status})"


class CheckInStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    PROMPTED = "prompted", _("Waiting for an answer")
    ANSWERED = "answered", _("Answered")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")


CHECKIN_TRANSITIONS: dict[str, set[str]] = {
    CheckInStatus.SCHEDULED: {CheckInStatus.PROMPTED, CheckInStatus.CANCELLED},
    CheckInStatus.PROMPTED: {
        CheckInStatus.ANSWERED,
        CheckInStatus.MISSED,
        CheckInStatus.CANCELLED,
    },
    CheckInStatus.ANSWERED: set(),
    CheckInStatus.MISSED: set(),
    CheckInStatus.CANCELLED: set(),
}
# States whose due_at the timer engine watches.
CHECKIN_WAITING = (CheckInStatus.SCHEDULED, CheckInStatus.PROMPTED)


class CheckIn(models.Model):
    """One check-in. `due_at` is when the timer engine must next act on it: the prompt time
    while scheduled, the end of the grace period once prompted."""

    monitoring = models.ForeignKey(Monitoring, on_delete=models.PROTECT, related_name="checkins")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="checkins")
    number = models.PositiveIntegerField(_("number"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=CheckInStatus.choices,
        default=CheckInStatus.SCHEDULED,
    )
    due_at = models.DateTimeField(_("due at"))
    prompt_at = models.DateTimeField(_("prompt planned at"))
    prompted_at = models.DateTimeField(_("prompted at"), null=True, blank=True)
    deadline_at = models.DateTimeField(_("answer expected by"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    missed_at = models.DateTimeField(_("missed at"), null=True, blank=True)
    prompt = models.OneToOneField(
        "telephony.OutboundSMS", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["monitoring", "number"], name="one_checkin_number"),
            # At most one check-in is ever waiting per monitoring: no double prompts.
            models.UniqueConstraint(
                fields=["monitoring"],
                condition=Q(status__in=["scheduled", "prompted"]),
                name="one_waiting_checkin",
            ),
        ]
        indexes: ClassVar[list[Any]] = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"Check-in {self.number} of monitoring {self.monitoring_id} ({self.status})"


# The heartbeat the timer sweep writes each time it runs.
HEARTBEAT_TIMERS = "timers"


class TimerHeartbeat(models.Model):
    """When the timer sweeper last ran. One row; dashboards go red when it is stale."""

    name = models.CharField(max_length=40, primary_key=True)
    last_run_at = models.DateTimeField()
    last_counts = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at}"
