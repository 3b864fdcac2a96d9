"""Automated voice calls: written to the outbox first, placed once, their endings acted on.

A call to the client asks for a key press; no key (busy, no answer, failed, a machine) counts
as no response and moves the ladder on at once. Dispatch calls join the operator and the
region's dispatch line in one Twilio conference, which ends when the operator hangs up.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from dispatch import gateway
from dispatch.models import (
    CALL_RANK,
    CALL_UNANSWERED,
    CallPurpose,
    CallStatus,
    Escalation,
    OutboundCall,
    StatusCallback,
)
from nors.lib import tasks

log = logging.getLogger(__name__)

VOICE_LANGUAGE = {"en": "en-CA", "fr": "fr-CA"}
GATHER_SECONDS = 10
FINAL = {s for s, rank in CALL_RANK.items() if rank == CALL_RANK[CallStatus.COMPLETED]}


def _enqueue(call_id: int, countdown: float = 0) -> None:
    from dispatch.tasks import place_outbound_call

    tasks.task_queue(place_outbound_call, call_id, countdown=countdown)


def outbound_call_queue(
    *,
    to: str,
    purpose: str,
    twiml: str = "",
    session_id: int | None = None,
    escalation_id: int | None = None,
) -> OutboundCall:
    now = timezone.now()
    call = OutboundCall.objects.create(
        to_phone=to,
        twiml=twiml,
        purpose=purpose,
        session_id=session_id,
        escalation_id=escalation_id,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    from dispatch.tasks import place_outbound_call

    tasks.task_queue_on_commit(place_outbound_call, call.pk)
    return call


# -- what the calls say --------------------------------------------------------------------------


def _say(response: Any, text: str, language: str) -> None:
    response.say(text, language=VOICE_LANGUAGE.get(language, "en-CA"))


def client_check_twiml(call: OutboundCall, language: str) -> str:
    action = settings.PUBLIC_BASE_URL + reverse("twilio-call-gather") + f"?call={call.pk}"
    with translation.override(language):
        response = VoiceResponse()
        gather = Gather(num_digits=1, timeout=GATHER_SECONDS, action=action, method="POST")
        _say(
            gather,
            _(
                "This is the overdose response line. We have not heard from you. "
                "If you are OK, press any key now."
            ),
            language,
        )
        response.append(gather)
        _say(response, _("We did not hear a key. We will follow your plan."), language)
        return str(response)


def message_twiml(text: str, language: str, *, repeat: int = 2) -> str:
    response = VoiceResponse()
    for _i in range(repeat):
        _say(response, text, language)
        response.pause(length=1)
    return str(response)


def conference_twiml(name: str, *, operator: bool, language: str | None = None) -> str:
    """The operator's leg starts and ends the conference: the operator stays in control."""
    response = VoiceResponse()
    if not operator:
        # The dispatch line hears the line's own language.
        language = language or settings.LANGUAGE_CODE
        with translation.override(language):
            text = _("Overdose response line. Connecting you with our operator.")
        _say(response, text, language)
    dial = Dial()
    dial.conference(
        name,
        start_conference_on_enter=operator,
        end_conference_on_exit=operator,
        beep=False,
    )
    response.append(dial)
    return str(response)


def client_check_queue(*, session: Any, escalation_id: int) -> OutboundCall:
    call = outbound_call_queue(
        to=session.client_phone,
        purpose=CallPurpose.CLIENT_CHECK,
        session_id=session.pk,
        escalation_id=escalation_id,
    )
    call.twiml = client_check_twiml(call, session.language)
    call.save(update_fields=["twiml"])
    return call


# -- placing a call ------------------------------------------------------------------------------


def outbound_call_place(*, call_id: int) -> OutboundCall | None:
    now = timezone.now()
    claimed = OutboundCall.objects.filter(
        pk=call_id, status=CallStatus.QUEUED, next_attempt_at__lte=now
    ).update(status=CallStatus.SENDING, claimed_at=now, updated_at=now)
    if not claimed:
        return None
    call = OutboundCall.objects.get(pk=call_id)
    callback = gateway.status_callback_url(reverse("twilio-call-status"))
    try:
        result = gateway.call_create(
            to=call.to_phone,
            twiml=call.twiml,
            status_callback=callback,
            # Voicemail matters for the client and the contact; a dispatch leg must connect now.
            detect_machine=call.purpose in (CallPurpose.CLIENT_CHECK, CallPurpose.CONTACT_ALERT),
        )
    except gateway.SendError as exc:
        return _failed(call, exc)
    with transaction.atomic():
        OutboundCall.objects.filter(pk=call.pk, status=CallStatus.SENDING).update(
            status=CallStatus.INITIATED,
            twilio_sid=result.sid,
            attempts=call.attempts + 1,
            updated_at=timezone.now(),
        )
        for early in StatusCallback.objects.filter(twilio_sid=result.sid, applied=False):
            apply_callback(early)
    call.refresh_from_db()
    return call


def _failed(call: OutboundCall, exc: gateway.SendError) -> OutboundCall:
    now = timezone.now()
    attempts = call.attempts + 1
    retry = exc.temporary and attempts < settings.OUTBOX_MAX_ATTEMPTS
    fields: dict[str, Any] = {"attempts": attempts, "error_code": exc.code[:16], "updated_at": now}
    if retry:
        delay = float(min(60, 2 * 2 ** (attempts - 1)))
        fields |= {"status": CallStatus.QUEUED, "next_attempt_at": now + timedelta(seconds=delay)}
        transaction.on_commit(lambda: _enqueue(call.pk, countdown=delay))
    else:
        fields["status"] = CallStatus.FAILED
    with transaction.atomic():
        OutboundCall.objects.filter(pk=call.pk, status=CallStatus.SENDING).update(**fields)
        call.refresh_from_db()
        if not retry:
            _ended(call, now)
    log.warning("call %s failed (%s, retry=%s): %s", call.pk, exc.code, retry, exc)
    return call


# -- what Twilio tells us ------------------------------------------------------------------------


def call_status_record(*, sid: str, status: str, answered_by: str = "") -> bool:
    """Stores a call's progress once, and acts on how it ended. False for a repeat."""
    try:
        with transaction.atomic():
            callback = StatusCallback.objects.create(
                twilio_sid=sid,
                status=status,
                answered_by=answered_by[:24],
                received_at=timezone.now(),
            )
            apply_callback(callback)
    except IntegrityError:
        return False
    return True


def apply_callback(callback: StatusCallback) -> None:
    call = OutboundCall.objects.select_for_update().filter(twilio_sid=callback.twilio_sid).first()
    if call is None:
        return  # Twilio's callback beat its own REST answer: applied when the SID is stored.
    StatusCallback.objects.filter(pk=callback.pk).update(applied=True)
    new = CallStatus(callback.status) if callback.status in CallStatus.values else None
    if new is None or CALL_RANK[new] <= CALL_RANK[CallStatus(call.status)]:
        return
    now = timezone.now()
    call.status, call.updated_at = new, now
    call.answered_by = callback.answered_by or call.answered_by
    call.save(update_fields=["status", "answered_by", "updated_at"])
    if new in FINAL:
        _ended(call, now)


def reached_nobody(call: OutboundCall) -> bool:
    if call.status in CALL_UNANSWERED or call.status == CallStatus.UNCONFIRMED:
        return True
    # Voicemail, a fax, or what detection could not tell from a machine ("unknown"): nobody is
    # known to have heard it. Or the client picked up but pressed no key.
    return call.answered_by not in ("", "human") or (
        call.purpose == CallPurpose.CLIENT_CHECK and not call.digits
    )


# What answering-machine detection says when no person picked up.
MACHINE = re.compile(r"^(machine_|fax$)")


def reached_no_line(call: OutboundCall) -> bool:
    """The call definitively failed: busy, failed, unanswered, or a machine. A person who
    answered and pressed no key did not: they may be trying to."""
    return call.status in CALL_UNANSWERED or bool(MACHINE.match(call.answered_by))


def _ended(call: OutboundCall, now: datetime) -> None:
    from dispatch import escalation
    from monitoring import services as session_services
    from monitoring.models import Session

    if call.session_id is None:
        return
    session = Session.objects.get(pk=call.session_id)
    nobody = reached_nobody(call)
    session_services.session_event(
        session,
        "call_ended",
        at=now,
        purpose=call.purpose,
        status=call.status,
        answered_by=call.answered_by,
        reached=not nobody,
    )
    if call.purpose == CallPurpose.CLIENT_CHECK and nobody:
        escalation.escalation_hurry(session_id=session.pk, now=now)
    elif call.purpose == CallPurpose.CONTACT_ALERT and nobody:
        escalation.contact_unreachable(session_id=session.pk, how=f"call_{call.status}", now=now)


def gather_record(*, call_id: int, digits: str) -> OutboundCall | None:
    """The client pressed a key: they are OK, and the ladder stops."""
    from monitoring import checkins
    from monitoring import services as session_services

    now = timezone.now()
    with transaction.atomic():
        pressed = OutboundCall.objects.filter(pk=call_id, digits="").update(
            digits=digits[:8], updated_at=now
        )
        call = OutboundCall.objects.select_related("session").filter(pk=call_id).first()
        if call is None or not pressed or call.session is None:
            return call
        if call.purpose == CallPurpose.CLIENT_CHECK:
            session_services.session_lock(call.session.pk)
            session_services.session_event(call.session, "client_pressed_key", at=now)
            checkins.client_responded_by_call(session=call.session, now=now)
        return call


def calls_sweep(*, now: datetime) -> dict[str, int]:
    from dispatch.services import outbox_requeue

    requeued = outbox_requeue(OutboundCall, _enqueue, now=now)
    stuck_before = now - timedelta(seconds=settings.OUTBOX_STUCK_SECONDS)
    unconfirmed = 0
    for call in OutboundCall.objects.filter(status=CallStatus.SENDING, claimed_at__lt=stuck_before):
        with transaction.atomic():
            # Twilio may or may not have placed it: never ring someone twice by guessing.
            if OutboundCall.objects.filter(pk=call.pk, status=CallStatus.SENDING).update(
                status=CallStatus.UNCONFIRMED, updated_at=now
            ):
                unconfirmed += 1
                call.refresh_from_db()
                _ended(call, now)
    return {"calls_requeued": requeued, "calls_unconfirmed": unconfirmed}


# -- the dispatch call: the operator and the region's dispatch line in one conference --------


class DispatchCallRefused(Exception):
    pass


LIVE = (
    CallStatus.QUEUED,
    CallStatus.SENDING,
    CallStatus.INITIATED,
    CallStatus.RINGING,
    CallStatus.IN_PROGRESS,
)


def dispatch_call_place(*, escalation: Any, user: Any, line: dict[str, Any]) -> str:
    """Rings the operator and the dispatch line into one conference. Returns its name."""
    from dispatch.models import OperatorPhone
    from monitoring import services as session_services
    from nors.lib import phones

    mine = OperatorPhone.objects.filter(user=user).first()
    if mine is None:
        raise DispatchCallRefused(
            _("Your phone number for dispatch calls is not set: ask a supervisor.")
        )
    try:
        line_phone = phones.normalize(line["phone"])
    except phones.InvalidPhoneNumber as exc:
        raise DispatchCallRefused(
            _("This dispatch line's number is not valid: tell a supervisor.")
        ) from exc
    name = f"alarm-{escalation.pk}"
    with transaction.atomic():
        # Two clicks at once: the alarm's row lock lets only one of them see "no call yet".
        Escalation.objects.select_for_update().get(pk=escalation.pk)
        busy = OutboundCall.objects.filter(
            escalation=escalation, purpose=CallPurpose.DISPATCH_LINE, status__in=LIVE
        )
        if busy.exists():
            raise DispatchCallRefused(_("A dispatch call is already under way for this alarm."))
        common = {"session_id": escalation.session_id, "escalation_id": escalation.pk}
        outbound_call_queue(
            to=mine.phone,
            purpose=CallPurpose.DISPATCH_OPERATOR,
            twiml=conference_twiml(name, operator=True),
            **common,
        )
        outbound_call_queue(
            to=line_phone,
            purpose=CallPurpose.DISPATCH_LINE,
            twiml=conference_twiml(name, operator=False),
            **common,
        )
        now = timezone.now()
        session_services.session_event(
            escalation.session, "dispatch_call", at=now, actor=user, line=line["name"]
        )
        from dispatch import escalation as ladder

        ladder.contact_step_hurry(session_id=escalation.session_id, now=now)
    return name
