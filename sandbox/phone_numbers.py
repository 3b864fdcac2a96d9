"""Phone number rules the sandbox enforces the way Twilio does."""

from __future__ import annotations

import re

import phonenumbers

E164 = re.compile(r"\+[1-9]\d{1,14}")

# Twilio's reserved test numbers. Honouring them lets the console's tests reach the
# error paths it must handle without configuring anything.
MAGIC_SMS_ERRORS: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (
        21612,
        "The 'To' phone number: +15005550002, is not currently reachable using the "
        "'From' phone number via SMS.",
    ),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by "
        "the 'To' number: +15005550003.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number +15005550009 is not a valid mobile number"),
}
MAGIC_CALL_ERRORS: dict[str, tuple[int, str]] = {
    "+15005550001": (21217, "Phone number +15005550001 does not appear to be valid"),
    "+15005550002": (21214, "'To' phone number +15005550002 cannot be reached"),
    "+15005550003": (21215, "Account not authorized to call +15005550003."),
}
# The one From number Twilio's test credentials accept besides your own.
MAGIC_VALID_FROM = "+15005550006"


def is_e164(value: str) -> bool:
    return E164.fullmatch(value) is not None


def country_of(number: str) -> str:
    """ISO country, as Twilio fills FromCountry/ToCountry; empty when unknown."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return ""
    return "" if region in (None, "ZZ") else region


def national_format(number: str) -> str:
    """How Twilio shows a number in a Call's from_formatted/to_formatted."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
