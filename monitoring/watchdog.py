"""Watches the timer engine from outside it. If the sweeper stops, the supervisor on call is
texted straight through Twilio: not through the outbox, the worker or beat, which may be
what stopped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from monitoring import texts
from monitoring.models import TimerHeartbeat
from monitoring.selectors import heartbeat_last
from telephony import gateway

log = logging.getLogger(__name__)

ALERTED = "watchdog_alerted"


def _alerted_at() -> datetime | None:
    row = TimerHeartbeat.objects.filter(name=ALERTED).first()
    return row.last_run_at if row else None


def watchdog_check(*, now: datetime | None = None, started_at: datetime) -> str:
    """One look at the heartbeat: "ok", "stale_alerted", "stale_already_alerted", or
    "stale_no_number". Alerts once per outage; a fresh heartbeat ends the outage."""
    now = now or timezone.now()
    stale_after = timedelta(seconds=settings.TIMER_STALE_SECONDS)
    last = heartbeat_last()
    # A console that never swept at all is stale too, once it has had time to start.
    if (last or started_at) > now - stale_after:
        TimerHeartbeat.objects.filter(name=ALERTED).delete()
        return "ok"
    if _alerted_at() is not None:
        return "stale_already_alerted"
    if not settings.SUPERVISOR_ON_CALL_PHONE:
        log.error("the timer sweeper has stopped and SUPERVISOR_ON_CALL_PHONE is not set")
        return "stale_no_number"
    if not _text_supervisor():
        return "stale_send_failed"
    TimerHeartbeat.objects.update_or_create(name=ALERTED, defaults={"last_run_at": now})
    log.error("the timer sweeper has stopped: texted the supervisor on call")
    return "stale_alerted"


def _text_supervisor() -> bool:
    """Straight through Twilio: no outbox, no worker, no database."""
    phone = settings.SUPERVISOR_ON_CALL_PHONE
    if not phone:
        return False
    body = texts.render(texts.TIMERS_STOPPED, settings.LANGUAGE_CODE)
    try:
        gateway.sms_send(
            to=phone,
            body=body,
            status_callback=gateway.status_callback_url(reverse("twilio-sms-status")),
        )
    except gateway.SendError:
        log.exception("could not text the supervisor on call that the timers stopped")
        return False
    return True


class Watchdog:
    """The watchdog's memory between looks: when the database itself is down, the heartbeat
    cannot be read, and the timers cannot run either. That is an outage too."""

    def __init__(self, *, started_at: datetime) -> None:
        self.started_at = started_at
        self.database_down_since: datetime | None = None
        self.alerted_database_down = False

    def look(self, now: datetime | None = None) -> str:
        now = now or timezone.now()
        try:
            result = watchdog_check(now=now, started_at=self.started_at)
        except DatabaseError:
            log.exception("the watchdog cannot read the heartbeat")
            return self._database_down(now)
        self.database_down_since, self.alerted_database_down = None, False
        return result

    def _database_down(self, now: datetime) -> str:
        self.database_down_since = self.database_down_since or now
        waited = now - self.database_down_since
        if self.alerted_database_down or waited < timedelta(seconds=settings.TIMER_STALE_SECONDS):
            return "database_down"
        self.alerted_database_down = _text_supervisor()
        return "database_down_alerted" if self.alerted_database_down else "database_down"
