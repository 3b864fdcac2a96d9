from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from monitoring.watchdog import Watchdog


class Command(BaseCommand):
    help = (
        "Watches the timer sweeper's heartbeat and texts the supervisor on call if it stops. "
        "Runs as its own process, independent of Celery."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=float, default=5.0, help="seconds between looks")
        parser.add_argument("--once", action="store_true", help="look once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        watchdog = Watchdog(started_at=timezone.now())
        while True:
            result = watchdog.look()
            if options["once"]:
                self.stdout.write(result)
                return
            time.sleep(options["every"])
            # A database restart must not leave the watchdog holding a dead connection.
            close_old_connections()
