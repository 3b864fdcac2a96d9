"""Masking phone numbers in free text (Twilio's errors, log lines) before it is kept anywhere."""

from __future__ import annotations

import logging
import re

import phonenumbers

MASK = "•••"
# Any run of 7 or more digits, whatever separates them: what the matcher below misses.
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s().\-]*\d){6,}")
_REGIONS = ("CA", "US", "FR")


def phone_numbers_mask(text: str) -> str:
    """The text with anything that looks like a phone number replaced by a mask."""
    for region in _REGIONS:
        text = _mask_matches(text, region)
    return _DIGIT_RUN.sub(MASK, text)


def _mask_matches(text: str, region: str) -> str:
    matches = list(
        phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
    )
    for match in reversed(matches):
        text = text[: match.start] + MASK + text[match.end :]
    return text


class PhoneNumberFilter(logging.Filter):
    """Defense in depth: whatever a log call was given, no phone number reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record still goes out, unformatted, as logging would
            return True
        record.msg = phone_numbers_mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = phone_numbers_mask(record.exc_text)
        return True
