"""Requests signed the way Twilio signs them, using the twilio library's own code."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.test import Client
from twilio.request_validator import RequestValidator


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def signature(path: str, params: dict[str, Any], token: str | None = None) -> str:
    validator = RequestValidator(token or settings.TWILIO_AUTH_TOKEN)
    return str(validator.compute_signature(settings.PUBLIC_BASE_URL + path, params))


def signed_post(client: Client, path: str, params: dict[str, Any], token: str | None = None) -> Any:
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature(path, params, token))


def inbound_params(
    body: str = "hi", phone: str = "+15145550123", sid: str | None = None
) -> dict[str, str]:
    return {
        "MessageSid": sid or new_sid(),
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
        "From": phone,
        "To": settings.TWILIO_PHONE_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
