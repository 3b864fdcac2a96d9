"""The timer sweeper: every TIMER_SWEEP_SECONDS it acts on whatever is due and was missed.

Countdown tasks are the precise path, but they are lost when a worker is killed or Redis
restarts empty. The database holds every deadline, so this sweep finds them all again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from django.utils import timezone

from monitoring import checkins
from monitoring.hooks import Hook, hooks
from monitoring.models import (
    CHECKIN_WAITING,
    HEARTBEAT_TIMERS,
    CheckIn,
    CheckInStatus,
    Monitoring,
    MonitoringEnd,
    TimerHeartbeat,
)
from nors.lib import tasks
from telephony import outbox

log = logging.getLogger(__name__)

BATCH = 1000
HEARTBEAT = HEARTBEAT_TIMERS


def each_due(
    ids: Iterable[int], act: Callable[[int], bool], counts: dict[str, int], key: str
) -> None:
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
        .distinct()
    )
    found = dict(over.values_list("pk", "session_id")[:BATCH])
    held: set[int] = set()
    for more in hooks.notify(Hook.END_TIME_HELD, session_ids=set(found.values())):
        held |= more
    return [pk for pk, session_id in found.items() if session_id not in held]


def timers_sweep(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"checkins": 0, "steps": 0, "ended": 0, "errors": 0}
    # Ended first: no prompt goes out at the agreed end time.
    each_due(
        _ended_by_time(now),
        lambda pk: checkins.monitoring_end(
            monitoring_id=pk, reason=MonitoringEnd.END_TIME, now=now
        ),
        counts,
        "ended",
    )
    due = CheckIn.objects.filter(status__in=CHECKIN_WAITING, due_at__lte=now).order_by("due_at")
    each_due(
        list(due.values_list("pk", flat=True)[:BATCH]),
        lambda pk: checkins.checkin_due(checkin_id=pk, now=now) not in checkins.IDLE,
        counts,
        "checkins",
    )
    # The ladder's steps, and whatever else the apps above keep on timers.
    for more in hooks.notify(Hook.SWEEP, now=now):
        for key, value in more.items():
            counts[key] = counts.get(key, 0) + value
    TimerHeartbeat.objects.update_or_create(
        name=HEARTBEAT, defaults={"last_run_at": timezone.now(), "last_counts": counts}
    )
    return counts


def timers_rearm() -> dict[str, int]:
    """A worker has just started: the countdown tasks and sends that a killed worker held may be
    gone with it, so every one is queued again from the database, due or not. The sweeper would
    find each only once it is due, up to a sweep late, and a lost send later still. Every task
    acts only on a row that has not moved on, so a copy is harmless."""
    counts = {"checkins": 0}
    waiting = CheckIn.objects.filter(status__in=CHECKIN_WAITING)
    for pk, due_at in waiting.values_list("pk", "due_at"):
        tasks.task_queue(checkins.CHECKIN_DUE_TASK, pk, eta=due_at)
        counts["checkins"] += 1
    counts |= outbox.outbox_rearm()
    # The ladder's steps, and whatever else the apps above keep on timers.
    for more in hooks.notify(Hook.REARM):
        counts |= more
    return counts
