"""The text line on the real stack: daphne, a real Celery worker process, and the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from monitoring.models import Direction, Message, Session
from telephony.models import OutboundSMS, OutboundStatus
from tests.support import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
PHONE = "+15145550142"


def _delivered_auto_reply() -> OutboundSMS | None:
    return OutboundSMS.objects.filter(status=OutboundStatus.DELIVERED).first()


def test_a_text_gets_the_auto_reply_through_a_real_worker(live_stack: Any) -> None:
    answer = live_stack.sandbox.send_text(PHONE, "is anyone there?")
    assert answer["console_status"] == 200, answer

    sms = wait_until(_delivered_auto_reply, timeout=30)
    replies = live_stack.sandbox.messages(to=PHONE)
    assert len(replies) == 1
    assert "911" in replies[0]["body"]
    assert sms.twilio_sid == replies[0]["sid"]

    session = Session.objects.get()
    assert session.messages.filter(direction=Direction.INBOUND).get().body == "is anyone there?"


def test_a_replayed_webhook_from_the_sandbox_records_once(live_stack: Any) -> None:
    live_stack.sandbox.send_text(PHONE, "one")
    live_stack.sandbox.send_text(PHONE, "two")
    wait_until(_delivered_auto_reply, timeout=30)
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 2
    assert len(live_stack.sandbox.messages(to=PHONE)) == 1


def test_an_undelivered_reply_is_marked_as_a_problem(live_stack: Any) -> None:
    live_stack.sandbox.set_number(PHONE, sms="undelivered")
    live_stack.sandbox.send_text(PHONE, "my phone is flaky")
    sms = wait_until(
        lambda: OutboundSMS.objects.filter(status=OutboundStatus.UNDELIVERED).first(), timeout=30
    )
    assert sms.error_code == "30003"
