"""Publishing to dashboards. Events only speed up what a reload would show anyway."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"


def session_group(session_id: int) -> str:
    return f"session-{session_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def _send(group: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "dashboard.event", "payload": payload})
    except Exception:
        # The channel layer delivers at most once anyway; a dashboard catches up on resync.
        log.exception("could not publish %s to %s", payload.get("type"), group)


def publish(group: str, payload: dict[str, Any]) -> None:
    """Send after the transaction commits, so no dashboard sees what might roll back."""
    transaction.on_commit(lambda: _send(group, payload))
