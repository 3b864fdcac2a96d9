from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceConfig(AppConfig):
    """The voice line (issue 10): inbound calls into the same sessions, plans, check-ins and
    ladder as texts. It sits above dispatch and rides on telephony's outbox, webhooks and
    handler registry; it registers its handlers here, in `ready()`."""

    name = "voice"
    verbose_name = _("Voice line")
