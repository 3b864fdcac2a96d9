from __future__ import annotations

import re

import phonenumbers
from django.conf import settings


class InvalidPhoneNumber(ValueError):
    pass


def normalize(raw: str, region: str | None = None) -> str:
    """Returns the number in E.164, or raises InvalidPhoneNumber."""
    try:
        parsed = phonenumbers.parse(raw, region or settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(str(exc)) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# What a text can be sent back to: a number in E.164. Short codes and sender names cannot.
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_SENDER_CHARS = 64


def sender_normalize(raw: str) -> str:
    """The `From` Twilio delivers is the carrier's truth, so it is never refused: a number the
    library can read is written in E.164, so the same phone always matches itself; anything else
    (a range newer than the library's data, a short code, a sender name) is kept as sent. Staff-
    typed numbers go through `normalize`, which does refuse."""
    raw = raw.strip()[:MAX_SENDER_CHARS]
    # The library reads letters as a keypad's digits: a sender name is not a vanity number.
    if any(c.isalpha() for c in raw):
        return raw
    try:
        parsed = phonenumbers.parse(raw, settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return raw
    if not phonenumbers.is_possible_number(parsed):
        return raw
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def can_receive_texts(sender: str) -> bool:
    return bool(_E164.match(sender))
