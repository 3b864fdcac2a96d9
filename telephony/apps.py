from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelephonyConfig(AppConfig):
    """Twilio's plumbing: the gateway, the outbox, webhooks and TwiML. It knows nothing of
    sessions or ladders; it tells the apps above through `telephony.handlers`."""

    name = "telephony"
    verbose_name = _("Telephony")
