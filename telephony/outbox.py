"""The outbox for texts and calls: written down first, claimed once, sent, retried, swept.

Texts and calls differ only in what is sent (`_SendKind`); the claim, the retry policy, the
sweep and the reading of Twilio's reports are one. How a send ended goes to the handlers
registered for its purpose (`telephony.handlers`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from nors.lib import tasks
from telephony import gateway
from telephony.handlers import Event, notify
from telephony.models import (
    CALL_FINAL,
    CALL_RANK,
    FAILED,
    QUEUED,
    SENDING,
    TWILIO_TO_OUTBOUND,
    UNCONFIRMED,
    CallStatus,
    Outbound,
    OutboundCall,
    OutboundSMS,
    OutboundStatus,
    Purpose,
    StatusCallback,
    status_moves_forward,
)

log = logging.getLogger(__name__)

SEND_SMS_TASK = "telephony.tasks.send_sms"
PLACE_CALL_TASK = "telephony.tasks.place_call"
# Voicemail matters where a person must hear it; a dispatch leg must connect at once.
DETECT_MACHINE = {Purpose.CLIENT_CHECK, Purpose.CONTACT_ALERT}


@dataclass(frozen=True)
class _SendKind:
    model: type[OutboundSMS] | type[OutboundCall]
    task: str
    send: Callable[[Any], gateway.SendResult]
    accepted: Callable[[gateway.SendResult], str]


def _sms_send(sms: OutboundSMS) -> gateway.SendResult:
    callback = gateway.status_callback_url(reverse("twilio-sms-status"))
    return gateway.sms_send(to=sms.to_phone, body=sms.body, status_callback=callback)


def _call_place(call: OutboundCall) -> gateway.SendResult:
    return gateway.call_create(
        to=call.to_phone,
        twiml=call.twiml,
        status_callback=gateway.status_callback_url(reverse("twilio-call-status")),
        detect_machine=call.purpose in DETECT_MACHINE,
    )


SMS = _SendKind(
    OutboundSMS,
    SEND_SMS_TASK,
    _sms_send,
    lambda result: TWILIO_TO_OUTBOUND.get(result.status, OutboundStatus.ACCEPTED),
)
CALL = _SendKind(OutboundCall, PLACE_CALL_TASK, _call_place, lambda result: CallStatus.INITIATED)


# -- writing it down -----------------------------------------------------------------------------


def _row_fields(now: datetime, **fields: Any) -> dict[str, Any]:
    return {"next_attempt_at": now, "created_at": now, "updated_at": now, **fields}


def sms_queue(
    *,
    to: str,
    body: str,
    purpose: Purpose,
    session_id: int | None = None,
    ref_id: int | None = None,
    queue_task: bool = True,
) -> OutboundSMS:
    """Writes the text down. Its send task is queued once the row is committed, unless the
    caller sends it itself right after (`queue_task=False`); if that caller dies first, the
    sweeper queues it."""
    fields = {"to_phone": to, "body": body, "purpose": purpose}
    sms = OutboundSMS.objects.create(
        **_row_fields(timezone.now(), session_id=session_id, ref_id=ref_id, **fields)
    )
    if queue_task:
        tasks.task_queue_on_commit(SEND_SMS_TASK, sms.pk)
    return sms


def call_queue(
    *,
    to: str,
    purpose: Purpose,
    twiml: str = "",
    session_id: int | None = None,
    ref_id: int | None = None,
) -> OutboundCall:
    """Writes the call down; `twiml` may be set before the commit (it can need the row's id)."""
    fields = {"to_phone": to, "twiml": twiml, "purpose": purpose}
    call = OutboundCall.objects.create(
        **_row_fields(timezone.now(), session_id=session_id, ref_id=ref_id, **fields)
    )
    tasks.task_queue_on_commit(PLACE_CALL_TASK, call.pk)
    return call


# -- sending -------------------------------------------------------------------------------------


def _claim(kind: _SendKind, pk: int, now: datetime) -> bool:
    return (
        kind.model.objects.filter(pk=pk, status=QUEUED, next_attempt_at__lte=now).update(
            status=SENDING, claimed_at=now, updated_at=now
        )
        == 1
    )


def outbound_send(kind: _SendKind, *, pk: int) -> Outbound | None:
    """Claims the row, then calls Twilio. None when another worker has it."""
    if not _claim(kind, pk, timezone.now()):
        return None
    row = kind.model.objects.get(pk=pk)
    try:
        result = kind.send(row)
    except gateway.SendError as exc:
        return _failed(kind, row, exc)
    return _accepted(kind, row, result)


def sms_send(*, outbound_id: int) -> OutboundSMS | None:
    row = outbound_send(SMS, pk=outbound_id)
    assert row is None or isinstance(row, OutboundSMS)
    return row


def call_place(*, call_id: int) -> OutboundCall | None:
    row = outbound_send(CALL, pk=call_id)
    assert row is None or isinstance(row, OutboundCall)
    return row


def _accepted(kind: _SendKind, row: Any, result: gateway.SendResult) -> Any:
    status, now = kind.accepted(result), timezone.now()
    with transaction.atomic():
        moved = kind.model.objects.filter(pk=row.pk, status=SENDING).update(
            status=status, twilio_sid=result.sid, attempts=row.attempts + 1, updated_at=now
        )
        # Twilio's callbacks can beat its own REST answer to us; apply any that did.
        early = list(StatusCallback.objects.filter(twilio_sid=result.sid, applied=False))
        if moved and not early:
            # The row in hand is the row stored: never read (and decrypt) it again.
            row.status, row.twilio_sid, row.updated_at = status, result.sid, now
            row.attempts += 1
        else:
            for callback in sorted(early, key=lambda c: (c.received_at, c.pk)):
                callback_apply(callback)
            row.refresh_from_db()
        notify(Event.DELIVERY if isinstance(row, OutboundSMS) else Event.CALL_PROGRESS, row)
    return row


def retry_delay(attempts: int) -> float:
    """One policy for texts and calls: an alarm's text or call must not wait minutes."""
    return float(min(60, 2 * 2 ** (attempts - 1)))


def _failed(kind: _SendKind, row: Any, exc: gateway.SendError) -> Any:
    now = timezone.now()
    attempts = row.attempts + 1
    retry = exc.temporary and attempts < settings.OUTBOX_MAX_ATTEMPTS
    fields: dict[str, Any] = {
        "attempts": attempts,
        "error_code": exc.code[:16],
        "error_message": exc.masked_message[:300],
        "updated_at": now,
    }
    delay = retry_delay(attempts)
    if retry:
        fields |= {"status": QUEUED, "next_attempt_at": now + timedelta(seconds=delay)}
    else:
        fields["status"] = FAILED
    with transaction.atomic():
        kind.model.objects.filter(pk=row.pk, status=SENDING).update(**fields)
        row.refresh_from_db()
        if retry:
            transaction.on_commit(lambda: tasks.task_queue(kind.task, row.pk, countdown=delay))
        else:
            _ended(row)
    # Twilio's code only: its message can hold the number.
    log.warning(
        "%s %s failed (code %s, retry=%s)", kind.model.__name__, row.pk, exc.code or "-", retry
    )
    return row


def _ended(row: Any) -> None:
    """A send that will go no further: its purpose's handlers hear of it."""
    if isinstance(row, OutboundSMS):
        notify(Event.DELIVERY, row)
        if row.status in (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED):
            notify(Event.UNDELIVERABLE, row)
    else:
        _call_moved(row)


def _call_moved(call: OutboundCall) -> None:
    """Every move is news to a screen showing the call; its last one, to the ladder too."""
    notify(Event.CALL_PROGRESS, call)
    if call.status in CALL_FINAL:
        notify(Event.CALL_ENDED, call)


# -- what Twilio tells us ------------------------------------------------------------------------


def callback_record(*, sid: str, status: str, error_code: str = "", answered_by: str = "") -> bool:
    """Stores Twilio's report once and applies it. False for a repeat we already have."""
    try:
        with transaction.atomic():
            callback = StatusCallback.objects.create(
                twilio_sid=sid,
                status=status[:20],
                error_code=error_code[:16],
                answered_by=answered_by[:24],
                received_at=timezone.now(),
            )
            callback_apply(callback)
    except IntegrityError:
        return False
    return True


def callback_apply(callback: StatusCallback) -> None:
    """With no row for the SID yet, the REST answer carrying it has not been stored: the
    callback is kept, unapplied, for then (or for the sweeper)."""
    model = OutboundCall if callback.twilio_sid.startswith("CA") else OutboundSMS
    row = model.objects.select_for_update().filter(twilio_sid=callback.twilio_sid).first()
    if row is None:
        return
    StatusCallback.objects.filter(pk=callback.pk).update(applied=True)
    if isinstance(row, OutboundSMS):
        _sms_status_apply(row, callback)
    else:
        _call_status_apply(row, callback)


def _sms_status_apply(sms: OutboundSMS, callback: StatusCallback) -> None:
    new_status = TWILIO_TO_OUTBOUND.get(callback.status)
    if new_status is None or not status_moves_forward(sms.status, new_status):
        return
    sms.status = new_status
    sms.error_code = callback.error_code or sms.error_code
    sms.updated_at = timezone.now()
    sms.save(update_fields=["status", "error_code", "updated_at"])
    if new_status in (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED):
        _ended(sms)
    else:
        notify(Event.DELIVERY, sms)


def _call_status_apply(call: OutboundCall, callback: StatusCallback) -> None:
    new = CallStatus(callback.status) if callback.status in CallStatus.values else None
    if new is None or CALL_RANK[new] <= CALL_RANK[CallStatus(call.status)]:
        return
    call.status, call.updated_at = new, timezone.now()
    call.answered_by = callback.answered_by or call.answered_by
    call.save(update_fields=["status", "answered_by", "updated_at"])
    _call_moved(call)


class CallNotPlacedYet(Exception):
    """The worker is handing the call to Twilio right now: there is no SID to hang up yet."""


def call_end(*, call_id: int) -> OutboundCall:
    """Hangs up a call. One never placed is canceled here, without Twilio (compare-and-set, so
    a worker claiming it at the same moment finds it gone); one placed is ended by Twilio,
    whose callback then moves the row as usual. A call already over is left as it is."""
    with transaction.atomic():
        canceled = OutboundCall.objects.filter(pk=call_id, status=QUEUED).update(
            status=CallStatus.CANCELED, updated_at=timezone.now()
        )
        call = OutboundCall.objects.get(pk=call_id)
        if canceled:
            _call_moved(call)
            return call
    if call.status in CALL_FINAL:
        return call
    if not call.twilio_sid:
        raise CallNotPlacedYet
    gateway.call_end(call.twilio_sid, answered=call.status == CallStatus.IN_PROGRESS)
    return call


def key_record(*, call_id: int, digits: str) -> tuple[OutboundCall | None, list[Any]]:
    """A key pressed on a call's Gather, kept once. Returns the call and what its handlers
    answered (nothing for a repeat)."""
    with transaction.atomic():
        pressed = OutboundCall.objects.filter(pk=call_id, digits="").update(
            digits=digits[:8], updated_at=timezone.now()
        )
        call = OutboundCall.objects.filter(pk=call_id).first()
        if call is None or not pressed:
            return call, []
        return call, notify(Event.KEY_PRESSED, call)


# -- the sweeper ---------------------------------------------------------------------------------

# Leave the fast path a moment to run before the sweeper steps in, and a row that waits behind a
# long queue (its task is not lost, only late) is queued again at most this often: otherwise an
# overloaded worker would get a copy of its whole backlog every sweep.
REQUEUE_AFTER = timedelta(seconds=2)
REQUEUE_EVERY = timedelta(seconds=30)
BATCH = 500


def outbox_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Finds sends whose task was lost (killed worker, emptied broker) and queues them again;
    marks sends interrupted mid-call; applies callbacks that raced their SID being stored."""
    now = now or timezone.now()
    counts = {"late_callbacks": _late_callbacks_apply(now)}
    for label, kind in (("sms", SMS), ("calls", CALL)):
        counts[f"{label}_requeued"] = _requeue(kind, now)
        counts[f"{label}_unconfirmed"] = _stuck_unconfirm(kind, now)
    return counts


def outbox_rearm() -> dict[str, int]:
    """Every send still waiting, queued again for its time: a worker killed while holding its
    task took the task with it (see `monitoring.timers.timers_rearm`)."""
    counts = {}
    for label, kind in (("texts", SMS), ("calls", CALL)):
        waiting = kind.model.objects.filter(status=QUEUED).values_list("pk", "next_attempt_at")
        for pk, at in waiting:
            tasks.task_queue(kind.task, pk, eta=at)
        counts[label] = len(waiting)
    return counts


def _requeue(kind: _SendKind, now: datetime) -> int:
    """Sending claims the row, so a second task for it is harmless."""
    due = kind.model.objects.filter(status=QUEUED, next_attempt_at__lte=now - REQUEUE_AFTER).filter(
        Q(requeued_at__isnull=True) | Q(requeued_at__lte=now - REQUEUE_EVERY)
    )
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:BATCH])
    kind.model.objects.filter(pk__in=ids).update(requeued_at=now)
    for pk in ids:
        tasks.task_queue(kind.task, pk)
    return len(ids)


def _stuck_unconfirm(kind: _SendKind, now: datetime) -> int:
    """Twilio may or may not have it: never text or ring someone twice by guessing."""
    stuck_before = now - timedelta(seconds=settings.OUTBOX_STUCK_SECONDS)
    stuck = kind.model.objects.filter(status=SENDING, claimed_at__lt=stuck_before)
    changed = 0
    for row in stuck[:BATCH]:
        with transaction.atomic():
            if kind.model.objects.filter(pk=row.pk, status=SENDING).update(
                status=UNCONFIRMED,
                error_message="The send was interrupted; it may not have gone out.",
                updated_at=now,
            ):
                changed += 1
                row.refresh_from_db()
                _ended(row)
    return changed


def _late_callbacks_apply(now: datetime) -> int:
    late = StatusCallback.objects.filter(
        applied=False,
        received_at__lte=now - timedelta(seconds=2),
        received_at__gte=now - timedelta(hours=1),
    )
    applied = 0
    for callback in late.order_by("received_at")[:BATCH]:
        with transaction.atomic():
            callback_apply(callback)
            applied += StatusCallback.objects.filter(pk=callback.pk, applied=True).exists()
    return applied
