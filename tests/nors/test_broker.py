"""The embedded default's broker hands a worker only messages written whole."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from queue import Empty
from typing import Any

from kombu import Connection

MESSAGES = 200
TIMEOUT_S = 60
PAYLOAD = {"body": "x" * 2_000_000, "properties": {}}


def _connection(folder: Path, transport: str) -> Any:
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    return Connection("filesystem://", transport=transport, transport_options=options)


def _put_all(folder: Path, transport: str) -> None:
    with _connection(folder, transport) as producer:
        for _ in range(MESSAGES):
            producer.default_channel._put("q", PAYLOAD)


def _taken(folder: Path, transport: str) -> int:
    """One process puts large messages while this one takes them as fast as it can, as the
    console's processes and the worker do."""
    writer = multiprocessing.get_context("fork").Process(target=_put_all, args=(folder, transport))
    with _connection(folder, transport) as consumer:
        writer.start()
        taken, deadline = 0, time.monotonic() + TIMEOUT_S
        try:
            while taken < MESSAGES and time.monotonic() < deadline:
                try:
                    assert consumer.default_channel._get("q") == PAYLOAD
                    taken += 1
                except Empty:
                    pass
        finally:
            writer.join()
        return taken


def test_it_never_hands_over_a_message_still_being_written(tmp_path: Path) -> None:
    assert _taken(tmp_path, "nors.lib.broker:Transport") == MESSAGES
    assert not list(tmp_path.iterdir())
