from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from telephony import outbox as services
from telephony.models import OutboundSMS, OutboundStatus, Purpose, StatusCallback
from tests import support

pytestmark = pytest.mark.django_db
PHONE = "+15145550123"


def _queued(body: str = "Hi, this is the line.", to: str = PHONE) -> OutboundSMS:
    return services.sms_queue(to=to, body=body, purpose=Purpose.CLIENT_REPLY)


def test_it_sends_through_twilio_and_keeps_the_sid(sandbox: Any) -> None:
    sms = _queued()
    services.sms_send(outbound_id=sms.pk)
    sms.refresh_from_db()
    sent = sandbox.messages(to=PHONE)
    assert len(sent) == 1 and sent[0]["body"] == "Hi, this is the line."
    assert sms.twilio_sid == sent[0]["sid"]
    assert sms.status == OutboundStatus.ACCEPTED and sms.attempts == 1


def test_it_sends_a_claimed_message_only_once(sandbox: Any) -> None:
    sms = _queued()
    assert services.sms_send(outbound_id=sms.pk) is not None
    assert services.sms_send(outbound_id=sms.pk) is None
    assert len(sandbox.messages(to=PHONE)) == 1


def test_it_does_not_retry_a_permanent_failure(sandbox: Any) -> None:
    sms = _queued(to="+15005550001")  # Twilio's magic "invalid number"
    services.sms_send(outbound_id=sms.pk)
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.FAILED
    assert sms.error_code == "21211" and sms.attempts == 1
    assert services.sms_send(outbound_id=sms.pk) is None


def test_it_retries_a_temporary_failure_with_backoff(settings: Any) -> None:
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{support.free_port()}"  # nobody there
    sms = _queued()
    before = timezone.now()
    services.sms_send(outbound_id=sms.pk)
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.QUEUED and sms.attempts == 1
    # One policy for texts and calls: 2 s, then 4, 8... at most a minute.
    assert sms.next_attempt_at >= before + timedelta(seconds=services.retry_delay(1))
    assert services.retry_delay(1) == 2 and services.retry_delay(10) == 60
    # Not due yet: a second try now does nothing.
    assert services.sms_send(outbound_id=sms.pk) is None


def test_it_gives_up_after_the_last_attempt(settings: Any) -> None:
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{support.free_port()}"
    settings.OUTBOX_MAX_ATTEMPTS = 3
    sms = _queued()
    for _ in range(3):
        OutboundSMS.objects.filter(pk=sms.pk).update(next_attempt_at=timezone.now())
        services.sms_send(outbound_id=sms.pk)
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.FAILED and sms.attempts == 3


def test_a_retry_reaches_twilio_once_it_is_back(sandbox: Any, settings: Any) -> None:
    good = settings.TWILIO_API_BASE_URL
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{support.free_port()}"
    sms = _queued()
    services.sms_send(outbound_id=sms.pk)
    settings.TWILIO_API_BASE_URL = good
    with time_machine.travel(timezone.now() + timedelta(seconds=6)):
        services.sms_send(outbound_id=sms.pk)
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.ACCEPTED and sms.attempts == 2
    assert len(sandbox.messages(to=PHONE)) == 1


SID = "SM" + "a" * 32


def _accepted() -> OutboundSMS:
    sms = _queued()
    OutboundSMS.objects.filter(pk=sms.pk).update(status=OutboundStatus.ACCEPTED, twilio_sid=SID)
    sms.refresh_from_db()
    return sms


def test_status_only_moves_forward_when_callbacks_arrive_out_of_order() -> None:
    sms = _accepted()
    assert services.callback_record(sid=SID, status="delivered")
    assert services.callback_record(sid=SID, status="sent")
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.DELIVERED


def test_a_repeated_callback_is_recorded_once() -> None:
    _accepted()
    assert services.callback_record(sid=SID, status="sent") is True
    assert services.callback_record(sid=SID, status="sent") is False
    assert StatusCallback.objects.count() == 1


def test_a_failure_is_kept_with_its_error_code() -> None:
    sms = _accepted()
    services.callback_record(sid=SID, status="undelivered", error_code="30003")
    sms.refresh_from_db()
    assert (sms.status, sms.error_code) == (OutboundStatus.UNDELIVERED, "30003")


def test_a_callback_that_beats_the_rest_answer_is_applied_later(sandbox: Any) -> None:
    sms = _queued()
    services.sms_send(outbound_id=sms.pk)
    sms.refresh_from_db()
    OutboundSMS.objects.filter(pk=sms.pk).update(twilio_sid=None, status=OutboundStatus.SENDING)
    # Twilio reports before we stored its SID: keep the report, apply it when the SID lands.
    services.callback_record(sid="SM" + "b" * 32, status="delivered")
    assert StatusCallback.objects.get().applied is False
    services._accepted(
        services.SMS,
        OutboundSMS.objects.get(pk=sms.pk),
        services.gateway.SendResult(sid="SM" + "b" * 32, status="queued"),
    )
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.DELIVERED
    assert StatusCallback.objects.get().applied is True


def test_the_sweeper_marks_an_interrupted_send_unconfirmed_not_resent(settings: Any) -> None:
    sms = _queued()
    OutboundSMS.objects.filter(pk=sms.pk).update(
        status=OutboundStatus.SENDING, claimed_at=timezone.now()
    )
    later = timezone.now() + timedelta(seconds=settings.OUTBOX_STUCK_SECONDS + 1)
    assert services.outbox_sweep(now=later)["sms_unconfirmed"] == 1
    assert services.outbox_sweep(now=later)["sms_unconfirmed"] == 0
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.UNCONFIRMED


def test_the_sweeper_requeues_only_what_is_due(settings: Any) -> None:
    due = _queued()
    not_due = _queued()
    now = timezone.now()
    OutboundSMS.objects.filter(pk=due.pk).update(next_attempt_at=now - timedelta(seconds=30))
    OutboundSMS.objects.filter(pk=not_due.pk).update(next_attempt_at=now + timedelta(seconds=30))
    assert services.outbox_sweep(now=now)["sms_requeued"] == 1


def test_a_text_waiting_behind_a_backlog_is_queued_again_only_now_and_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An overloaded worker has not lost its tasks: a copy of the backlog every sweep would
    only bury it deeper. A lost task is still found again within REQUEUE_EVERY."""
    queued: list[int] = []
    monkeypatch.setattr(
        services.tasks, "task_queue", lambda task, pk, countdown=0, eta=None: queued.append(pk)
    )
    waiting = _queued()
    start = timezone.now() + timedelta(seconds=3)
    every = services.REQUEUE_EVERY.total_seconds()
    for second in range(0, int(2 * every) + 1, 5):  # a sweep every 5 s for a minute
        services.outbox_sweep(now=start + timedelta(seconds=second))
    assert queued == [waiting.pk] * 3  # at 0, 30 and 60 s


def test_a_callback_that_raced_the_rest_answer_is_applied_by_the_sweeper() -> None:
    """Twilio's report arrived while the SID was being stored: neither side applied it."""
    sms = _queued()
    sid = "SM" + "b" * 32
    services.callback_record(sid=sid, status="undelivered", error_code="30003")
    # The REST answer's transaction stored the SID after looking for early callbacks.
    OutboundSMS.objects.filter(pk=sms.pk).update(twilio_sid=sid, status=OutboundStatus.ACCEPTED)
    with time_machine.travel(timezone.now() + timedelta(seconds=3)):
        swept = services.outbox_sweep()
        again = services.outbox_sweep()
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.UNDELIVERED and sms.error_code == "30003"
    assert (swept["late_callbacks"], again["late_callbacks"]) == (1, 0)
    assert StatusCallback.objects.get(twilio_sid=sid).applied
