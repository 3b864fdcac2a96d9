"""Reads of the outbox, as the screens above show them."""

from __future__ import annotations

from typing import Any

from telephony.models import PROBLEM_STATUSES, OutboundSMS


def delivery_dict(outbound: OutboundSMS) -> dict[str, Any]:
    return {
        "status": outbound.status,
        "label": str(outbound.get_status_display()),
        "problem": outbound.status in PROBLEM_STATUSES,
        "error_code": outbound.error_code,
    }
