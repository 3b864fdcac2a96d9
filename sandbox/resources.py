"""The sandbox's records, and the JSON shapes Twilio's REST API gives them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from sandbox.phone_numbers import national_format

API_VERSION = "2010-04-01"
ERROR_DOCS = "https://www.twilio.com/docs/errors/"

JSON = dict[str, Any]


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def now() -> datetime:
    return datetime.now(UTC)


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's REST dates look like 'Thu, 24 Aug 2023 05:01:45 +0000'."""
    return None if moment is None else format_datetime(moment)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def twilio_error_body(code: int, message: str, status: int) -> JSON:
    return {"code": code, "message": message, "more_info": f"{ERROR_DOCS}{code}", "status": status}


@dataclass
class Message:
    """A text the console sent through the line (REST or a TwiML reply)."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    num_segments: int
    direction: str = "outbound-api"
    num_media: int = 0
    status_callback: str | None = None
    messaging_service_sid: str | None = None
    status: str = "queued"
    error_code: int | None = None
    error_message: str | None = None
    created: datetime = field(default_factory=now)
    updated: datetime = field(default_factory=now)
    sent: datetime | None = None
    on_phone: bool = False


@dataclass
class Call:
    sid: str
    account_sid: str
    to: str
    from_: str
    url: str | None
    twiml: str | None
    status_callback: str | None
    callback_events: frozenset[str]
    status: str = "queued"
    # Set once answered, if the call asked for answering-machine detection.
    answered_by: str | None = None
    created: datetime = field(default_factory=now)
    updated: datetime = field(default_factory=now)
    started: datetime | None = None
    ended: datetime | None = None
    duration: int | None = None


@dataclass
class InboundText:
    """A text from the simulated phone to the line, and how the console answered it."""

    sid: str
    phone: str
    line: str
    body: str
    num_segments: int
    num_media: int = 0
    created: datetime = field(default_factory=now)
    updated: datetime = field(default_factory=now)
    console_status: int | None = None
    console_error: str | None = None


@dataclass
class CallbackAttempt:
    """One HTTP request to the console: a status callback, an incoming-text webhook, or what
    a call's TwiML asks for (fetching it from its Url, a <Gather>'s action)."""

    id: int
    kind: str
    sid: str
    event: str
    method: str
    url: str
    attempt: int
    params: list[tuple[str, str]]
    at: datetime
    http_status: int | None
    error: str | None
    outcome: str


def message_uri(account_sid: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"


def call_uri(account_sid: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}.json"


def message_json(message: Message) -> JSON:
    uri = message_uri(message.account_sid, message.sid)
    return {
        "account_sid": message.account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": rfc2822(message.created),
        "date_sent": rfc2822(message.sent),
        "date_updated": rfc2822(message.updated),
        "direction": message.direction,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        # Twilio sends these two counts as strings.
        "num_media": str(message.num_media),
        "num_segments": str(message.num_segments),
        "price": None,
        "price_unit": "USD",
        "sid": message.sid,
        "status": message.status,
        "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
        "to": message.to,
        "uri": uri,
    }


def call_json(call: Call) -> JSON:
    uri = call_uri(call.account_sid, call.sid)
    base = uri.removesuffix(".json")
    return {
        "account_sid": call.account_sid,
        "annotation": None,
        "answered_by": call.answered_by,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": rfc2822(call.created),
        "date_updated": rfc2822(call.updated),
        "direction": "outbound-api",
        "duration": None if call.duration is None else str(call.duration),
        "end_time": rfc2822(call.ended),
        "forwarded_from": None,
        "from": call.from_,
        "from_formatted": national_format(call.from_),
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": None,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": call.sid,
        "start_time": rfc2822(call.started),
        "status": call.status,
        "subresource_uris": {
            "notifications": f"{base}/Notifications.json",
            "recordings": f"{base}/Recordings.json",
            "events": f"{base}/Events.json",
        },
        "to": call.to,
        "to_formatted": national_format(call.to),
        "trunk_sid": None,
        "uri": uri,
    }


def phone_entry_for_message(message: Message) -> JSON:
    """A text from the line, as the phone's conversation shows it."""
    return {
        "sid": message.sid,
        "sender": "line",
        "direction": message.direction,
        "from": message.from_,
        "to": message.to,
        "body": message.body,
        "status": message.status,
        "num_segments": message.num_segments,
        "num_media": message.num_media,
        "date_created": iso(message.created),
        "date_updated": iso(message.updated),
        "console_status": None,
        "console_error": None,
    }


def phone_entry_for_inbound(text: InboundText) -> JSON:
    return {
        "sid": text.sid,
        "sender": "phone",
        "direction": "inbound",
        "from": text.phone,
        "to": text.line,
        "body": text.body,
        "status": "received",
        "num_segments": text.num_segments,
        "num_media": text.num_media,
        "date_created": iso(text.created),
        "date_updated": iso(text.updated),
        "console_status": text.console_status,
        "console_error": text.console_error,
    }


def callback_json(attempt: CallbackAttempt) -> JSON:
    return {
        "id": attempt.id,
        "kind": attempt.kind,
        "sid": attempt.sid,
        "event": attempt.event,
        "method": attempt.method,
        "url": attempt.url,
        "attempt": attempt.attempt,
        "params": dict(attempt.params),
        "at": iso(attempt.at),
        "http_status": attempt.http_status,
        "error": attempt.error,
        "outcome": attempt.outcome,
    }
