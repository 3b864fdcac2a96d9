"""Hanging up a call through the outbox and the gateway, and every move of a call reported."""

from __future__ import annotations

from typing import Any

import pytest

from telephony import gateway, outbox, twiml
from telephony.handlers import Event, register
from telephony.models import CallStatus, OutboundCall, Purpose

pytestmark = pytest.mark.django_db

PHONE = "+15145550911"
# What the handler below heard, in order: (call id, status).
HEARD: list[tuple[int, str]] = []


# The supervisor's alert has no call of its own in the ladder: a safe purpose to listen on.
@register(Event.CALL_PROGRESS, Purpose.SUPERVISOR_ALERT)
def _heard(call: OutboundCall) -> None:
    HEARD.append((call.pk, call.status))


def _conference_call(purpose: Purpose = Purpose.DISPATCH_LINE) -> OutboundCall:
    leg = twiml.conference_joined("alarm-9", in_control=False)
    return outbox.call_queue(to=PHONE, purpose=purpose, twiml=leg)


def _sandbox_status(sandbox: Any, sid: str) -> str:
    [call] = [c for c in sandbox.calls(to=PHONE) if c["sid"] == sid]
    return str(call["status"])


def test_it_cancels_a_call_never_placed_without_calling_twilio(sandbox: Any) -> None:
    call = _conference_call()
    ended = outbox.call_end(call_id=call.pk)
    assert ended.status == CallStatus.CANCELED
    # The worker's claim finds nothing left to place.
    assert outbox.call_place(call_id=call.pk) is None
    assert sandbox.calls(to=PHONE) == []


def test_it_asks_twilio_to_end_a_call_in_progress(sandbox: Any) -> None:
    call = outbox.call_place(call_id=_conference_call().pk)
    assert call is not None and call.twilio_sid
    sid = call.twilio_sid
    sandbox.wait_until(lambda: _sandbox_status(sandbox, sid) == "in-progress")
    outbox.callback_record(sid=sid, status="in-progress")
    outbox.call_end(call_id=call.pk)
    assert _sandbox_status(sandbox, sid) == "completed"
    # Twilio's completed callback moves the row, as for any call.
    outbox.callback_record(sid=sid, status="completed")
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED


def test_it_ends_a_call_still_ringing_by_our_records_that_twilio_has_answered(
    sandbox: Any,
) -> None:
    """Cancel alone would leave it up: the gateway then completes it."""
    call = outbox.call_place(call_id=_conference_call().pk)
    assert call is not None and call.twilio_sid
    sid = call.twilio_sid
    sandbox.wait_until(lambda: _sandbox_status(sandbox, sid) == "in-progress")
    assert call.status == CallStatus.INITIATED
    outbox.call_end(call_id=call.pk)
    assert _sandbox_status(sandbox, sid) == "completed"


def test_ending_a_call_that_is_over_asks_nothing_more(sandbox: Any) -> None:
    call = outbox.call_place(call_id=_conference_call().pk)
    assert call is not None and call.twilio_sid
    outbox.callback_record(sid=call.twilio_sid, status="completed")
    assert outbox.call_end(call_id=call.pk).status == CallStatus.COMPLETED


def test_a_call_being_placed_cannot_be_hung_up_yet(sandbox: Any) -> None:
    call = _conference_call()
    OutboundCall.objects.filter(pk=call.pk).update(status=CallStatus.SENDING)
    with pytest.raises(outbox.CallNotPlacedYet):
        outbox.call_end(call_id=call.pk)


def test_twilio_refusing_is_a_send_error_without_the_number(sandbox: Any) -> None:
    with pytest.raises(gateway.SendError) as refused:
        gateway.call_end("CA" + "0" * 32, answered=True)
    assert refused.value.code == "20404" and not refused.value.temporary
    assert "0000000000" not in refused.value.masked_message


def test_every_move_of_a_call_is_reported_not_only_the_last(sandbox: Any) -> None:
    HEARD.clear()
    call = outbox.call_place(call_id=_conference_call(Purpose.SUPERVISOR_ALERT).pk)
    assert call is not None and call.twilio_sid
    for status in ("ringing", "in-progress", "completed"):
        outbox.callback_record(sid=call.twilio_sid, status=status)
    # A repeated or late report moves nothing, so nothing is reported again.
    outbox.callback_record(sid=call.twilio_sid, status="ringing")
    assert [status for pk, status in HEARD if pk == call.pk] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
