"""The timer sweeper and a worker's sends, run by hand for tests of the ladder.

A prompt holds its deadline until it has left for Twilio (see `checkins._answer_deadline`), so
a test that wants a silent client to be alarmed must also let the worker send the prompt. Tests
using these need the `sandbox` fixture: the texts go to the in-process Twilio sandbox.
"""

from __future__ import annotations

from monitoring import timers
from telephony import outbox as services
from telephony.models import OutboundSMS, OutboundStatus


def texts_leave() -> None:
    """What a worker does with the outbox: every queued text goes to Twilio now."""
    queued = OutboundSMS.objects.filter(status=OutboundStatus.QUEUED).order_by("pk")
    for pk in queued.values_list("pk", flat=True):
        services.sms_send(outbound_id=pk)


def sweep(*, send: bool = True) -> dict[str, int]:
    """One sweep, then (unless an overloaded worker is the point) the texts it queued leave."""
    counts = timers.timers_sweep()
    if send:
        texts_leave()
    return counts
