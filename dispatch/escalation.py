"""The escalation ladder: what a missed check-in sets off, step by step.

Every step is a row with its planned time (`EscalationStep.due_at`), made when the ladder
starts. A countdown task is the precise path and the sweeper catches whatever it missed. A step
runs only through a compare-and-set from pending to done, so it never runs twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.models import PlanVersion
from clients.plans import Order, Response
from dispatch import calls, permissions
from dispatch.models import (
    ESCALATION_TRANSITIONS,
    STEP_TRANSITIONS,
    Escalation,
    EscalationOutcome,
    EscalationStatus,
    EscalationStep,
    StepKind,
    StepResult,
    StepStatus,
)
from dispatch.selectors import alarm_dict, dispatch_lines, plan_in_force
from monitoring import services as session_services
from monitoring import texts
from monitoring.models import CheckIn, EventKind, Session
from nors.lib import realtime, roles, tasks
from nors.lib.jsonapi import Conflict
from nors.lib.states import status_move
from telephony import outbox
from telephony.models import NEVER_ARRIVES, Purpose

WIDENING = (StepKind.WIDEN_SHIFT, StepKind.WIDEN_SUPERVISOR)


class EscalationConflict(Conflict):
    pass


STEP_DUE_TASK = "dispatch.tasks.escalation_step_due"


def _timer(step: EscalationStep) -> None:
    tasks.task_queue_on_commit(STEP_DUE_TASK, step.pk, eta=step.due_at)


def waits_for_contact(plan: PlanVersion) -> bool:
    return (
        plan.response == Response.BOTH
        and plan.order == Order.CONTACT_FIRST
        and plan.wait_for_contact
    )


def contact_after_ems(plan: PlanVersion) -> bool:
    return plan.response == Response.BOTH and plan.order == Order.EMS_FIRST


def _ladder(now: datetime, plan: PlanVersion) -> list[tuple[StepKind, datetime]]:
    wait = timedelta(seconds=settings.ESCALATION_RESPONSE_WAIT_SECONDS)
    widen = timedelta(seconds=settings.ALARM_WIDEN_SECONDS)
    steps = [
        (StepKind.ALARM, now),
        (StepKind.RESPONSE, now + wait),
        (StepKind.WIDEN_SHIFT, now + widen),
        (StepKind.WIDEN_SUPERVISOR, now + 2 * widen),
    ]
    if waits_for_contact(plan):
        # The client asked that their contact be given time before EMS is called.
        steps.append((StepKind.EMS_AFTER_CONTACT, now + 2 * wait))
    if contact_after_ems(plan):
        # The client chose EMS first: the contact hears once the dispatch call is placed or EMS
        # is recorded as sent (see `contact_step_hurry`), or after this wait at the latest.
        later = timedelta(seconds=settings.ESCALATION_CONTACT_AFTER_EMS_SECONDS)
        steps.append((StepKind.CONTACT_AFTER_EMS, now + wait + later))
    return steps


def escalation_start(*, checkin_id: int, now: datetime) -> Escalation | None:
    """Starts the ladder for a missed check-in; the alarm goes out at once. None if started."""
    checkin = CheckIn.objects.select_related("session").get(pk=checkin_id)
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                session=checkin.session, checkin=checkin, started_at=now
            )
    except IntegrityError:
        return None
    steps = [
        EscalationStep.objects.create(escalation=escalation, kind=kind, planned_at=at, due_at=at)
        for kind, at in _ladder(now, plan_in_force(escalation))
    ]
    step_due(step_id=steps[0].pk, now=now)
    for step in steps[1:]:
        _timer(step)
    return escalation


# -- running a step --------------------------------------------------------------------------------


def step_due(*, step_id: int, now: datetime | None = None) -> str:
    now = now or timezone.now()
    session_id = (
        EscalationStep.objects.filter(pk=step_id)
        .values_list("escalation__session_id", flat=True)
        .first()
    )
    if session_id is None:
        return StepResult.MOVED_ON
    with transaction.atomic():
        session_services.session_lock(session_id)
        ran = status_move(
            EscalationStep.objects.filter(pk=step_id, due_at__lte=now),
            STEP_TRANSITIONS,
            old=StepStatus.PENDING,
            new=StepStatus.DONE,
            done_at=now,
        )
        if not ran:
            return StepResult.MOVED_ON
        step = EscalationStep.objects.select_related("escalation__session").get(pk=step_id)
        result = RUNNERS[step.kind](step.escalation, now)
        EscalationStep.objects.filter(pk=step.pk).update(result=result[:200])
        session_services.session_event(
            step.escalation.session,
            EventKind.ESCALATION_STEP,
            at=now,
            step=step.kind,
            planned_at=step.planned_at.isoformat(),
            result=result,
        )
        _publish(step.escalation)
        return result


def _alarm(escalation: Escalation, now: datetime) -> str:
    session = escalation.session
    body = texts.render(texts.CHECKIN_REPROMPT, session.language)
    reprompt = session_services.session_send_automatic(
        session, body, at=now, purpose=Purpose.ALARM_REPROMPT
    )
    Escalation.objects.filter(pk=escalation.pk).update(reprompt=reprompt.outbound)
    calls.client_check_queue(session=session, escalation_id=escalation.pk)
    _publish_alarm(escalation)
    return StepResult.ALARM_RAISED


def _response(escalation: Escalation, now: datetime) -> str:
    plan = plan_in_force(escalation)
    done = []
    if plan.response == Response.CONTACT or (
        plan.response == Response.BOTH and not contact_after_ems(plan)
    ):
        done.append(_contacts_alert(escalation, plan, now))
    if plan.response == Response.EMS or (
        plan.response == Response.BOTH and not waits_for_contact(plan)
    ):
        done.append(_ems_task(escalation, plan))
    return ",".join(done) or StepResult.NO_RESPONSE_IN_PLAN


def _ems_after_contact(escalation: Escalation, now: datetime) -> str:
    return _ems_task(escalation, plan_in_force(escalation))


def _contact_after_ems(escalation: Escalation, now: datetime) -> str:
    return _contacts_alert(escalation, plan_in_force(escalation), now)


def _contacts_alert(escalation: Escalation, plan: PlanVersion, now: datetime) -> str:
    sent = 0
    where = ", ".join(p for p in (plan.address, plan.unit) if p)
    for contact in plan.contacts.all():
        if not contact.phone:
            continue
        entry = (
            texts.render(texts.CONTACT_ENTRY, contact.language, entry=plan.entry.rstrip("."))
            if plan.entry
            else ""
        )
        body = texts.render(texts.CONTACT_ALERT, contact.language, where=where, entry=entry)
        outbox.sms_queue(
            to=contact.phone,
            body=body,
            purpose=Purpose.CONTACT_ALERT,
            session_id=escalation.session_id,
            ref_id=escalation.pk,
        )
        calls.contact_call_queue(
            to=contact.phone, body=body, language=contact.language, escalation=escalation
        )
        sent += 1
    return f"{StepResult.CONTACTS_ALERTED}:{sent}"


def _ems_task(escalation: Escalation, plan: PlanVersion) -> str:
    lines = dispatch_lines(region_id=plan.region_id)
    _publish_alarm(escalation, dispatch_task=True)
    return StepResult.EMS_TASK_SHOWN if lines else StepResult.EMS_TASK_NO_LINE


def _widen_shift(escalation: Escalation, now: datetime) -> str:
    realtime.publish(realtime.DASHBOARD_GROUP, alarm_dict(escalation) | {"widened": True})
    return StepResult.ALARM_TO_EVERYONE


def _widen_supervisor(escalation: Escalation, now: datetime) -> str:
    phone = settings.SUPERVISOR_ON_CALL_PHONE
    if not phone:
        return StepResult.NO_SUPERVISOR_NUMBER
    minutes = round(2 * settings.ALARM_WIDEN_SECONDS / 60, 1)
    body = texts.render(
        texts.SUPERVISOR_ALERT, settings.LANGUAGE_CODE, session=escalation.session_id,
        minutes=f"{minutes:g}",
    )  # fmt: skip
    outbox.sms_queue(to=phone, body=body, purpose=Purpose.SUPERVISOR_ALERT, ref_id=escalation.pk)
    return StepResult.SUPERVISOR_TEXTED


RUNNERS: dict[str, Callable[[Escalation, datetime], str]] = {
    StepKind.ALARM: _alarm,
    StepKind.RESPONSE: _response,
    StepKind.EMS_AFTER_CONTACT: _ems_after_contact,
    StepKind.CONTACT_AFTER_EMS: _contact_after_ems,
    StepKind.WIDEN_SHIFT: _widen_shift,
    StepKind.WIDEN_SUPERVISOR: _widen_supervisor,
}


# -- what stops or hurries the ladder --------------------------------------------------------------


def _cancel(escalation: Escalation, kinds: Any = None) -> int:
    steps = EscalationStep.objects.filter(escalation=escalation, status=StepStatus.PENDING)
    if kinds is not None:
        steps = steps.filter(kind__in=kinds)
    return status_move(steps, STEP_TRANSITIONS, old=StepStatus.PENDING, new=StepStatus.CANCELLED)


def escalations_client_responded(*, session: Session, now: datetime) -> bool:
    """The client answered: every open ladder stops, and the operator is told."""
    stopped = False
    for escalation in Escalation.objects.filter(session=session, status=EscalationStatus.OPEN):
        moved = status_move(
            Escalation.objects.filter(pk=escalation.pk),
            ESCALATION_TRANSITIONS,
            old=EscalationStatus.OPEN,
            new=EscalationStatus.STOPPED,
            ended_at=now,
        )
        if moved:
            stopped = True
            _cancel(escalation)
            escalation.refresh_from_db()
            session_services.session_event(session, EventKind.ESCALATION_STOPPED, at=now)
            _publish(escalation)
    return stopped


def escalations_wind_down(
    *, session: Session, now: datetime, reason: str, close_as: str = ""
) -> None:
    """Monitoring ended while a ladder was running: its remaining steps are not needed. When
    the whole session ends, its alarms are closed too, with what the session's outcome says."""
    unclosed = Escalation.objects.filter(session=session).exclude(status=EscalationStatus.CLOSED)
    for escalation in unclosed:
        if _cancel(escalation):
            session_services.session_event(
                session, EventKind.ESCALATION_STEPS_CANCELLED, at=now, reason=reason
            )
        if close_as and status_move(
            Escalation.objects.filter(pk=escalation.pk),
            ESCALATION_TRANSITIONS,
            old=(EscalationStatus.OPEN, EscalationStatus.STOPPED),
            new=EscalationStatus.CLOSED,
            outcome=close_as,
            ended_at=now,
        ):
            escalation.refresh_from_db()
            session_services.session_event(
                session, EventKind.ESCALATION_CLOSED, at=now, outcome=close_as, reason=reason
            )
            _publish(escalation)


def _step_run_now(session_id: int, kind: StepKind, now: datetime) -> bool:
    step = EscalationStep.objects.filter(
        escalation__session_id=session_id,
        escalation__status=EscalationStatus.OPEN,
        kind=kind,
        status=StepStatus.PENDING,
    ).first()
    if step is None:
        return False
    EscalationStep.objects.filter(pk=step.pk, status=StepStatus.PENDING).update(due_at=now)
    return step_due(step_id=step.pk, now=now) != StepResult.MOVED_ON


def _client_unreachable(escalation: Escalation) -> bool:
    """Whether every way of reaching the client has definitively failed: the alarm's text
    bounced and its call found nobody who could answer. A person who picked up and pressed no
    key may be trying to: the full wait runs for them."""
    reprompt = escalation.reprompt
    if reprompt is None or reprompt.status not in NEVER_ARRIVES:
        return False
    check = calls.client_check_of(escalation)
    return check is not None and calls.reached_no_line(check)


def escalation_hurry(*, session_id: int, now: datetime | None = None) -> bool:
    """The plan's response starts now, not after the wait, once the client cannot be reached
    at all."""
    now = now or timezone.now()
    escalation = (
        Escalation.objects.filter(session_id=session_id, status=EscalationStatus.OPEN)
        .select_related("reprompt")
        .first()
    )
    if escalation is None or not _client_unreachable(escalation):
        return False
    return _step_run_now(session_id, StepKind.RESPONSE, now)


def contact_step_hurry(*, session_id: int, now: datetime) -> bool:
    """EMS first, then the contact: the operator has placed the dispatch call or recorded that
    EMS was sent, so the contact is told now."""
    if EscalationStep.objects.filter(
        escalation__session_id=session_id, kind=StepKind.RESPONSE, status=StepStatus.PENDING
    ).exists():
        return False
    return _step_run_now(session_id, StepKind.CONTACT_AFTER_EMS, now)


def contact_unreachable(*, session_id: int, how: str, now: datetime) -> bool:
    """The contact's text bounced or their call reached nobody: the operator must know, since
    the plan counted on them."""
    escalation = (
        Escalation.objects.filter(session_id=session_id)
        .exclude(status=EscalationStatus.CLOSED)
        .select_related("session")
        .order_by("-started_at")
        .first()
    )
    if escalation is None:
        return False
    step = escalation.steps.filter(kind=StepKind.RESPONSE).first()
    if step is not None:
        EscalationStep.objects.filter(pk=step.pk).update(
            result=f"{step.result}; {StepResult.CONTACT_UNREACHABLE}:{how}"[:200]
        )
    session_services.session_event(
        escalation.session, EventKind.CONTACT_UNREACHABLE, at=now, how=how
    )
    _publish(escalation)
    return True


def escalation_acknowledge(*, escalation_id: int, user: Any) -> Escalation:
    """Someone has seen the alarm. An operator acknowledging another's alarm takes the
    session over, so the one who silenced it is the one who can act on it."""
    now = timezone.now()
    with transaction.atomic():
        session_id = Escalation.objects.values_list("session_id", flat=True).get(pk=escalation_id)
        session_services.session_lock(session_id)
        escalation = Escalation.objects.select_related("session__operator").get(pk=escalation_id)
        if escalation.acknowledged_by_id == user.pk:
            return escalation  # a second click
        if not permissions.may_acknowledge(escalation, user):
            raise PermissionDenied(_("This alarm is not yours to acknowledge."))
        acknowledged = Escalation.objects.filter(
            pk=escalation_id, acknowledged_at__isnull=True
        ).update(acknowledged_at=now, acknowledged_by=user)
        if not acknowledged:
            raise EscalationConflict(_("Someone else acknowledged this alarm first."))
        escalation.refresh_from_db()
        session = escalation.session
        if session.operator_id != user.pk and not roles.is_supervisor(user):
            escalation.session = session_services.session_take_over(
                session=session, user=user, at=now, reason="alarm"
            )
        _cancel(escalation, WIDENING)
        session_services.session_event(
            escalation.session, EventKind.ALARM_ACKNOWLEDGED, at=now, actor=user
        )
        _publish(escalation)
        return escalation


def escalation_close(*, escalation_id: int, user: Any, outcome: str) -> Escalation:
    if outcome not in EscalationOutcome.values:
        raise ValueError(_("Choose what happened from the list."))
    now = timezone.now()
    with transaction.atomic():
        escalation = Escalation.objects.select_related("session").get(pk=escalation_id)
        session_services.session_for_action(session_id=escalation.session_id, user=user, lock=True)
        if outcome == EscalationOutcome.EMS_SENT:
            # EMS first, then the contact: told before the steps still planned are cancelled.
            contact_step_hurry(session_id=escalation.session_id, now=now)
        closed = status_move(
            Escalation.objects.filter(pk=escalation_id),
            ESCALATION_TRANSITIONS,
            old=(EscalationStatus.OPEN, EscalationStatus.STOPPED),
            new=EscalationStatus.CLOSED,
            outcome=outcome,
            ended_at=now,
        )
        if not closed:
            raise EscalationConflict(_("This alarm is already closed."))
        _cancel(escalation)
        escalation.refresh_from_db()
        session_services.session_event(
            escalation.session, EventKind.ESCALATION_CLOSED, at=now, actor=user, outcome=outcome
        )
        _publish(escalation)
        return escalation


def dispatch_call_start(*, escalation: Escalation, user: Any, line: dict[str, Any]) -> str:
    """Rings the operator and the dispatch line; with EMS first, the contact is told now."""
    with transaction.atomic():
        name = calls.dispatch_call_place(escalation=escalation, user=user, line=line)
        contact_step_hurry(session_id=escalation.session_id, now=timezone.now())
    return name


# -- what dashboards see ---------------------------------------------------------------------------


def _publish_alarm(escalation: Escalation, **extra: Any) -> None:
    """To the session's operator; with nobody holding the session, to every operator."""
    payload = alarm_dict(escalation) | extra
    operator_id = escalation.session.operator_id
    group = realtime.user_group(operator_id) if operator_id else realtime.DASHBOARD_GROUP
    realtime.publish(group, payload)


def _publish(escalation: Escalation) -> None:
    # To every dashboard: each shows what is its own or widened (an alarm holds no personal
    # data), and an acknowledgement clears the banner everywhere at once.
    realtime.publish(realtime.DASHBOARD_GROUP, alarm_dict(escalation))
