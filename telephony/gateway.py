"""The one way out to Twilio (or any Twilio-compatible server, such as the local sandbox)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from nors.lib import redact

TWILIO_ORIGIN = "https://api.twilio.com"


class RedirectingHttpClient(TwilioHttpClient):
    """Sends what the twilio library would send to api.twilio.com to another origin."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO_ORIGIN):
            url = self.base_url + url[len(TWILIO_ORIGIN) :]
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str


class SendError(Exception):
    def __init__(self, message: str, *, code: str = "", temporary: bool) -> None:
        super().__init__(message)
        self.code = code
        self.temporary = temporary

    @property
    def masked_message(self) -> str:
        """The message with anything like a phone number masked: safe to store and show."""
        return redact.phone_numbers_mask(str(self))


@lru_cache(maxsize=4)
def _client(account_sid: str, auth_token: str, base_url: str, timeout: float) -> Client:
    http = RedirectingHttpClient(base_url, timeout)
    return Client(account_sid, auth_token, http_client=http)


def client() -> Client:
    return _client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE_URL,
        settings.TWILIO_HTTP_TIMEOUT,
    )


def status_callback_url(path: str) -> str:
    return settings.PUBLIC_BASE_URL + path


@contextmanager
def _twilio_errors() -> Iterator[None]:
    """Every REST call's failures, as one SendError: temporary or not, with Twilio's code."""
    try:
        yield
    except TwilioRestException as exc:
        raise _rest_error(exc) from exc
    except requests.RequestException as exc:
        raise SendError(f"could not reach Twilio: {exc}", temporary=True) from exc


def sms_send(*, to: str, body: str, status_callback: str) -> SendResult:
    with _twilio_errors():
        message = client().messages.create(
            to=to,
            from_=settings.TWILIO_PHONE_NUMBER,
            body=body,
            status_callback=status_callback,
        )
    return SendResult(sid=str(message.sid), status=str(message.status))


def _rest_error(exc: TwilioRestException) -> SendError:
    # Twilio's 4xx answers (bad number, opted out) will not change on retry; 429 and 5xx may.
    temporary = exc.status == 429 or exc.status >= 500
    return SendError(str(exc.msg), code=str(exc.code or exc.status), temporary=temporary)


def call_create(
    *, to: str, twiml: str, status_callback: str, detect_machine: bool = True
) -> SendResult:
    """Places a call that says `twiml`. Answering-machine detection tells voicemail apart."""
    options: dict[str, Any] = {"machine_detection": "Enable"} if detect_machine else {}
    with _twilio_errors():
        call = client().calls.create(
            to=to,
            from_=settings.TWILIO_PHONE_NUMBER,
            twiml=twiml,
            status_callback=status_callback,
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            **options,
        )
    return SendResult(sid=str(call.sid), status=str(call.status))


# Twilio refuses a realtime change to a call that is not in progress.
NOT_IN_PROGRESS = 21220
ENDED_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


def call_end(sid: str, *, answered: bool) -> str:
    """Hangs up a call; answers its status. `canceled` stops one still ringing; if it was
    answered meanwhile, Twilio leaves it alone (or refuses), so `completed` follows."""
    if not answered:
        status = _call_update(sid, "canceled")
        if status in ENDED_STATUSES:
            return status
    return _call_update(sid, "completed")


def _call_update(sid: str, status: str) -> str:
    try:
        with _twilio_errors():
            call = client().calls(sid).update(status=status)
    except SendError as exc:
        if exc.code != str(NOT_IN_PROGRESS):
            raise
        # Not ringing any more: answered meanwhile, or already over with nothing to hang up.
        return "in-progress" if status == "canceled" else "completed"
    return str(call.status)
