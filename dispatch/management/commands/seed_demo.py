from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dispatch.demo import demo_accounts_seed, demo_regions_seed


class Command(BaseCommand):
    help = "Creates the demo operator and supervisor accounts and example regions (DEBUG only)."

    def handle(self, *args: Any, **options: Any) -> None:
        for login in demo_accounts_seed():
            self.stdout.write(f"{login.role:<10} {login.username} / {login.password}")
        regions = demo_regions_seed()
        self.stdout.write(f"regions    {', '.join(regions)}")
