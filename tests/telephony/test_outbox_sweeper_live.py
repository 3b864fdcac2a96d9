"""A text whose Celery task was lost is still sent, once, by beat's sweeper."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from telephony.models import OutboundSMS, OutboundStatus
from tests import support

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
PHONE = "+15145550177"


def test_the_sweeper_sends_a_text_whose_task_was_lost(live_stack: Any, tmp_path: Path) -> None:
    now = timezone.now()
    # Written straight to the table: no task was ever queued for it, as after a broker wipe.
    sms = OutboundSMS.objects.create(
        to_phone=PHONE,
        body="Are you still with us?",
        next_attempt_at=now - timedelta(seconds=10),
        created_at=now,
        updated_at=now,
    )
    env = live_stack.env | {"OUTBOX_SWEEP_SECONDS": "1"}
    with support.celery_beat(env, str(tmp_path / "beat-schedule")):
        support.wait_until(lambda: live_stack.sandbox.messages(to=PHONE), timeout=30)
        time.sleep(3)  # several more sweeps: none may send it again
    assert len(live_stack.sandbox.messages(to=PHONE)) == 1
    sms.refresh_from_db()
    assert sms.status in {OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.ACCEPTED}
