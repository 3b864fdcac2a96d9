from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Client(models.Model):
    """A person known to the line by a code, never by name."""

    code = models.CharField(_("client code"), max_length=16, unique=True)
    # Set for codes built from answers; empty for random codes.
    base_code = models.CharField(max_length=8, blank=True, db_index=True)
    # Keyed hashes: a returning client is found by answers or number without storing either.
    answers_index = models.CharField(max_length=64, null=True, blank=True, unique=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")

    def __str__(self) -> str:
        return self.code
