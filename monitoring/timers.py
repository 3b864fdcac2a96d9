"""The timer sweeper: every TIMER_SWEEP_SECONDS it acts on whatever is due and was missed.

Countdown tasks are the precise path, but they are lost when a worker is killed or Redis
restarts empty. The database holds every deadline, so this sweep finds them all again.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from dispatch import escalation
from dispatch.models import EscalationStep, StepStatus
from monitoring import checkins
from monitoring.models import CHECKIN_WAITING, CheckIn, Monitoring, MonitoringEnd, TimerHeartbeat

BATCH = 1000
HEARTBEAT = "timers"


def timers_sweep(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"checkins": 0, "steps": 0, "ended": 0}
    # Ended first: no prompt goes out at the agreed end time.
    over = Monitoring.objects.filter(status="active", ends_at__lte=now)
    for monitoring_id in over.values_list("pk", flat=True)[:BATCH]:
        counts["ended"] += checkins.monitoring_end(
            monitoring_id=monitoring_id, reason=MonitoringEnd.END_TIME, now=now
        )
    due = CheckIn.objects.filter(status__in=CHECKIN_WAITING, due_at__lte=now)
    for checkin_id in due.order_by("due_at").values_list("pk", flat=True)[:BATCH]:
        if checkins.checkin_due(checkin_id=checkin_id, now=now) not in ("moved_on", "not_due"):
            counts["checkins"] += 1
    steps = EscalationStep.objects.filter(status=StepStatus.PENDING, due_at__lte=now)
    for step_id in steps.order_by("due_at").values_list("pk", flat=True)[:BATCH]:
        if escalation.step_due(step_id=step_id, now=now) != "moved_on":
            counts["steps"] += 1
    TimerHeartbeat.objects.update_or_create(
        name=HEARTBEAT, defaults={"last_run_at": timezone.now(), "last_counts": counts}
    )
    return counts


def heartbeat_last() -> datetime | None:
    beat = TimerHeartbeat.objects.filter(name=HEARTBEAT).first()
    return beat.last_run_at if beat else None
