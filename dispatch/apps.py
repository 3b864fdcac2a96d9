from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Dispatch")

    def ready(self) -> None:
        # Registers what telephony and monitoring tell the ladder (dispatch.handlers).
        from dispatch import handlers  # noqa: F401
