from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nors.settings")

app = Celery("nors")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _start_tasks_send(sender: Any = None, **kwargs: Any) -> None:
    """What a worker does first on starting: see WORKER_START_TASKS."""
    for name in settings.WORKER_START_TASKS:
        app.send_task(name)
