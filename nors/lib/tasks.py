"""Queueing Celery tasks for rows the database already holds.

Every task here names a row whose state is in the database (an outbox row, a check-in, a ladder
step), and a sweeper finds whatever is due. So a broker that is down only delays the work: the
failure is logged, never raised into the transaction that wrote the row.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import current_app
from django.db import transaction

from nors.lib import background

log = logging.getLogger(__name__)


def task_queue(
    task: Any, row_id: int, *, countdown: float = 0, eta: datetime | None = None
) -> None:
    """`task` is a task, or a task's name: a module can then queue a task whose own module
    imports it."""
    name = task if isinstance(task, str) else task.name
    try:
        if isinstance(task, str):
            current_app.send_task(task, (row_id,), countdown=countdown, eta=eta)
        else:
            task.apply_async((row_id,), countdown=countdown, eta=eta)
    except Exception:
        log.exception("could not queue %s for %s; the sweeper will pick it up", name, row_id)


def task_queue_on_commit(task: Any, row_id: int, *, eta: datetime | None = None) -> None:
    """After the row is committed, and off the request's path."""
    transaction.on_commit(lambda: background.submit(_queue_at, task, row_id, eta))


def _queue_at(task: Any, row_id: int, eta: datetime | None) -> None:
    task_queue(task, row_id, eta=eta)
