"""The status journeys a text and a call go through, with their status callbacks."""

from __future__ import annotations

import asyncio

from sandbox.resources import API_VERSION, Call, Message, rfc2822
from sandbox.runtime import SandboxRuntime
from sandbox.webhooks import Webhook, deliver

# What Twilio reports when a carrier gives up on a text.
SMS_FAILURES = {
    "undelivered": (30003, "Unreachable destination handset"),
    "failed": (30008, "Unknown error"),
}

# A new Message is `queued`, or `accepted` when a Messaging Service picks the sender. Twilio
# sends no callback for that first status, only for each change after it.
LATER_MESSAGE_STATUSES = {"accepted": ("queued", "sent"), "queued": ("sent",)}

CALL_JOURNEYS = {
    "completed": ("initiated", "ringing", "in-progress", "completed"),
    "no-answer": ("initiated", "ringing", "no-answer"),
    "busy": ("initiated", "busy"),
    "failed": ("initiated", "failed"),
}
# The StatusCallbackEvent name under which each call status is reported.
CALL_EVENT_OF = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}
FINAL_CALL_EVENT = "completed"


async def run_message(runtime: SandboxRuntime, sid: str, outcome: str) -> None:
    """Each status after the first, then the outcome; each callback settles before the next."""
    created = runtime.state.message(sid)
    if created is None:
        return
    for status in (*LATER_MESSAGE_STATUSES[created["status"]], outcome):
        await asyncio.sleep(runtime.delay_s)
        code, text = SMS_FAILURES.get(status, (None, None))
        changes = {"error_code": code, "error_message": text} if code else {}
        message = runtime.state.move_message(sid, status, **changes)
        if message is None:
            return
        if message.status_callback:
            await deliver(runtime.session, runtime.config, runtime.state, _message_hook(message))


def _message_hook(message: Message) -> Webhook:
    params = [
        ("MessageSid", message.sid),
        ("SmsSid", message.sid),
        ("MessageStatus", message.status),
        ("SmsStatus", message.status),
        ("AccountSid", message.account_sid),
        ("From", message.from_),
        ("To", message.to),
        ("ApiVersion", API_VERSION),
    ]
    if message.messaging_service_sid:
        params.append(("MessagingServiceSid", message.messaging_service_sid))
    if message.error_code is not None:
        params.append(("ErrorCode", str(message.error_code)))
    assert message.status_callback is not None
    return Webhook("message-status", message.sid, message.status, message.status_callback, params)


async def run_call(runtime: SandboxRuntime, sid: str, outcome: str) -> None:
    sequence = 0
    for status in CALL_JOURNEYS[outcome]:
        await asyncio.sleep(runtime.delay_s)
        call = runtime.state.move_call(sid, status)
        if call is None:
            return
        # Twilio only reports the events asked for, and just "completed" by default.
        event = CALL_EVENT_OF.get(status, FINAL_CALL_EVENT)
        if call.status_callback and event in call.callback_events:
            hook = _call_hook(call, sequence)
            await deliver(runtime.session, runtime.config, runtime.state, hook)
            sequence += 1


def _call_hook(call: Call, sequence: int) -> Webhook:
    params = [
        ("CallSid", call.sid),
        ("AccountSid", call.account_sid),
        ("From", call.from_),
        ("Caller", call.from_),
        ("To", call.to),
        ("Called", call.to),
        ("CallStatus", call.status),
        ("Direction", "outbound-api"),
        ("ApiVersion", API_VERSION),
        ("CallbackSource", "call-progress-events"),
        ("SequenceNumber", str(sequence)),
        ("Timestamp", rfc2822(call.updated) or ""),
    ]
    if call.duration is not None:
        params.append(("CallDuration", str(call.duration)))
    assert call.status_callback is not None
    return Webhook("call-status", call.sid, call.status, call.status_callback, params)
