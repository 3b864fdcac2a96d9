from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from nors.lib.rekey import personal_data_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypts personal data at rest under the newest key (the first of "
        "FIELD_ENCRYPTION_KEYS). Run it after adding a key; then the old key can be removed."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        counts = personal_data_reencrypt(batch_size=options["batch_size"])
        for table, rewritten in counts.items():
            self.stdout.write(f"{table}: {rewritten} rows re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"done: {sum(counts.values())} rows in all"))
