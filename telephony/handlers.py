"""How this layer tells the apps above what became of a send, without importing them.

An app registers its handlers in its `AppConfig.ready()`, keyed by an event and the purpose of
the outbound row (`Purpose`): the check-ins hear of a bounced prompt, the ladder of a call that
found nobody. A handler runs inside the transaction that recorded the news.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from nors.lib.registry import Handler, Registry
from telephony.models import Purpose


class Event(StrEnum):
    # A text's delivery status moved (for the conversation on screen).
    DELIVERY = "delivery"
    # A text will never reach the phone: failed or undelivered.
    UNDELIVERABLE = "undeliverable"
    # A call's status moved, any move (placed, ringing, answered, ended): for the screens
    # that show a call live. The handler reads `status`.
    CALL_PROGRESS = "call_progress"
    # A call reached its last status. The handler reads how (status, answered_by, digits).
    CALL_ENDED = "call_ended"
    # A key was pressed on a call's Gather. A handler may return what the caller hears next,
    # as (text, language).
    KEY_PRESSED = "key_pressed"


sends = Registry("telephony")


def register(event: Event, *purposes: Purpose) -> Callable[[Handler], Handler]:
    return sends.register(*((event, purpose) for purpose in purposes))


def notify(event: Event, row: Any) -> list[Any]:
    return sends.notify((event, row.purpose), row)


def registered(event: Event, purpose: str) -> list[Handler]:
    return sends.handlers((event, purpose))
