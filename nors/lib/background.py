"""Work a request should not wait for, run on one thread per process.

Only for work whose loss is already covered: a process that dies with tasks still here loses
them, so each use names what picks up after it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)
_lock = threading.Lock()
_executor: tuple[int, ThreadPoolExecutor] | None = None


def _current() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        # A forked child (a Celery worker) inherits the object but not its thread.
        if _executor is None or _executor[0] != os.getpid():
            _executor = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="background"))
        return _executor[1]


def _log_failure(future: Future[Any]) -> None:
    if future.exception() is not None:
        log.error("background work failed", exc_info=future.exception())


def submit(fn: Callable[..., Any], *args: Any) -> None:
    _current().submit(fn, *args).add_done_callback(_log_failure)
