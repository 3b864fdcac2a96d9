from __future__ import annotations

import logging

import pytest

from nors.lib.redact import PhoneNumberFilter, phone_numbers_mask

NUMBERS = [
    "+15145550199",
    "+1 514 555 0199",
    "(514) 555-0199",
    "514.555.0199",
    "514-555-0199",
    "5145550199",
    "+33 6 12 34 56 78",
    "06 12 34 56 78",
    "555-0199-12",
]


@pytest.mark.parametrize("number", NUMBERS)
def test_it_masks_a_phone_number_in_any_format(number: str) -> None:
    masked = phone_numbers_mask(f"The 'To' number {number} is not a valid phone number.")
    assert sum(c.isdigit() for c in masked) < 7
    assert masked.startswith("The 'To' number ") and masked.endswith("valid phone number.")


def test_it_leaves_short_numbers_alone() -> None:
    assert phone_numbers_mask("error 21211 after 3 attempts") == "error 21211 after 3 attempts"


def test_the_log_filter_masks_numbers_in_the_arguments() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "to %s: %s", ("+15145550199", "ok"), None
    )
    assert PhoneNumberFilter().filter(record)
    assert record.getMessage() == "to •••: ok"
