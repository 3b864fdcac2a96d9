from __future__ import annotations

from typing import Any

from django.utils import timezone

from monitoring.models import Session, SessionStatus
from nors.lib import crypto


def session_make(
    phone: str = "+15145550123", status: str = SessionStatus.WAITING, operator: Any = None
) -> Session:
    now = timezone.now()
    return Session.objects.create(
        client_phone=phone,
        client_phone_index=crypto.blind_index(phone),
        status=status,
        operator=operator,
        opened_at=now,
        waiting_since=now if status == SessionStatus.WAITING else None,
        claimed_at=now if status == SessionStatus.ACTIVE else None,
        last_message_at=now,
    )
