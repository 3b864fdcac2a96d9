"""The status journeys a text and a call go through, with their status callbacks."""

from __future__ import annotations

import asyncio
import contextlib

from sandbox.resources import API_VERSION, Call, Message, rfc2822
from sandbox.runtime import SandboxRuntime
from sandbox.twiml import ConferenceLeg, conference_joined
from sandbox.voice import answered_by_params, call_params, press_a_key
from sandbox.webhooks import Webhook, deliver

# What Twilio reports when a carrier gives up on a text.
SMS_FAILURES = {
    "undelivered": (30003, "Unreachable destination handset"),
    "failed": (30008, "Unknown error"),
}

# A new Message is `queued`, or `accepted` when a Messaging Service picks the sender. Twilio
# sends no callback for that first status, only for each change after it.
LATER_MESSAGE_STATUSES = {"accepted": ("queued", "sent"), "queued": ("sent",)}

ANSWERED = ("initiated", "ringing", "in-progress", "completed")
CALL_JOURNEYS = {
    # Answered by a person who presses nothing, by one who presses a key, by voicemail.
    "completed": ANSWERED,
    "press": ANSWERED,
    "machine": ANSWERED,
    "no-answer": ("initiated", "ringing", "no-answer"),
    "busy": ("initiated", "busy"),
    "failed": ("initiated", "failed"),
}
# The StatusCallbackEvent name under which each call status is reported.
CALL_EVENT_OF = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}
FINAL_CALL_EVENT = "completed"
# MachineDetection values; with DetectMessageEnd, Twilio reports voicemail once the greeting's
# beep has gone, ready for a message.
MACHINE_VERDICTS = {"Enable": "machine_start", "DetectMessageEnd": "machine_end_beep"}


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


async def run_call(
    runtime: SandboxRuntime, sid: str, outcome: str, *, machine_detection: str | None = None
) -> None:
    """The call's journey, cut short when it is hung up (its final status is then already in
    the state: this reports it, so one call's callbacks stay in order)."""
    verdict = amd_verdict(outcome, machine_detection)
    hangup = runtime.hangup_event(sid)
    sequence = 0
    try:
        for status in CALL_JOURNEYS[outcome]:
            if await _hung_up(hangup, runtime.delay_s):
                break
            detected = verdict if status == "in-progress" else None
            call = runtime.state.move_call(sid, status, answered_by=detected)
            if call is None:
                return
            sequence = await _report_call(runtime, call, sequence)
            if status == "in-progress" and outcome == "press":
                await press_a_key(runtime, call)
            if status == "in-progress" and (leg := conference_joined(call.twiml or "")):
                await _stay_in_conference(runtime, call, leg, hangup)
        ended = runtime.state.call_record(sid)
        if hangup.is_set() and ended is not None:
            await _report_call(runtime, ended, sequence)
    finally:
        runtime.hangups.pop(sid, None)


async def _hung_up(hangup: asyncio.Event, delay: float) -> bool:
    """Waits `delay` before the next status, or less if the call is hung up meanwhile."""
    if delay <= 0:
        await asyncio.sleep(0)
    elif not hangup.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hangup.wait(), delay)
    return hangup.is_set()


async def _stay_in_conference(
    runtime: SandboxRuntime, call: Call, leg: ConferenceLeg, hangup: asyncio.Event
) -> None:
    """Connected until hung up, or until the leg that ends the conference leaves; at most
    `conference_max_s`, so nothing waits forever on a call nobody ends."""
    members = runtime.conferences.setdefault(leg.name, set())
    members.add(call.sid)
    try:
        await asyncio.wait_for(hangup.wait(), runtime.config.conference_max_s)
    except TimeoutError:
        runtime.state.end_call(call.sid, "completed")
        hangup.set()
    finally:
        members.discard(call.sid)
    if leg.ends_conference:
        for other in list(members):
            if runtime.state.end_call(other, "completed") is not None:
                runtime.hang_up(other)


def amd_verdict(outcome: str, machine_detection: str | None) -> str | None:
    """What answering-machine detection says once answered; nothing unless it was asked for."""
    if machine_detection not in MACHINE_VERDICTS:
        return None
    return MACHINE_VERDICTS[machine_detection] if outcome == "machine" else "human"


async def _report_call(runtime: SandboxRuntime, call: Call, sequence: int) -> int:
    """Send the status callback if asked for; answers the next SequenceNumber."""
    # Twilio only reports the events asked for, and just "completed" by default.
    event = CALL_EVENT_OF.get(call.status, FINAL_CALL_EVENT)
    if not call.status_callback or event not in call.callback_events:
        return sequence
    await deliver(runtime.session, runtime.config, runtime.state, _call_hook(call, sequence))
    return sequence + 1


def _call_hook(call: Call, sequence: int) -> Webhook:
    params = [
        *call_params(call),
        *answered_by_params(call),
        ("CallbackSource", "call-progress-events"),
        ("SequenceNumber", str(sequence)),
        ("Timestamp", rfc2822(call.updated) or ""),
    ]
    if call.duration is not None:
        params.append(("CallDuration", str(call.duration)))
    assert call.status_callback is not None
    return Webhook("call-status", call.sid, call.status, call.status_callback, params)
