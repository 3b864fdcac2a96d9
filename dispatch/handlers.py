"""What the layers below tell the ladder. Registered in `DispatchConfig.ready()`.

From telephony: how the ladder's texts and calls ended, and a key pressed on the client's call.
From monitoring: a missed check-in starts the ladder, an answer stops it, the end of check-ins
winds it down, and the dashboard shows its alarms.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dispatch import calls, escalation, selectors
from dispatch.models import (
    Escalation,
    EscalationOutcome,
    EscalationStatus,
    EscalationStep,
    StepKind,
    StepResult,
    StepStatus,
)
from monitoring import checkins
from monitoring import services as session_services
from monitoring.hooks import Hook, hooks
from monitoring.models import CheckIn, EventKind, Outcome, Session, SessionEvent
from monitoring.selectors import clock_text
from monitoring.timers import BATCH, each_due
from nors.lib import realtime, tasks
from telephony.handlers import Event, register
from telephony.models import OutboundCall, OutboundSMS, Purpose

# -- from telephony ------------------------------------------------------------------------------


@register(Event.UNDELIVERABLE, Purpose.ALARM_REPROMPT)
def reprompt_undeliverable(sms: OutboundSMS) -> None:
    if sms.session_id is not None:
        escalation.escalation_hurry(session_id=sms.session_id)


@register(Event.UNDELIVERABLE, Purpose.CONTACT_ALERT)
def contact_text_undeliverable(sms: OutboundSMS) -> None:
    if sms.session_id is not None:
        escalation.contact_unreachable(
            session_id=sms.session_id, how=f"text_{sms.status}", now=timezone.now()
        )


@register(
    Event.CALL_ENDED,
    Purpose.CLIENT_CHECK,
    Purpose.CONTACT_ALERT,
    Purpose.DISPATCH_OPERATOR,
    Purpose.DISPATCH_LINE,
)
def call_ended(call: OutboundCall) -> None:
    if call.session_id is None:
        return
    now = timezone.now()
    session = Session.objects.get(pk=call.session_id)
    nobody = calls.reached_nobody(call)
    session_services.session_event(
        session,
        EventKind.CALL_ENDED,
        at=now,
        purpose=call.purpose,
        status=call.status,
        answered_by=call.answered_by,
        reached=not nobody,
    )
    if call.purpose == Purpose.CLIENT_CHECK and nobody:
        escalation.escalation_hurry(session_id=session.pk, now=now)
    elif call.purpose == Purpose.CONTACT_ALERT and nobody:
        escalation.contact_unreachable(session_id=session.pk, how=f"call_{call.status}", now=now)


@register(Event.CALL_PROGRESS, Purpose.DISPATCH_OPERATOR, Purpose.DISPATCH_LINE)
def dispatch_call_moved(call: OutboundCall) -> None:
    """The operator watches both legs of the dispatch call move, live."""
    if call.ref_id is None:
        return
    found = Escalation.objects.select_related("session").filter(pk=call.ref_id).first()
    if found is None:
        return
    payload = selectors.dispatch_call_dict(found)
    realtime.publish(realtime.session_group(found.session_id), payload)
    if found.session.operator_id is not None:
        realtime.publish(realtime.user_group(found.session.operator_id), payload)


@register(Event.KEY_PRESSED, Purpose.CLIENT_CHECK)
def client_pressed_key(call: OutboundCall) -> tuple[str, str] | None:
    """The client pressed a key: they are OK, and the ladder stops."""
    if call.session_id is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        session = session_services.session_locked(call.session_id)
        session_services.session_event(session, EventKind.CLIENT_PRESSED_KEY, at=now)
        checkins.client_responded_by_call(session=session, now=now)
    with translation.override(session.language):
        return _("Thank you. We will let your operator know you are OK."), session.language


# -- from monitoring -----------------------------------------------------------------------------


@hooks.register(Hook.CHECKIN_MISSED)
def checkin_missed(*, checkin: CheckIn, now: datetime) -> None:
    escalation.escalation_start(checkin_id=checkin.pk, now=now)


@hooks.register(Hook.CLIENT_RESPONDED)
def client_responded(*, session: Session, now: datetime) -> bool:
    return escalation.escalations_client_responded(session=session, now=now)


@hooks.register(Hook.MONITORING_ENDING)
def monitoring_ending(
    *, session: Session, now: datetime, reason: str, session_outcome: str
) -> None:
    close_as = ""
    if session_outcome:
        sent = session_outcome == Outcome.EMS_DISPATCHED
        close_as = EscalationOutcome.EMS_SENT if sent else EscalationOutcome.UNKNOWN
    escalation.escalations_wind_down(session=session, now=now, reason=reason, close_as=close_as)


@hooks.register(Hook.RESUME_BLOCKED)
def resume_blocked(*, session: Session) -> str | None:
    if Escalation.objects.filter(session=session, status=EscalationStatus.OPEN).exists():
        return _("The alarm is still under way: check-ins resume once the person answers.")
    return None


@hooks.register(Hook.END_TIME_HELD)
def end_time_held(*, session_ids: set[int]) -> set[int]:
    """An alarm under way runs its course before the agreed end time stops check-ins."""
    held = Escalation.objects.filter(session_id__in=session_ids, status=EscalationStatus.OPEN)
    return set(held.values_list("session_id", flat=True))


@hooks.register(Hook.SWEEP)
def steps_due(*, now: datetime) -> dict[str, int]:
    counts = {"steps": 0, "errors": 0}
    steps = EscalationStep.objects.filter(status=StepStatus.PENDING, due_at__lte=now)
    each_due(
        list(steps.order_by("due_at").values_list("pk", flat=True)[:BATCH]),
        lambda pk: escalation.step_due(step_id=pk, now=now) != StepResult.MOVED_ON,
        counts,
        "steps",
    )
    return counts


@hooks.register(Hook.REARM)
def steps_rearm() -> dict[str, int]:
    pending = EscalationStep.objects.filter(status=StepStatus.PENDING)
    rows = list(pending.values_list("pk", "due_at"))
    for pk, due_at in rows:
        tasks.task_queue(escalation.STEP_DUE_TASK, pk, eta=due_at)
    return {"steps": len(rows)}


@hooks.register(Hook.SNAPSHOT)
def snapshot_alarms(*, user: Any) -> dict[str, Any]:
    return {"alarms": selectors.alarms_for(user=user)}


@hooks.register(Hook.MONITORING_STATE)
def session_alarms(*, session: Session) -> dict[str, Any]:
    open_ = selectors.escalations_open(session_id=session.pk)
    return {"escalations": [selectors.escalation_dict(e) for e in open_]}


@hooks.register(Hook.RELABEL)
def alarm_relabel(*, payload: dict[str, Any]) -> dict[str, Any]:
    return selectors.payload_relabel(payload)


@hooks.register(Hook.PAGE_CONTEXT)
def page_outcomes() -> dict[str, Any]:
    return {"alarm_outcomes": [(value, str(label)) for value, label in EscalationOutcome.choices]}


@hooks.register(Hook.EVENT_DETAIL)
def step_detail(*, event: SessionEvent) -> str | None:
    if event.kind != EventKind.ESCALATION_STEP:
        return None
    step = event.data.get("step", "")
    label = StepKind(step).label if step in StepKind.values else step
    return _("%(step)s, planned for %(planned)s: %(result)s") % {
        "step": label,
        "planned": clock_text(event.data.get("planned_at")),
        "result": event.data.get("result", ""),
    }
