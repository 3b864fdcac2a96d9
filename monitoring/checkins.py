"""Writes for monitoring: check-ins at agreed intervals, and what a client's answer changes.

The database holds every deadline (`CheckIn.due_at`). A countdown task is the precise path;
the sweeper in `monitoring.timers` catches anything it missed. Every move is a compare-and-set,
so when both paths act on the same check-in, only one of them does anything.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from clients.models import PlanStatus
from monitoring import keywords, selectors, services, texts
from monitoring.hooks import Hook, hooks
from monitoring.models import (
    CHECKIN_TRANSITIONS,
    CHECKIN_WAITING,
    MONITORING_TRANSITIONS,
    CheckIn,
    CheckInStatus,
    EventKind,
    Monitoring,
    MonitoringEnd,
    MonitoringStatus,
    Outcome,
    Session,
)
from nors.lib import realtime, tasks
from nors.lib.jsonapi import Conflict
from nors.lib.states import status_move
from telephony import outbox
from telephony.models import OutboundSMS, OutboundStatus, Purpose

MAX_INTERVAL = 30 * 60
MAX_GRACE = 10 * 60


class DueResult(StrEnum):
    """What the timer engine did with a check-in whose time came."""

    PROMPTED = "prompted"
    MISSED = "missed"
    ENDED = "ended"
    # The prompt has not left yet, so its grace period has not begun (see `_answer_deadline`).
    HELD = "held"
    NOT_DUE = "not_due"
    # Another worker, or the client, moved it first.
    MOVED_ON = "moved_on"


# The results that mean the sweep did nothing to the check-in.
IDLE = {DueResult.HELD, DueResult.NOT_DUE, DueResult.MOVED_ON}


class MonitoringConflict(Conflict):
    pass


# -- timers --------------------------------------------------------------------------------------


CHECKIN_DUE_TASK = "monitoring.tasks.checkin_due"


def _timer(checkin: CheckIn) -> None:
    tasks.task_queue_on_commit(CHECKIN_DUE_TASK, checkin.pk, eta=checkin.due_at)


# -- starting and ending -------------------------------------------------------------------------


def _whole_seconds(value: Any, low: int, high: int, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(message)
    return int(value)


def _schedule(monitoring: Monitoring, *, number: int, prompt_at: datetime) -> CheckIn:
    checkin = CheckIn.objects.create(
        monitoring=monitoring,
        session_id=monitoring.session_id,
        number=number,
        due_at=prompt_at,
        prompt_at=prompt_at,
    )
    _timer(checkin)
    return checkin


def monitoring_start(
    *,
    session_id: int,
    user: Any,
    interval_seconds: Any = None,
    grace_seconds: Any = None,
    ends_at: datetime | None = None,
) -> Monitoring:
    """Check-ins begin. The plan in force must be ready: it says what to do if they stop."""
    interval = _whole_seconds(
        interval_seconds if interval_seconds is not None else settings.CHECKIN_INTERVAL_SECONDS,
        int(settings.CHECKIN_MIN_INTERVAL_SECONDS),
        MAX_INTERVAL,
        _("Choose a check-in interval from 1 to 30 minutes."),
    )
    grace = _whole_seconds(
        grace_seconds if grace_seconds is not None else settings.CHECKIN_GRACE_SECONDS,
        int(settings.CHECKIN_MIN_GRACE_SECONDS),
        MAX_GRACE,
        _("Choose a grace period from 10 seconds to 10 minutes."),
    )
    with transaction.atomic():
        session = services.session_for_action(session_id=session_id, user=user, lock=True)
        services.session_require_textable(session)
        plan = session.plan_version
        if plan is None or plan.status != PlanStatus.READY:
            raise MonitoringConflict(_("Save the plan as ready before starting check-ins."))
        now = timezone.now()
        if ends_at is not None and ends_at <= now + timedelta(seconds=interval):
            raise ValueError(_("The end time must be later than the first check-in."))
        try:
            with transaction.atomic():
                monitoring = Monitoring.objects.create(
                    session=session,
                    interval_seconds=interval,
                    grace_seconds=grace,
                    ends_at=ends_at,
                    plan_version=plan,
                    started_at=now,
                    started_by=user,
                )
        except IntegrityError:
            raise MonitoringConflict(_("Check-ins are already running for this session.")) from None
        checkin = _schedule(monitoring, number=1, prompt_at=now + timedelta(seconds=interval))
        minutes = _minutes(interval, session.language)
        body = texts.render(texts.MONITORING_STARTED, session.language, minutes=minutes)
        services.session_send_automatic(session, body, at=now)
        services.session_event(
            session,
            EventKind.MONITORING_STARTED,
            at=now,
            actor=user,
            interval_seconds=interval,
            grace_seconds=grace,
            first_checkin_at=checkin.due_at.isoformat(),
        )
        _publish(session)
        return monitoring


def _minutes(seconds: int, language: str) -> str:
    """Minutes as the client's language writes them: 1.5 in English, 1,5 in French."""
    minutes = round(seconds / 60, 1)
    value: float = int(minutes) if minutes.is_integer() else minutes
    with translation.override(language):
        return formats.number_format(value, use_l10n=True)


def monitoring_end(
    *,
    monitoring_id: int,
    reason: str,
    user: Any = None,
    now: datetime | None = None,
    session_outcome: str = "",
) -> bool:
    """Check-ins stop and the client gets a closing text. False if it had already ended."""
    now = now or timezone.now()
    with transaction.atomic():
        session_id = Monitoring.objects.values_list("session_id", flat=True).get(pk=monitoring_id)
        services.session_lock(session_id)
        ended = status_move(
            Monitoring.objects.filter(pk=monitoring_id),
            MONITORING_TRANSITIONS,
            old=MonitoringStatus.ACTIVE,
            new=MonitoringStatus.ENDED,
            ended_at=now,
            end_reason=reason,
        )
        if not ended:
            return False
        monitoring = Monitoring.objects.select_related("session").get(pk=monitoring_id)
        status_move(
            CheckIn.objects.filter(monitoring=monitoring),
            CHECKIN_TRANSITIONS,
            old=CHECKIN_WAITING,
            new=CheckInStatus.CANCELLED,
        )
        session = monitoring.session
        hooks.notify(
            Hook.MONITORING_ENDING,
            session=session,
            now=now,
            reason=reason,
            session_outcome=session_outcome,
        )
        body = texts.render(texts.MONITORING_ENDED, session.language)
        services.session_send_automatic(session, body, at=now)
        services.session_event(
            session, EventKind.MONITORING_ENDED, at=now, actor=user, reason=reason
        )
        _publish(session)
        return True


def monitoring_end_by_operator(*, session_id: int, user: Any) -> bool:
    session = services.session_for_action(session_id=session_id, user=user)
    monitoring = active_monitoring(session)
    if monitoring is None:
        raise MonitoringConflict(_("Check-ins are not running for this session."))
    return monitoring_end(monitoring_id=monitoring.pk, reason=MonitoringEnd.OPERATOR, user=user)


def monitoring_resume(*, session_id: int, user: Any) -> CheckIn:
    """After the client answered an alarm, check-ins go on at the same interval."""
    with transaction.atomic():
        session = services.session_for_action(session_id=session_id, user=user, lock=True)
        monitoring = active_monitoring(session)
        if monitoring is None:
            raise MonitoringConflict(_("Check-ins are not running for this session."))
        if monitoring.checkins.filter(status__in=CHECKIN_WAITING).exists():
            raise MonitoringConflict(_("The next check-in is already planned."))
        for blocked in hooks.notify(Hook.RESUME_BLOCKED, session=session):
            if blocked:
                raise MonitoringConflict(blocked)
        now = timezone.now()
        checkin = _schedule(
            monitoring,
            number=_next_number(monitoring),
            prompt_at=now + timedelta(seconds=monitoring.interval_seconds),
        )
        services.session_event(session, EventKind.MONITORING_RESUMED, at=now, actor=user)
        _publish(session)
        return checkin


def active_monitoring(session: Session) -> Monitoring | None:
    return Monitoring.objects.filter(session=session, status=MonitoringStatus.ACTIVE).first()


def _next_number(monitoring: Monitoring) -> int:
    last = monitoring.checkins.order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


# -- the timer engine's moves ----------------------------------------------------------------------


def checkin_due(
    *, checkin_id: int, now: datetime | None = None, send_now: bool = False
) -> DueResult:
    """Acts on a check-in whose due time has come: prompt it, or call it missed.

    With `send_now` (the countdown task, one check-in at a time) the prompt is sent to Twilio
    right here, once written down, rather than by a task of its own queued behind everything
    else: on a busy worker a prompt never waits for its text, and one task does the work of
    two. The sweeper, going through many check-ins, leaves the sends to their tasks."""
    now = now or timezone.now()
    checkin = CheckIn.objects.select_related("monitoring").filter(pk=checkin_id).first()
    if checkin is None or checkin.due_at > now:
        return DueResult.NOT_DUE
    if checkin.status == CheckInStatus.SCHEDULED:
        return _prompt(checkin, now, send_now=send_now)
    if checkin.status == CheckInStatus.PROMPTED:
        if _deadline_held(checkin, now):
            return DueResult.HELD
        return _miss(checkin, now)
    return DueResult.MOVED_ON


def _answer_deadline(checkin: CheckIn) -> tuple[datetime, bool]:
    """When the answer is due, and whether the prompt has left yet.

    The grace period counts from when the prompt left for Twilio, not from when it was written
    down: on an overloaded machine a text can wait in the outbox, and a client who takes the
    whole grace period to answer a text that reached them late must not be alarmed. A prompt
    that does not leave holds the deadline for CHECKIN_SEND_WAIT_SECONDS at most: then the
    alarm goes out anyway, because a client the line cannot reach is not known to be safe.
    """
    assert checkin.prompted_at is not None
    grace = timedelta(seconds=checkin.monitoring.grace_seconds)
    latest = checkin.prompted_at + grace + timedelta(seconds=settings.CHECKIN_SEND_WAIT_SECONDS)
    sent = OutboundSMS.objects.filter(pk=checkin.prompt_id or 0)
    row = sent.values_list("status", "claimed_at").first()
    if row is None:
        return checkin.prompted_at + grace, True
    status, claimed_at = row
    if status in (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED):
        # It will never reach them: the grace period is over (as `checkin_hurry` decides).
        return checkin.prompted_at, True
    if status == OutboundStatus.QUEUED:
        return latest, False
    return min(latest, (claimed_at or checkin.prompted_at) + grace), True


def _deadline_held(checkin: CheckIn, now: datetime) -> bool:
    """Moves the deadline to the end of a grace period counted from the prompt leaving. A
    prompt still in the outbox is looked at again on every sweep until it leaves."""
    deadline, left = _answer_deadline(checkin)
    if deadline <= now:
        return False
    look_again = deadline if left else min(deadline, now + _sweep_period())
    with transaction.atomic():
        moved = CheckIn.objects.filter(
            pk=checkin.pk, status=CheckInStatus.PROMPTED, due_at=checkin.due_at
        ).update(due_at=look_again, deadline_at=deadline)
        if not moved:
            return True
        if left:
            checkin.due_at = look_again
            _timer(checkin)
        if deadline != checkin.deadline_at:
            _publish(Session.objects.get(pk=checkin.session_id))
    return True


def _sweep_period() -> timedelta:
    return timedelta(seconds=settings.TIMER_SWEEP_SECONDS)


def _prompt(checkin: CheckIn, now: datetime, *, send_now: bool = False) -> DueResult:
    monitoring = checkin.monitoring
    if monitoring.ends_at is not None and monitoring.ends_at <= now:
        monitoring_end(monitoring_id=monitoring.pk, reason=MonitoringEnd.END_TIME, now=now)
        return DueResult.ENDED
    deadline = now + timedelta(seconds=monitoring.grace_seconds)
    with transaction.atomic():
        session = services.session_locked(checkin.session_id)
        moved = status_move(
            CheckIn.objects.filter(pk=checkin.pk),
            CHECKIN_TRANSITIONS,
            old=CheckInStatus.SCHEDULED,
            new=CheckInStatus.PROMPTED,
            prompted_at=now,
            deadline_at=deadline,
            due_at=deadline,
        )
        if not moved:
            return DueResult.MOVED_ON
        body = texts.render(texts.CHECKIN_PROMPT, session.language)
        message = services.session_send_automatic(
            session, body, at=now, purpose=Purpose.CHECKIN_PROMPT, queue_task=not send_now
        )
        CheckIn.objects.filter(pk=checkin.pk).update(prompt=message.outbound)
        checkin.status, checkin.prompted_at = CheckInStatus.PROMPTED, now
        checkin.due_at = checkin.deadline_at = deadline
        _timer(checkin)
        services.session_event(
            session,
            EventKind.CHECKIN_PROMPTED,
            at=now,
            number=checkin.number,
            planned_at=checkin.prompt_at.isoformat(),
            late_ms=round((now - checkin.prompt_at).total_seconds() * 1000),
        )
        # Monitoring and check-in are in hand: the dashboards need nothing read again.
        _publish(session, selectors.MonitoringNow(monitoring, checkin))
    if send_now and message.outbound_id is not None:
        outbound_id = message.outbound_id
        # Once committed; if this process dies first, the outbox sweeper sends it.
        transaction.on_commit(lambda: outbox.sms_send(outbound_id=outbound_id), robust=True)
    return DueResult.PROMPTED


def _miss(checkin: CheckIn, now: datetime) -> DueResult:
    with transaction.atomic():
        services.session_lock(checkin.session_id)
        moved = status_move(
            CheckIn.objects.filter(pk=checkin.pk),
            CHECKIN_TRANSITIONS,
            old=CheckInStatus.PROMPTED,
            new=CheckInStatus.MISSED,
            missed_at=now,
        )
        if not moved:
            return DueResult.MOVED_ON
        session = Session.objects.get(pk=checkin.session_id)
        services.session_event(
            session,
            EventKind.CHECKIN_MISSED,
            at=now,
            number=checkin.number,
            planned_at=(checkin.deadline_at or checkin.due_at).isoformat(),
        )
        hooks.notify(Hook.CHECKIN_MISSED, checkin=checkin, now=now)
        _publish(session)
    return DueResult.MISSED


def checkin_hurry(*, outbound_id: int, now: datetime | None = None) -> bool:
    """A prompt that Twilio could not deliver cannot be answered: the grace period ends now."""
    now = now or timezone.now()
    checkin = CheckIn.objects.filter(prompt_id=outbound_id, status=CheckInStatus.PROMPTED).first()
    if checkin is None:
        return False
    CheckIn.objects.filter(pk=checkin.pk, status=CheckInStatus.PROMPTED).update(due_at=now)
    return _miss(checkin, now) == DueResult.MISSED


# -- the client's texts ---------------------------------------------------------------------------


def inbound_during_monitoring(
    *, session: Session, body: str, now: datetime
) -> selectors.MonitoringNow | None:
    """Any text from the client is a sign of life; DONE or SAFE ends check-ins. Returns the
    check-ins as they now stand when it is cheaper for the caller than reading them again."""

    # Usually a check-in is waiting, and its monitoring comes with it.
    waiting = (
        CheckIn.objects.filter(session=session, status__in=CHECKIN_WAITING)
        .select_related("monitoring")
        .first()
    )
    monitoring = waiting.monitoring if waiting is not None else active_monitoring(session)
    if monitoring is None:
        return None
    stopped = _client_responded(session, now)
    if keywords.ends_monitoring(body):
        monitoring_end(monitoring_id=monitoring.pk, reason=MonitoringEnd.CLIENT, now=now)
        return None
    if waiting is None:
        if not stopped:
            # After an alarm's outcome check-ins wait for the operator, who resumes or ends
            # them: the text is shown to a person, who answers it.
            return selectors.MonitoringNow(monitoring, None)
        # Answering an alarm: the ladder stopped, and check-ins go on.
        return selectors.MonitoringNow(monitoring, checkins_go_on(monitoring=monitoring, now=now))
    if waiting.status == CheckInStatus.SCHEDULED or not status_move(
        CheckIn.objects.filter(pk=waiting.pk),
        CHECKIN_TRANSITIONS,
        old=CheckInStatus.PROMPTED,
        new=CheckInStatus.ANSWERED,
        answered_at=now,
    ):
        # A text between check-ins changes nothing: the next one stays when it was.
        return selectors.MonitoringNow(monitoring, waiting)
    services.session_event(session, EventKind.CHECKIN_ANSWERED, at=now, number=waiting.number)
    # It was the one waiting check-in (there is only ever one): the next follows it.
    following = _schedule(
        monitoring,
        number=waiting.number + 1,
        prompt_at=now + timedelta(seconds=monitoring.interval_seconds),
    )
    return selectors.MonitoringNow(monitoring, following)


def checkins_go_on(*, monitoring: Monitoring, now: datetime) -> CheckIn | None:
    """The client answered (a prompt, or an alarm): the next check-in is one interval away.
    Never none: a client who believes they are monitored must be."""
    if monitoring.checkins.filter(status__in=CHECKIN_WAITING).exists():
        return None
    return _schedule(
        monitoring,
        number=_next_number(monitoring),
        prompt_at=now + timedelta(seconds=monitoring.interval_seconds),
    )


def client_responded_by_call(*, session: Session, now: datetime) -> None:
    """The client pressed a key on the automated call: as good as a text."""
    stopped = _client_responded(session, now)
    monitoring = active_monitoring(session)
    if monitoring is not None and stopped:
        checkins_go_on(monitoring=monitoring, now=now)


def _client_responded(session: Session, now: datetime) -> bool:
    """Every alarm under way stops; True if there was one."""
    return any(hooks.notify(Hook.CLIENT_RESPONDED, session=session, now=now))


def session_end(*, session_id: int, user: Any, outcome: str) -> Session:
    """Ends the session, and its check-ins first; its alarms close with what the outcome says."""
    with transaction.atomic():
        session = services.session_for_action(
            session_id=session_id, user=user, lock=True, allow=services.OPEN
        )
        monitoring = active_monitoring(session)
        if monitoring is not None and outcome in Outcome.values:
            monitoring_end(
                monitoring_id=monitoring.pk,
                reason=MonitoringEnd.SESSION,
                user=user,
                session_outcome=outcome,
            )
        return services.session_end(session_id=session_id, user=user, outcome=outcome)


def _publish(session: Session, current: selectors.MonitoringNow | None = None) -> None:
    current = current or selectors.monitoring_now(session)
    realtime.publish(
        realtime.session_group(session.pk),
        {
            "type": "monitoring",
            "session_id": session.pk,
            **selectors.monitoring_state(session, current),
        },
    )
    services.session_publish(session, current)
