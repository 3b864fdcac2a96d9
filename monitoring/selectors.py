"""Reads for the dashboard. Everything here is what a reload shows; events only speed it up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from monitoring.hooks import Hook, hooks
from monitoring.models import (
    CHECKIN_WAITING,
    EVENT_LABELS,
    HEARTBEAT_TIMERS,
    CheckIn,
    EventKind,
    Message,
    Monitoring,
    MonitoringStatus,
    Session,
    SessionEvent,
    SessionStatus,
    TimerHeartbeat,
)
from nors.lib import roles
from telephony.selectors import delivery_dict


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def phone_masked(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    return "••• ••• " + "".join(digits[-4:])


def session_summary(session: Session, monitoring: MonitoringNow | None = None) -> dict[str, Any]:
    """Reads the session's operator, client and plan: select them with the session."""
    operator = session.operator
    return {
        "id": session.pk,
        "status": session.status,
        "status_label": str(session.get_status_display()),
        "channel": session.channel,
        "phone_masked": phone_masked(session.client_phone),
        "language": session.language,
        "operator": {"id": operator.pk, "name": roles.display_name(operator)} if operator else None,
        "opened_at": _iso(session.opened_at),
        "waiting_since": _iso(session.waiting_since),
        "claimed_at": _iso(session.claimed_at),
        "ended_at": _iso(session.ended_at),
        "last_message_at": _iso(session.last_message_at),
        "last_inbound_at": _iso(session.last_inbound_at),
        "outcome": session.outcome,
        "client_code": session.client.code if session.client else None,
        "plan": _plan_badge(session),
        "monitoring": monitoring_badge(session, monitoring)
        if session.status == SessionStatus.ACTIVE
        else None,
    }


def _plan_badge(session: Session) -> dict[str, Any] | None:
    version = session.plan_version
    if version is None:
        return None
    return {
        "number": version.number,
        "status": version.status,
        "confirmed": version.confirmed_at is not None,
    }


def message_dict(message: Message) -> dict[str, Any]:
    outbound = message.outbound
    return {
        "id": message.pk,
        "outbound_id": message.outbound_id,
        "direction": message.direction,
        "body": message.body,
        "created_at": _iso(message.created_at),
        "author": roles.display_name(message.author) if message.author else "",
        "automatic": message.automatic,
        "delivery": delivery_dict(outbound) if outbound is not None else None,
    }


def _sessions() -> QuerySet[Session]:
    return Session.objects.select_related("operator", "client", "plan_version")


def queue_list() -> list[Session]:
    return list(_sessions().filter(status=SessionStatus.WAITING).order_by("waiting_since", "id"))


def sessions_of_operator(*, user: Any) -> list[Session]:
    return list(
        _sessions().filter(status=SessionStatus.ACTIVE, operator=user).order_by("claimed_at")
    )


def session_visible_to(*, session: Session, user: Any) -> bool:
    if roles.is_supervisor(user):
        return True
    if not roles.is_operator(user):
        return False
    return session.status == SessionStatus.WAITING or session.operator_id == user.pk


def operators_list() -> list[dict[str, Any]]:
    users = get_user_model().objects.filter(is_active=True, groups__name=roles.OPERATORS)
    return [
        {"id": u.pk, "name": roles.display_name(u)} for u in users.distinct().order_by("username")
    ]


def dashboard_snapshot(*, user: Any) -> dict[str, Any]:
    return {
        "type": "snapshot",
        # The page corrects its wait counters for any skew between its clock and ours.
        "now": _iso(timezone.now()),
        "me": {"id": user.pk, "name": roles.display_name(user)},
        "queue": [session_summary(s) for s in queue_list()],
        "mine": _summaries(sessions_of_operator(user=user)),
        "operators": operators_list(),
        "timers": timers_state(),
        **_more(Hook.SNAPSHOT, user=user),
    }


def _more(hook: Hook, **context: Any) -> dict[str, Any]:
    """What the apps above add to a payload (the ladder adds its alarms)."""
    merged: dict[str, Any] = {}
    for more in hooks.notify(hook, **context):
        merged |= more
    return merged


def heartbeat_last() -> datetime | None:
    beat = TimerHeartbeat.objects.filter(name=HEARTBEAT_TIMERS).first()
    return beat.last_run_at if beat else None


def timers_state() -> dict[str, Any]:
    """When the timer engine last ran: a dashboard goes red if it stops."""
    return {
        "last_run_at": _iso(heartbeat_last()),
        "stale_after_seconds": settings.TIMER_STALE_SECONDS,
    }


@dataclass(frozen=True)
class MonitoringNow:
    """A session's latest monitoring and its waiting check-in, read once per event."""

    monitoring: Monitoring | None
    waiting: CheckIn | None


def monitorings_now(sessions: list[Session]) -> dict[int, MonitoringNow]:
    """`monitoring_now` for many sessions in two queries, not two per session."""
    latest: dict[int, Monitoring] = {}
    rows = Monitoring.objects.filter(session__in=sessions).order_by("session_id", "-started_at")
    for monitoring in rows:
        latest.setdefault(monitoring.session_id, monitoring)
    waiting = {
        checkin.monitoring_id: checkin
        for checkin in CheckIn.objects.filter(
            monitoring__in=latest.values(), status__in=CHECKIN_WAITING
        )
    }
    return {
        session_id: MonitoringNow(monitoring, waiting.get(monitoring.pk))
        for session_id, monitoring in latest.items()
    }


def _summaries(sessions: list[Session]) -> list[dict[str, Any]]:
    current = monitorings_now(sessions)
    none = MonitoringNow(None, None)
    return [session_summary(s, current.get(s.pk, none)) for s in sessions]


def monitoring_now(session: Session) -> MonitoringNow:
    monitoring = Monitoring.objects.filter(session=session).order_by("-started_at").first()
    if monitoring is None:
        return MonitoringNow(None, None)
    return MonitoringNow(monitoring, monitoring.checkins.filter(status__in=CHECKIN_WAITING).first())


def _next_due(waiting: CheckIn) -> datetime:
    # Prompted: the end of the grace period, which a prompt late to leave holds.
    return waiting.deadline_at or waiting.due_at


def monitoring_badge(
    session: Session, current: MonitoringNow | None = None
) -> dict[str, Any] | None:
    current = current or monitoring_now(session)
    monitoring, waiting = current.monitoring, current.waiting
    if monitoring is None or monitoring.status != MonitoringStatus.ACTIVE:
        return None
    return {
        "interval_seconds": monitoring.interval_seconds,
        "next_due_at": _iso(_next_due(waiting)) if waiting else None,
        "next_status": waiting.status if waiting else None,
    }


def conversation(*, session: Session) -> dict[str, Any]:
    messages = session.messages.select_related("outbound", "author")
    return {
        "type": "conversation",
        "session": session_summary(session),
        "messages": [message_dict(m) for m in messages],
    }


def _event_detail(event: SessionEvent) -> str:
    data = event.data
    if event.kind == EventKind.CLIENT_LINKED:
        return _("Code %(code)s") % {"code": data.get("code", "")}
    if event.kind == EventKind.PLAN_IN_FORCE:
        detail = _("Version %(number)s") % {"number": data.get("version", "")}
        if data.get("status") == "ready":
            detail = _("%(version)s, ready") % {"version": detail}
        if data.get("reason") == "reused":
            detail = _("%(version)s, used again with the client's agreement") % {"version": detail}
        return detail
    if event.kind == EventKind.PLAN_CONFIRMED:
        return _("Version %(number)s") % {"number": data.get("version", "")}
    return _ladder_detail(event)


CHECKIN_EVENTS = (EventKind.CHECKIN_PROMPTED, EventKind.CHECKIN_MISSED, EventKind.CHECKIN_ANSWERED)


def clock_text(iso: Any) -> str:
    """The time part of a stored ISO timestamp, to the second, for planned-versus-actual."""
    if not isinstance(iso, str):
        return ""
    moment = datetime.fromisoformat(iso)
    return timezone.localtime(moment).strftime("%H:%M:%S")


def _ladder_detail(event: SessionEvent) -> str:
    data = event.data
    for detail in hooks.notify(Hook.EVENT_DETAIL, event=event):
        if detail is not None:
            return str(detail)
    if event.kind in CHECKIN_EVENTS:
        detail = _("Check-in %(number)s") % {"number": data.get("number", "")}
        if data.get("planned_at"):
            detail += " · " + _("planned for %(planned)s") % {
                "planned": clock_text(data["planned_at"])
            }
        return detail
    if event.kind == EventKind.CALL_ENDED:
        return f"{data.get('purpose', '')}: {data.get('status', '')} {data.get('answered_by', '')}"
    if event.kind in (EventKind.ESCALATION_CLOSED, EventKind.MONITORING_ENDED):
        return str(data.get("outcome") or data.get("reason") or "")
    return ""


def session_timeline(*, session: Session) -> list[dict[str, Any]]:
    """Events and message metadata in order, for supervisors. Bodies stay out of it."""
    rows: list[dict[str, Any]] = []
    for event in SessionEvent.objects.filter(session=session).select_related("actor"):
        label = EVENT_LABELS.get(event.kind, event.kind)
        old, new = (
            SessionStatus(s).label if s in SessionStatus.values else s
            for s in (event.old_status, event.new_status)
        )
        rows.append(
            {
                "at": event.at,
                "kind": event.kind,
                "label": label,
                "old_status": old,
                "new_status": new,
                "event": event,
                "detail": _event_detail(event),
                "actor": roles.display_name(event.actor),
            }
        )
    for message in session.messages.select_related("outbound", "author"):
        rows.append(
            {
                "at": message.created_at,
                "kind": "message",
                "message": message,
                "actor": roles.display_name(message.author),
            }
        )
    return sorted(rows, key=lambda row: row["at"])


def monitoring_state(session: Session, current: MonitoringNow | None = None) -> dict[str, Any]:
    """Check-ins for the dashboard: whether they run, and when the next one is due."""
    current = current or monitoring_now(session)
    monitoring, waiting = current.monitoring, current.waiting
    if monitoring is None:
        return {"monitoring": None, **_more(Hook.MONITORING_STATE, session=session)}
    return {
        "monitoring": {
            "id": monitoring.pk,
            "status": monitoring.status,
            "interval_seconds": monitoring.interval_seconds,
            "grace_seconds": monitoring.grace_seconds,
            "ends_at": _iso(monitoring.ends_at),
            "next": {
                "number": waiting.number,
                "status": waiting.status,
                "due_at": _iso(_next_due(waiting)),
            }
            if waiting
            else None,
        },
        **_more(Hook.MONITORING_STATE, session=session),
    }
