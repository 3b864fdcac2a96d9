"""The apps above fill telephony's and monitoring's registries in their AppConfig.ready()."""

from __future__ import annotations

import pytest

from monitoring.hooks import Hook, hooks
from telephony.handlers import Event, registered
from telephony.models import Purpose

# Without a handler for these, a bounced prompt, an unreachable contact or a key press on the
# alarm call would change nothing: the ladder would wait when it should move.
NEEDED = [
    (Event.UNDELIVERABLE, Purpose.CHECKIN_PROMPT, "monitoring.handlers"),
    (Event.UNDELIVERABLE, Purpose.ALARM_REPROMPT, "dispatch.handlers"),
    (Event.UNDELIVERABLE, Purpose.CONTACT_ALERT, "dispatch.handlers"),
    (Event.CALL_ENDED, Purpose.CLIENT_CHECK, "dispatch.handlers"),
    (Event.CALL_ENDED, Purpose.CONTACT_ALERT, "dispatch.handlers"),
    (Event.KEY_PRESSED, Purpose.CLIENT_CHECK, "dispatch.handlers"),
    # Without these the operator's screen would not show the dispatch call's legs move.
    (Event.CALL_PROGRESS, Purpose.DISPATCH_OPERATOR, "dispatch.handlers"),
    (Event.CALL_PROGRESS, Purpose.DISPATCH_LINE, "dispatch.handlers"),
    *[
        (Event.DELIVERY, purpose, "monitoring.handlers")
        for purpose in (
            Purpose.CLIENT_REPLY,
            Purpose.CLIENT_AUTOMATIC,
            Purpose.CHECKIN_PROMPT,
            Purpose.ALARM_REPROMPT,
        )
    ],
]


@pytest.mark.parametrize(("event", "purpose", "module"), NEEDED)
def test_each_send_that_matters_has_its_handler(
    event: Event, purpose: Purpose, module: str
) -> None:
    assert module in {handler.__module__ for handler in registered(event, purpose)}


@pytest.mark.parametrize("hook", list(Hook))
def test_every_monitoring_hook_has_a_handler(hook: Hook) -> None:
    assert [handler.__module__ for handler in hooks.handlers(hook)] == ["dispatch.handlers"]


def test_registering_again_adds_no_second_copy() -> None:
    from dispatch import handlers
    from telephony.handlers import register

    before = registered(Event.CALL_ENDED, Purpose.CLIENT_CHECK)
    register(Event.CALL_ENDED, Purpose.CLIENT_CHECK)(handlers.call_ended)
    assert registered(Event.CALL_ENDED, Purpose.CLIENT_CHECK) == before
