"""A whole conversation and ladder, with every log record at DEBUG: no number, no message."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client as HttpClient

from clients.models import Region
from clients.plans import Contact, PlanFields
from monitoring import checkins, services
from monitoring import plans as plan_services
from monitoring.models import Session
from telephony.models import OutboundSMS
from tests.dispatch.test_ladder import GRACE, INTERVAL, WAIT, sweep_at
from tests.dispatch.test_ladder import _ladder_settings as _ladder_settings
from tests.dispatch.test_ladder import _twilio as _twilio
from tests.dispatch.test_ladder import start as start
from tests.ladder import texts_leave
from tests.twilio_helpers import inbound_params, signed_post

pytestmark = pytest.mark.django_db

PHONE = "+15145550147"
# The Twilio sandbox refuses this one with 21211, quoting it in the error message.
REJECTED = "+15005550001"
SECRETS = [
    PHONE,
    "15145550147",
    "5145550147",
    "514-555-0147",
    "514 555 0147",
    REJECTED,
    "5005550001",
    "500-555-0001",
    "Meet me behind the laundromat on Beaubien",
    "Stay with me Rosalie, I am right here",
]


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()} {record.args!r}")
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture
def logs() -> Iterator[_Everything]:
    """Every record from every logger, through the filters the project's handlers carry."""
    handler = _Everything()
    for installed in logging.root.handlers:
        for log_filter in installed.filters:
            handler.addFilter(log_filter)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    levels = {logger: logger.level for logger in [*loggers, logging.root]}
    for logger in levels:
        logger.setLevel(logging.DEBUG)
        if logger is not logging.root and not logger.propagate:
            logger.addHandler(handler)
    logging.root.addHandler(handler)
    try:
        yield handler
    finally:
        logging.root.removeHandler(handler)
        for logger, level in levels.items():
            logger.setLevel(level)
            if handler in logger.handlers:
                logger.removeHandler(handler)


def _conversation(operator: Any, start: datetime) -> Session:
    with time_machine.travel(start, tick=False):
        response = signed_post(
            HttpClient(), "/twilio/sms/", inbound_params(SECRETS[8], phone=PHONE)
        )
        assert response.status_code == 200
        session = Session.objects.get()
        services.session_claim(session_id=session.pk, user=operator)
        services.session_reply(session_id=session.pk, user=operator, body=SECRETS[9])
        texts_leave()
        plan = PlanFields(
            address="4520 rue Saint-Denis",
            region=Region.objects.create(name="Montréal").pk,
            response="both",
            order="contact_first",
            contacts=(Contact("Maryse", REJECTED, agreed=True),),
        )
        plan_services.plan_version_save(
            session_id=session.pk, user=operator, fields=plan, ready=True
        )
        checkins.monitoring_start(
            session_id=session.pk, user=operator, interval_seconds=INTERVAL, grace_seconds=GRACE
        )
    return session


def test_no_log_record_carries_a_number_or_a_message(
    operator: Any, start: datetime, logs: _Everything
) -> None:
    _conversation(operator, start + timedelta(seconds=-1))
    for seconds in (INTERVAL, INTERVAL + GRACE, INTERVAL + GRACE + WAIT):
        sweep_at(start, seconds)
    refused = next(s for s in OutboundSMS.objects.all() if s.to_phone == REJECTED)
    assert refused.error_code == "21211"  # the ladder really reached the refused number
    assert "not a valid phone number" in refused.error_message
    assert "5550001" not in refused.error_message
    assert len(logs.lines) > 5  # the capture really works
    everything = "\n".join(logs.lines)
    for secret in SECRETS:
        assert secret not in everything, secret
