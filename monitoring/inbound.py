"""A client's text arriving: recorded once, never lost, and what it means for check-ins."""

from __future__ import annotations

import logging
import time

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from monitoring import checkins, services
from monitoring.models import Direction, Message, Session

log = logging.getLogger(__name__)

INBOUND_ATTEMPTS = 3


class _RepeatedSid(Exception):
    pass


def inbound_sms_receive(*, sid: str, phone: str, body: str) -> Message | None:
    """Records a client's text. Returns None when Twilio is repeating one we already have."""
    for attempt in range(1, INBOUND_ATTEMPTS + 1):
        try:
            return _inbound_record(sid=sid, phone=phone, body=body)
        except _RepeatedSid:
            # A MessageSid we already have (Twilio retries): the whole attempt rolled back.
            return None
        except OperationalError:
            # Twilio never resends an incoming text, so a deadlock victim or a lock timeout
            # must not lose it: the whole transaction rolled back and can run again.
            if attempt == INBOUND_ATTEMPTS or transaction.get_connection().in_atomic_block:
                raise
            log.warning("recording an inbound text failed (attempt %s); retrying", attempt)
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


@transaction.atomic
def _inbound_record(*, sid: str, phone: str, body: str) -> Message:
    now = timezone.now()
    session, opened = services.session_open_for(phone=phone, now=now)
    try:
        # Only the MessageSid's own constraint means "seen before"; any other failure is real.
        with transaction.atomic():
            message = Message.objects.create(
                session=session,
                direction=Direction.INBOUND,
                body=body,
                created_at=now,
                twilio_sid=sid,
            )
    except IntegrityError as exc:
        raise _RepeatedSid from exc
    Session.objects.filter(pk=session.pk).update(last_message_at=now, last_inbound_at=now)
    session.last_message_at = session.last_inbound_at = now
    services.message_publish(message)
    if opened:
        services.session_first_reply(session, at=now)
        services.session_publish(session)
        return message
    monitoring = checkins.inbound_during_monitoring(session=session, body=body, now=now)
    services.session_publish(session, monitoring)
    return message
