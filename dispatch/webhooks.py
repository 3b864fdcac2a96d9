"""Twilio's webhooks. Check the signature first; then treat anything seen before as done."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from dispatch import calls
from dispatch import services as dispatch_services
from dispatch.models import TWILIO_TO_OUTBOUND, CallStatus
from monitoring import services as monitoring_services
from nors.lib import phones

log = logging.getLogger(__name__)

MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
ERROR_CODE = re.compile(r"^\d{1,10}$")
MAX_BODY_CHARS = 5000
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class BadWebhook(Exception):
    pass


def _text(message: str, status: int) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _twiml() -> HttpResponse:
    return HttpResponse(EMPTY_TWIML, content_type="text/xml; charset=utf-8")


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


def _field(request: HttpRequest, name: str, pattern: re.Pattern[str] | None = None) -> str:
    value = request.POST.get(name)
    if value is None or value == "":
        raise BadWebhook(f"Missing field: {name}.")
    if pattern is not None and not pattern.match(value):
        raise BadWebhook(f"Malformed field: {name}.")
    return value


def _body(request: HttpRequest) -> str:
    # NUL cannot be stored in PostgreSQL text; keep everything else exactly as sent.
    body = request.POST.get("Body", "").replace("\x00", "\ufffd")
    if len(body) > MAX_BODY_CHARS:
        raise BadWebhook(f"Body is longer than {MAX_BODY_CHARS} characters.")
    return body


@twilio_webhook
def sms_inbound(request: HttpRequest) -> HttpResponse:
    sid = _field(request, "MessageSid", MESSAGE_SID)
    try:
        phone = phones.normalize(_field(request, "From"))
    except phones.InvalidPhoneNumber as exc:
        raise BadWebhook("From is not a valid phone number.") from exc
    monitoring_services.inbound_sms_receive(sid=sid, phone=phone, body=_body(request))
    return _twiml()


@twilio_webhook
def sms_status(request: HttpRequest) -> HttpResponse:
    sid = _field(request, "MessageSid", MESSAGE_SID)
    status = _field(request, "MessageStatus").lower()
    if status not in TWILIO_TO_OUTBOUND and status not in {"received", "receiving"}:
        raise BadWebhook("Unknown MessageStatus.")
    error_code = request.POST.get("ErrorCode", "")
    if error_code and not ERROR_CODE.match(error_code):
        raise BadWebhook("Malformed field: ErrorCode.")
    dispatch_services.status_callback_record(sid=sid, status=status, error_code=error_code)
    return _twiml()


CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
ANSWERED_BY = re.compile(r"^[a-z_]{1,24}$")
DIGITS = re.compile(r"^[0-9*#]{0,8}$")
CALL_ID = re.compile(r"[0-9]{1,18}")


def _say_twiml(text: str, language: str) -> HttpResponse:
    response = VoiceResponse()
    response.say(text, language=calls.VOICE_LANGUAGE.get(language, "en-CA"))
    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")


@twilio_webhook
def call_status(request: HttpRequest) -> HttpResponse:
    sid = _field(request, "CallSid", CALL_SID)
    status = _field(request, "CallStatus").lower()
    if status not in CallStatus.values:
        raise BadWebhook("Unknown CallStatus.")
    answered_by = request.POST.get("AnsweredBy", "")
    if answered_by and not ANSWERED_BY.match(answered_by):
        raise BadWebhook("Malformed field: AnsweredBy.")
    calls.call_status_record(sid=sid, status=status, answered_by=answered_by)
    return _twiml()


@twilio_webhook
def call_gather(request: HttpRequest) -> HttpResponse:
    call_id = request.GET.get("call", "")
    # Not str.isdigit(): it passes "²", which int() refuses. 18 digits fit the id column.
    if not CALL_ID.fullmatch(call_id):
        raise BadWebhook("Missing or malformed call.")
    digits = request.POST.get("Digits", "")
    if not DIGITS.match(digits):
        raise BadWebhook("Malformed field: Digits.")
    call = calls.gather_record(call_id=int(call_id), digits=digits) if digits else None
    if call is None or call.session is None:
        return _twiml()
    language = call.session.language
    with translation.override(language):
        text = gettext("Thank you. We will let your operator know you are OK.")
    return _say_twiml(text, language)
