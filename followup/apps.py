from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupConfig(AppConfig):
    """Post-overdose follow-up (issue 12): with consent, outreach 24 to 72 hours after an
    overdose, on the same durable timers and outbox; and the resource directory."""

    name = "followup"
    verbose_name = _("Post-overdose follow-up")
