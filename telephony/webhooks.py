"""Twilio's webhooks. Check the signature first; then treat anything seen before as done.

Whatever Twilio delivers is kept: a 4xx tells Twilio to give up, and it never resends a text.
Only what cannot be Twilio's (a bad signature, a malformed SID) is refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from telephony import outbox, twiml
from telephony.models import INBOUND_STATUSES, TWILIO_TO_OUTBOUND, CallStatus

log = logging.getLogger(__name__)

MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
STATUS_WORD = re.compile(r"^[A-Za-z_-]{1,20}$")
ERROR_CODE = re.compile(r"^\d{1,10}$")
ANSWERED_BY = re.compile(r"^[a-z_]{1,24}$")
DIGITS = re.compile(r"^[0-9*#]{0,8}$")
CALL_ID = re.compile(r"[0-9]{1,18}")


class BadWebhook(Exception):
    pass


def _text(message: str, status: int) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def twiml_response(body: str = twiml.EMPTY) -> HttpResponse:
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


def _signature_valid(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    # Behind a TLS-terminating proxy the request Django sees is not the URL Twilio signed.
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return bool(validator.validate(url, request.POST, signature))


def twilio_webhook(view: Callable[[HttpRequest], HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        try:
            request.POST  # noqa: B018 - parse now, so an oversized body fails here
        except RequestDataTooBig:
            return _text("Request body too large.", 413)
        except SuspiciousOperation:
            return _text("Malformed request body.", 400)
        if not _signature_valid(request):
            log.warning("rejected a webhook with a missing or invalid signature")
            return _text("Invalid or missing X-Twilio-Signature.", 403)
        try:
            return view(request)
        except BadWebhook as exc:
            return _text(str(exc), 400)

    return wrapper


def field(request: HttpRequest, name: str, pattern: re.Pattern[str] | None = None) -> str:
    value = request.POST.get(name)
    if value is None or value == "":
        raise BadWebhook(f"Missing field: {name}.")
    if pattern is not None and not pattern.match(value):
        raise BadWebhook(f"Malformed field: {name}.")
    return value


def _optional(request: HttpRequest, name: str, pattern: re.Pattern[str]) -> str:
    value = request.POST.get(name, "")
    if value and not pattern.match(value):
        raise BadWebhook(f"Malformed field: {name}.")
    return value


@twilio_webhook
def sms_status(request: HttpRequest) -> HttpResponse:
    sid = field(request, "MessageSid", MESSAGE_SID)
    status = field(request, "MessageStatus", STATUS_WORD).lower()
    if status not in TWILIO_TO_OUTBOUND and status not in INBOUND_STATUSES:
        # Kept, never refused: a status Twilio adds later is stored and moves nothing.
        log.warning("a delivery report with a status we do not know: %s", status)
    error_code = _optional(request, "ErrorCode", ERROR_CODE)
    outbox.callback_record(sid=sid, status=status, error_code=error_code)
    return twiml_response()


@twilio_webhook
def call_status(request: HttpRequest) -> HttpResponse:
    sid = field(request, "CallSid", CALL_SID)
    status = field(request, "CallStatus", STATUS_WORD).lower()
    if status not in CallStatus.values:
        log.warning("a call report with a status we do not know: %s", status)
    answered_by = _optional(request, "AnsweredBy", ANSWERED_BY)
    outbox.callback_record(sid=sid, status=status, answered_by=answered_by)
    return twiml_response()


@twilio_webhook
def call_gather(request: HttpRequest) -> HttpResponse:
    call_id = request.GET.get("call", "")
    # Not str.isdigit(): it passes "²", which int() refuses. 18 digits fit the id column.
    if not CALL_ID.fullmatch(call_id):
        raise BadWebhook("Missing or malformed call.")
    digits = _optional(request, "Digits", DIGITS)
    if not digits:
        return twiml_response()
    _call, answers = outbox.key_record(call_id=int(call_id), digits=digits)
    said = [answer for answer in answers if answer]
    if not said:
        return twiml_response()
    text, language = said[0]
    return twiml_response(twiml.spoken(text, language))
