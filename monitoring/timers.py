"""The timer sweeper: every TIMER_SWEEP_SECONDS it acts on whatever is due and was missed.

Countdown tasks are the precise path, but they are lost when a worker is killed or Redis
restarts empty. The database holds every deadline, so this sweep finds them all again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from django.utils import timezone

from dispatch import escalation
from dispatch.models import (
    CallStatus,
    EscalationStatus,
    EscalationStep,
    OutboundCall,
    OutboundSMS,
    OutboundStatus,
    StepStatus,
)
from dispatch.tasks import escalation_step_due, place_outbound_call, send_outbound_sms
from monitoring import checkins
from monitoring.models import (
    CHECKIN_WAITING,
    CheckIn,
    CheckInStatus,
    Monitoring,
    MonitoringEnd,
    TimerHeartbeat,
)
from nors.lib import tasks

log = logging.getLogger(__name__)

BATCH = 1000
HEARTBEAT = "timers"


def _each(ids: Iterable[int], act: Callable[[int], bool], counts: dict[str, int], key: str) -> None:
    """Acts on every due row; one row that fails is logged and retried next sweep, and never
    stops the others."""
    for pk in ids:
        try:
            counts[key] += bool(act(pk))
        except Exception:
            counts["errors"] += 1
            log.exception("the timer sweep could not act on %s %s", key, pk)


def _ended_by_time(now: datetime) -> list[int]:
    # The end time stops future prompts only: a prompt still awaiting its answer, or an alarm
    # under way, runs its course first.
    over = (
        Monitoring.objects.filter(status="active", ends_at__lte=now)
        .exclude(checkins__status=CheckInStatus.PROMPTED)
        .exclude(session__escalations__status=EscalationStatus.OPEN)
        .distinct()
    )
    return list(over.values_list("pk", flat=True)[:BATCH])


def timers_sweep(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"checkins": 0, "steps": 0, "ended": 0, "errors": 0}
    # Ended first: no prompt goes out at the agreed end time.
    _each(
        _ended_by_time(now),
        lambda pk: checkins.monitoring_end(
            monitoring_id=pk, reason=MonitoringEnd.END_TIME, now=now
        ),
        counts,
        "ended",
    )
    due = CheckIn.objects.filter(status__in=CHECKIN_WAITING, due_at__lte=now).order_by("due_at")
    _each(
        list(due.values_list("pk", flat=True)[:BATCH]),
        lambda pk: (
            checkins.checkin_due(checkin_id=pk, now=now) not in ("moved_on", "not_due", "held")
        ),
        counts,
        "checkins",
    )
    steps = EscalationStep.objects.filter(status=StepStatus.PENDING, due_at__lte=now)
    _each(
        list(steps.order_by("due_at").values_list("pk", flat=True)[:BATCH]),
        lambda pk: escalation.step_due(step_id=pk, now=now) != "moved_on",
        counts,
        "steps",
    )
    TimerHeartbeat.objects.update_or_create(
        name=HEARTBEAT, defaults={"last_run_at": timezone.now(), "last_counts": counts}
    )
    return counts


def heartbeat_last() -> datetime | None:
    beat = TimerHeartbeat.objects.filter(name=HEARTBEAT).first()
    return beat.last_run_at if beat else None


def timers_rearm() -> dict[str, int]:
    """A worker has just started: the countdown tasks and sends that a killed worker held may be
    gone with it, so every one is queued again from the database, due or not. The sweeper would
    find each only once it is due, up to a sweep late, and a lost send later still."""
    # Imported here: the tasks module imports this one.
    from monitoring.tasks import checkin_due

    timers = [
        (checkin_due, CheckIn.objects.filter(status__in=CHECKIN_WAITING)),
        (escalation_step_due, EscalationStep.objects.filter(status=StepStatus.PENDING)),
    ]
    counts = {"checkins": 0, "steps": 0, "texts": 0, "calls": 0}
    for key, (task, rows) in zip(("checkins", "steps"), timers, strict=True):
        for pk, due_at in rows.values_list("pk", "due_at"):
            tasks.task_queue(task, pk, eta=due_at)
            counts[key] += 1
    sends = [
        (send_outbound_sms, OutboundSMS.objects.filter(status=OutboundStatus.QUEUED)),
        (place_outbound_call, OutboundCall.objects.filter(status=CallStatus.QUEUED)),
    ]
    for key, (task, rows) in zip(("texts", "calls"), sends, strict=True):
        for pk, next_attempt_at in rows.values_list("pk", "next_attempt_at"):
            tasks.task_queue(task, pk, eta=next_attempt_at)
            counts[key] += 1
    return counts
