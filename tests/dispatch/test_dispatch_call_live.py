"""Each move of a dispatch call's legs reaches the operator's dashboard, through the real app."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from dispatch.models import Escalation, OperatorPhone
from telephony import outbox
from telephony.models import CallStatus, OutboundCall, Purpose
from tests.dispatch.test_dispatch_call import OPERATOR_PHONE, call
from tests.dispatch.test_dispatch_call import alarm as alarm
from tests.monitoring.test_dashboard_consumer import _drain, _receive_type, _snapshot_for

pytestmark = pytest.mark.django_db(transaction=True)


def _dispatch_line_rings(alarm: Escalation, operator: Any) -> None:
    OperatorPhone.objects.create(user=operator, phone=OPERATOR_PHONE)
    assert call(operator, alarm.session, {"escalation": alarm.pk, "line": 0}).status_code == 200
    line = OutboundCall.objects.get(ref_id=alarm.pk, purpose=Purpose.DISPATCH_LINE)
    # As if the worker had placed it: Twilio's SID stored, then Twilio reports it ringing.
    sid = "CA" + "7" * 32
    OutboundCall.objects.filter(pk=line.pk).update(twilio_sid=sid, status=CallStatus.INITIATED)
    outbox.callback_record(sid=sid, status="ringing")


async def test_the_operator_sees_the_dispatch_line_ringing(
    alarm: Escalation, operator: Any, operator2: Any
) -> None:
    mine, snapshot = await _snapshot_for(operator)
    assert snapshot["alarms"][0]["call"]["legs"] == []
    theirs, _ = await _snapshot_for(operator2)
    await database_sync_to_async(_dispatch_line_rings)(alarm, operator)
    event = await _receive_type(mine, "dispatch_call")
    assert (event["session_id"], event["escalation_id"], event["live"]) == (
        alarm.session_id,
        alarm.pk,
        True,
    )
    assert [(leg["leg"], leg["status"], leg["label"]) for leg in event["legs"]] == [
        ("operator", "queued", "Calling your phone"),
        ("dispatch", "ringing", "Dispatch ringing"),
    ]
    # No number of either leg travels to the page.
    assert "555" not in str(event)
    assert not [e for e in await _drain(theirs) if e["type"] == "dispatch_call"]
    await mine.disconnect()
    await theirs.disconnect()
