"""Everything the sandbox remembers, in memory.

Handlers mutate it on the event loop. Tests may read it from another thread (see
sandbox.testing), so every read returns a JSON snapshot taken under the lock, never a
live record.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.resources import (
    JSON,
    Call,
    CallbackAttempt,
    InboundText,
    Message,
    call_json,
    callback_json,
    iso,
    message_json,
    now,
    phone_entry_for_inbound,
    phone_entry_for_message,
)

# An SSE subscriber's queue; None tells it to close.
EventQueue = asyncio.Queue[JSON | None]

FINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


def _billed_seconds(started: datetime | None, ended: datetime) -> int:
    """Twilio bills whole seconds, rounded up; a call never answered lasted zero."""
    return 0 if started is None else max(1, math.ceil((ended - started).total_seconds()))


def _control_fields(status_callback: str | None, created: datetime) -> JSON:
    """What only the control API shows: Twilio's own dates are whole seconds, and timing
    measurements need the moment the request arrived."""
    return {"status_callback": status_callback, "received_at": iso(created)}


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[EventQueue]] = {}
        self._clear()

    def _clear(self) -> None:
        self._messages: dict[str, Message] = {}
        self._calls: dict[str, Call] = {}
        self._inbound: dict[str, InboundText] = {}
        self._conversations: dict[str, list[str]] = {}
        self._callbacks: list[CallbackAttempt] = []
        self._callback_ids = itertools.count(1)
        self._sms_outcomes = dict(self._config.sms_outcomes)
        self._call_outcomes = dict(self._config.call_outcomes)

    def reset(self) -> None:
        """Forget all traffic; number behaviour goes back to what the flags set."""
        with self._lock:
            self._clear()
        self._publish_all({"type": "reset"})

    # Number behaviour

    def sms_outcome(self, number: str) -> str:
        with self._lock:
            return self._sms_outcomes.get(number, "delivered")

    def call_outcome(self, number: str) -> str:
        with self._lock:
            return self._call_outcomes.get(number, "completed")

    def configure_number(self, number: str, *, sms: str | None, call: str | None) -> JSON:
        with self._lock:
            if sms is not None:
                self._sms_outcomes[number] = sms
            if call is not None:
                self._call_outcomes[number] = call
            return self._number_json(number)

    def numbers(self) -> list[JSON]:
        with self._lock:
            configured = sorted(self._sms_outcomes.keys() | self._call_outcomes.keys())
            return [self._number_json(number) for number in configured]

    def _number_json(self, number: str) -> JSON:
        return {
            "number": number,
            "sms": self._sms_outcomes.get(number, "delivered"),
            "call": self._call_outcomes.get(number, "completed"),
        }

    # Outbound messages

    def add_message(self, message: Message) -> JSON:
        with self._lock:
            self._messages[message.sid] = message
            return message_json(message)

    def message(self, sid: str) -> JSON | None:
        with self._lock:
            message = self._messages.get(sid)
            return None if message is None else message_json(message)

    def messages(self, to: str | None = None, since: datetime | None = None) -> list[JSON]:
        with self._lock:
            return [
                message_json(m) | _control_fields(m.status_callback, m.created)
                for m in self._messages.values()
                if (to is None or m.to == to) and (since is None or m.created >= since)
            ]

    def move_message(self, sid: str, status: str, **changes: Any) -> Message | None:
        """Set a new status; a delivered text lands on the phone. None if reset meanwhile."""
        with self._lock:
            message = self._messages.get(sid)
            if message is None:
                return None
            moment = now()
            message.status, message.updated = status, moment
            if status == "sent":
                message.sent = moment
            for name, value in changes.items():
                setattr(message, name, value)
            if status == "delivered" and not message.on_phone:
                message.on_phone = True
                self._conversations.setdefault(message.to, []).append(sid)
            snapshot = replace(message)
        if snapshot.on_phone:
            self._publish(
                snapshot.to, {"type": "message", "message": phone_entry_for_message(snapshot)}
            )
        return snapshot

    # Calls

    def add_call(self, call: Call) -> JSON:
        with self._lock:
            self._calls[call.sid] = call
            return call_json(call)

    def call(self, sid: str) -> JSON | None:
        with self._lock:
            call = self._calls.get(sid)
            return None if call is None else call_json(call)

    def calls(self, to: str | None = None, since: datetime | None = None) -> list[JSON]:
        with self._lock:
            return [
                call_json(c) | _control_fields(c.status_callback, c.created)
                for c in self._calls.values()
                if (to is None or c.to == to) and (since is None or c.created >= since)
            ]

    def move_call(self, sid: str, status: str, *, answered_by: str | None = None) -> Call | None:
        """Set a new status, stamping start and end times as Twilio does."""
        with self._lock:
            call = self._calls.get(sid)
            if call is None:
                return None
            moment = now()
            call.status, call.updated = status, moment
            if answered_by is not None:
                call.answered_by = answered_by
            if status == "in-progress":
                call.started = moment
            if status in FINAL_CALL_STATUSES:
                call.ended, call.duration = moment, _billed_seconds(call.started, moment)
            return replace(call)

    def call_record(self, sid: str) -> Call | None:
        with self._lock:
            call = self._calls.get(sid)
            return None if call is None else replace(call)

    def end_call(self, sid: str, status: str) -> JSON | None:
        """Hang up a call that has not ended yet; None if it had (or is unknown)."""
        with self._lock:
            call = self._calls.get(sid)
            if call is None or call.status in FINAL_CALL_STATUSES:
                return None
        ended = self.move_call(sid, status)
        return None if ended is None else call_json(ended)

    # The phone

    def add_inbound(self, text: InboundText) -> None:
        with self._lock:
            self._inbound[text.sid] = text
            self._conversations.setdefault(text.phone, []).append(text.sid)
        self._publish(text.phone, {"type": "message", "message": phone_entry_for_inbound(text)})

    def record_console_answer(self, sid: str, status: int | None, error: str | None) -> JSON | None:
        with self._lock:
            text = self._inbound.get(sid)
            if text is None:
                return None
            text.console_status, text.console_error, text.updated = status, error, now()
            entry = phone_entry_for_inbound(text)
        self._publish(text.phone, {"type": "message", "message": entry})
        return entry

    def conversation(self, number: str) -> list[JSON]:
        with self._lock:
            return [self._phone_entry(sid) for sid in self._conversations.get(number, [])]

    def phone_entry(self, sid: str) -> JSON | None:
        with self._lock:
            known = sid in self._inbound or sid in self._messages
            return self._phone_entry(sid) if known else None

    def _phone_entry(self, sid: str) -> JSON:
        if sid in self._inbound:
            return phone_entry_for_inbound(self._inbound[sid])
        return phone_entry_for_message(self._messages[sid])

    # Callback attempts

    def record_callback(self, **fields: Any) -> JSON:
        with self._lock:
            attempt = CallbackAttempt(id=next(self._callback_ids), at=now(), **fields)
            self._callbacks.append(attempt)
            return callback_json(attempt)

    def callbacks(self, sid: str | None = None) -> list[JSON]:
        with self._lock:
            return [callback_json(a) for a in self._callbacks if sid is None or a.sid == sid]

    # Live events for the phone page; only ever touched from the event loop.

    def subscribe(self, number: str) -> EventQueue:
        queue: EventQueue = asyncio.Queue()
        self._subscribers.setdefault(number, set()).add(queue)
        return queue

    def unsubscribe(self, number: str, queue: EventQueue) -> None:
        self._subscribers.get(number, set()).discard(queue)

    def close_subscribers(self) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(None)

    def _publish(self, number: str, event: JSON) -> None:
        for queue in self._subscribers.get(number, ()):
            queue.put_nowait(event)

    def _publish_all(self, event: JSON) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(event)
