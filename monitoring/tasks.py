from __future__ import annotations

from celery import shared_task

from monitoring import checkins, timers


@shared_task(name="monitoring.tasks.checkin_due")
def checkin_due(checkin_id: int) -> str:
    return checkins.checkin_due(checkin_id=checkin_id, send_now=True)


@shared_task(name="monitoring.tasks.sweep_timers")
def sweep_timers() -> dict[str, int]:
    return timers.timers_sweep()


@shared_task(name="monitoring.tasks.timers_rearm")
def timers_rearm() -> dict[str, int]:
    return timers.timers_rearm()
