from __future__ import annotations

from typing import Any

from django.db import models

from nors.lib import crypto


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token. It cannot be filtered on: use a blind index for lookups."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return crypto.encrypt(str(value))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return crypto.decrypt(value)
