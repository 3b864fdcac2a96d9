"""Writes for the outbox: every text is a row before it is sent, and is sent at most once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from dispatch import gateway
from dispatch.models import (
    TWILIO_TO_OUTBOUND,
    OutboundCall,
    OutboundSMS,
    OutboundStatus,
    StatusCallback,
    status_moves_forward,
)
from nors.lib import realtime, tasks

log = logging.getLogger(__name__)


def outbound_sms_queue(
    *, to: str, body: str, session_id: int | None = None, queue_task: bool = True
) -> OutboundSMS:
    """Writes the text down. Its send task is queued once the row is committed, unless the
    caller sends it itself right after (`queue_task=False`); if that caller dies first, the
    sweeper queues it."""
    now = timezone.now()
    sms = OutboundSMS.objects.create(
        to_phone=to,
        body=body,
        session_id=session_id,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    from dispatch.tasks import send_outbound_sms

    if queue_task:
        # Off the request's path: if this process dies first, the sweeper finds the row.
        tasks.task_queue_on_commit(send_outbound_sms, sms.pk)
    return sms


def _enqueue(outbound_id: int, countdown: float = 0) -> None:
    from dispatch.tasks import send_outbound_sms

    tasks.task_queue(send_outbound_sms, outbound_id, countdown=countdown)


def _claim(outbound_id: int, now: datetime) -> bool:
    claimed = OutboundSMS.objects.filter(
        pk=outbound_id, status=OutboundStatus.QUEUED, next_attempt_at__lte=now
    ).update(status=OutboundStatus.SENDING, claimed_at=now, updated_at=now)
    return claimed == 1


def outbound_sms_send(*, outbound_id: int) -> OutboundSMS | None:
    """Claims the row, then calls Twilio. Returns None when another worker has it."""
    now = timezone.now()
    if not _claim(outbound_id, now):
        return None
    sms = OutboundSMS.objects.get(pk=outbound_id)
    callback = gateway.status_callback_url(reverse("twilio-sms-status"))
    try:
        result = gateway.sms_send(to=sms.to_phone, body=sms.body, status_callback=callback)
    except gateway.SendError as exc:
        return _record_failure(sms, exc)
    return _record_accepted(sms, result)


def _record_accepted(sms: OutboundSMS, result: gateway.SendResult) -> OutboundSMS:
    now = timezone.now()
    status = TWILIO_TO_OUTBOUND.get(result.status, OutboundStatus.ACCEPTED)
    with transaction.atomic():
        moved = OutboundSMS.objects.filter(pk=sms.pk, status=OutboundStatus.SENDING).update(
            status=status, twilio_sid=result.sid, attempts=sms.attempts + 1, updated_at=now
        )
        # Twilio's callbacks can beat its own REST answer to us; apply any that did.
        early = list(StatusCallback.objects.filter(twilio_sid=result.sid, applied=False))
        for callback in early:
            _apply_callback(callback)
        if early or not moved:
            sms.refresh_from_db()
        else:
            sms.status, sms.twilio_sid, sms.updated_at = status, result.sid, now
            sms.attempts += 1
        _publish(sms)
    return sms


def _retry_delay(attempts: int) -> float:
    return float(min(300, 5 * 2 ** (attempts - 1)))


def _record_failure(sms: OutboundSMS, exc: gateway.SendError) -> OutboundSMS:
    now = timezone.now()
    attempts = sms.attempts + 1
    retry = exc.temporary and attempts < settings.OUTBOX_MAX_ATTEMPTS
    with transaction.atomic():
        fields = {
            "attempts": attempts,
            "error_code": exc.code[:16],
            "error_message": str(exc)[:300],
            "updated_at": now,
        }
        if retry:
            delay = _retry_delay(attempts)
            fields |= {
                "status": OutboundStatus.QUEUED,
                "next_attempt_at": now + timedelta(seconds=delay),
            }
            transaction.on_commit(lambda: _enqueue(sms.pk, countdown=delay))
        else:
            fields["status"] = OutboundStatus.FAILED
        OutboundSMS.objects.filter(pk=sms.pk, status=OutboundStatus.SENDING).update(**fields)
        sms.refresh_from_db()
        _publish(sms)
        if not retry:
            _undeliverable(sms)
    log.warning("outbound SMS %s failed (%s, retry=%s): %s", sms.pk, exc.code, retry, exc)
    return sms


def status_callback_record(*, sid: str, status: str, error_code: str = "") -> bool:
    """Stores Twilio's report and applies it. Returns False for a repeat we already have."""
    now = timezone.now()
    try:
        with transaction.atomic():
            sms = OutboundSMS.objects.select_for_update().filter(twilio_sid=sid).first()
            # With no row for the SID yet, the REST answer carrying it has not been stored:
            # the callback is kept, unapplied, for then.
            callback = StatusCallback.objects.create(
                twilio_sid=sid,
                status=status,
                error_code=error_code,
                received_at=now,
                applied=sms is not None,
            )
            if sms is not None:
                _status_apply(sms, callback)
    except IntegrityError:
        return False
    return True


def _apply_callback(callback: StatusCallback) -> None:
    sms = OutboundSMS.objects.select_for_update().filter(twilio_sid=callback.twilio_sid).first()
    if sms is None:
        # Not ours yet: the REST answer carrying this SID has not been stored. Kept for then.
        return
    StatusCallback.objects.filter(pk=callback.pk).update(applied=True)
    _status_apply(sms, callback)


def _status_apply(sms: OutboundSMS, callback: StatusCallback) -> None:
    new_status = TWILIO_TO_OUTBOUND.get(callback.status)
    if new_status is None or not status_moves_forward(sms.status, new_status):
        return
    sms.status = new_status
    sms.error_code = callback.error_code or sms.error_code
    sms.updated_at = timezone.now()
    sms.save(update_fields=["status", "error_code", "updated_at"])
    _publish(sms)
    if new_status in (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED):
        _undeliverable(sms)


def _undeliverable(sms: OutboundSMS) -> None:
    """A text the client cannot get moves their check-in and ladder on at once."""
    if sms.session_id is None:
        return
    from dispatch import escalation
    from monitoring import checkins

    session = sms.session
    if session is not None and sms.to_phone != session.client_phone:
        escalation.contact_unreachable(
            session_id=sms.session_id, how=f"text_{sms.status}", now=timezone.now()
        )
        return
    # One step at a time: a failed check-in prompt raises the alarm, which prompts again.
    if not checkins.checkin_hurry(outbound_id=sms.pk):
        escalation.escalation_hurry(session_id=sms.session_id)


def _publish(sms: OutboundSMS) -> None:
    """A change of delivery status, for a dashboard with the conversation open: built from the
    row in hand, so Twilio's callbacks never read the message (or decrypt it) again."""
    if sms.session_id is None:
        return
    from monitoring.selectors import delivery_dict

    realtime.publish(
        realtime.session_group(sms.session_id),
        {
            "type": "delivery",
            "session_id": sms.session_id,
            "outbound_id": sms.pk,
            "delivery": delivery_dict(sms),
        },
    )


def outbox_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Finds sends whose task was lost (killed worker, emptied broker) and queues them again."""
    now = now or timezone.now()
    requeued = outbox_requeue(OutboundSMS, _enqueue, now=now)
    stuck_before = now - timedelta(seconds=settings.OUTBOX_STUCK_SECONDS)
    stuck = OutboundSMS.objects.filter(status=OutboundStatus.SENDING, claimed_at__lt=stuck_before)
    # Counted by what this sweep changed: another sweeper may have got there first.
    unconfirmed = sum(_mark_unconfirmed(sms, now) for sms in stuck)
    from dispatch import calls

    return {
        "requeued": requeued,
        "unconfirmed": unconfirmed,
        "late_callbacks": _late_callbacks_apply(now),
        **calls.calls_sweep(now=now),
    }


# Leave the fast path a moment to run before the sweeper steps in, and a row that waits behind a
# long queue (its task is not lost, only late) is queued again at most this often: otherwise an
# overloaded worker would get a copy of its whole backlog every sweep.
REQUEUE_AFTER = timedelta(seconds=2)
REQUEUE_EVERY = timedelta(seconds=30)


def outbox_requeue(
    model: type[OutboundSMS] | type[OutboundCall],
    enqueue: Callable[[int], None],
    *,
    now: datetime,
) -> int:
    """Queues the send task again for rows still waiting, in case the first one was lost (a
    killed worker, a broker restarted empty). Sending claims the row, so a copy is harmless."""
    due = model.objects.filter(
        status=OutboundStatus.QUEUED, next_attempt_at__lte=now - REQUEUE_AFTER
    ).filter(Q(requeued_at__isnull=True) | Q(requeued_at__lte=now - REQUEUE_EVERY))
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:500])
    model.objects.filter(pk__in=ids).update(requeued_at=now)
    for pk in ids:
        enqueue(pk)
    return len(ids)


def _late_callbacks_apply(now: datetime) -> int:
    """A callback that arrived while its SID was being stored found no row, and the REST side
    looked before the callback was committed: neither applied it. Apply it now."""
    from dispatch import calls

    late = StatusCallback.objects.filter(
        applied=False,
        received_at__lte=now - timedelta(seconds=2),
        received_at__gte=now - timedelta(hours=1),
    )
    applied = 0
    for callback in late.order_by("received_at")[:500]:
        with transaction.atomic():
            if callback.twilio_sid.startswith("CA"):
                calls.apply_callback(callback)
            else:
                _apply_callback(callback)
            applied += StatusCallback.objects.filter(pk=callback.pk, applied=True).exists()
    return applied


def _mark_unconfirmed(sms: OutboundSMS, now: datetime) -> bool:
    with transaction.atomic():
        changed = OutboundSMS.objects.filter(pk=sms.pk, status=OutboundStatus.SENDING).update(
            status=OutboundStatus.UNCONFIRMED,
            error_message="The send was interrupted; it may not have gone out.",
            updated_at=now,
        )
        if changed:
            sms.refresh_from_db()
            _publish(sms)
    return changed == 1
