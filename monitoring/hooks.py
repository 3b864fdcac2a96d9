"""What sessions and check-ins tell the apps above them (the ladder, and later voice,
supervision and follow-up), through handlers those apps register in `AppConfig.ready()`."""

from __future__ import annotations

from enum import StrEnum

from nors.lib.registry import Registry


class Hook(StrEnum):
    # (checkin, now): a check-in's grace period ended unanswered.
    CHECKIN_MISSED = "checkin_missed"
    # (session, now) -> bool: the client answered; True if that stopped an alarm.
    CLIENT_RESPONDED = "client_responded"
    # (session, now, reason, session_outcome): check-ins end; with the session's outcome when
    # the whole session ends.
    MONITORING_ENDING = "monitoring_ending"
    # (session) -> str | None: why check-ins cannot resume now, if they cannot.
    RESUME_BLOCKED = "resume_blocked"
    # (session_ids) -> set of ids: sessions whose end time must wait (an alarm is under way).
    END_TIME_HELD = "end_time_held"
    # (now) -> dict of counts: more work for the timer sweep, under its heartbeat.
    SWEEP = "sweep"
    # () -> dict of counts: a worker started; queue again every timer the app keeps.
    REARM = "rearm"
    # (user) -> dict: more of the dashboard's snapshot.
    SNAPSHOT = "snapshot"
    # (session) -> dict: more of a session's monitoring state on the dashboard.
    MONITORING_STATE = "monitoring_state"
    # () -> dict: more of the dashboard page's template context.
    PAGE_CONTEXT = "page_context"
    # (payload) -> dict: a forwarded dashboard event with the app's labels rebuilt in the
    # active language (the publisher built them in its own); other payloads come back as given.
    RELABEL = "relabel"
    # (event) -> str | None: a timeline line for an event kind the app above wrote.
    EVENT_DETAIL = "event_detail"


hooks = Registry("monitoring")
