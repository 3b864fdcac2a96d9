"""Publishing to dashboards. Events only speed up what a reload would show anyway.

With Redis, events leave through one background thread per process, batched by group, so a
request never waits on Redis and a transaction's events travel together. The in-memory layer
only works inside daphne's own event loop, so there events are sent inline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from collections import defaultdict
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"
EVENT_TYPE = "dashboard.events"
MAX_BATCH = 200


def session_group(session_id: int) -> str:
    return f"session-{session_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


CLOSE_EVENT = "close"


def _message(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": EVENT_TYPE, "payloads": payloads}


class _Publisher:
    """One thread and one event loop per process, started on first use (also after a fork)."""

    def __init__(self) -> None:
        self.items: queue.SimpleQueue[tuple[str, dict[str, Any]]] = queue.SimpleQueue()
        self.pid = 0
        self.lock = threading.Lock()

    def put(self, group: str, payload: dict[str, Any]) -> None:
        self._ensure_running()
        self.items.put((group, payload))

    def _ensure_running(self) -> None:
        with self.lock:
            if self.pid == os.getpid():
                return
            self.items = queue.SimpleQueue()
            self.pid = os.getpid()
            threading.Thread(target=self._run, name="realtime-publisher", daemon=True).start()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        items = self.items
        while True:
            batch = [items.get()]
            while len(batch) < MAX_BATCH and not items.empty():
                batch.append(items.get_nowait())
            loop.run_until_complete(self._send(batch))

    async def _send(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for group, payload in batch:
            by_group[group].append(payload)
        layer = get_channel_layer()
        for group, payloads in by_group.items():
            try:
                await layer.group_send(group, _message(payloads))
            except Exception:
                # At most once, like the channel layer itself: dashboards catch up on resync.
                log.exception("could not publish %d events to %s", len(payloads), group)


_publisher = _Publisher()


def _uses_redis() -> bool:
    return "CONFIG" in settings.CHANNEL_LAYERS["default"]


def _send_inline(group: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, _message([payload]))
    except Exception:
        log.exception("could not publish %s to %s", payload.get("type"), group)


def publish(group: str, payload: dict[str, Any]) -> None:
    """Send after the transaction commits, so no dashboard sees what might roll back."""
    send = _publisher.put if _uses_redis() else _send_inline
    transaction.on_commit(lambda: send(group, payload))


def user_sockets_close(user_id: int) -> None:
    """Tells every dashboard this user has open to close: the account can no longer use them."""
    publish(user_group(user_id), {"type": CLOSE_EVENT})
