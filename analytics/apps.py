from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    """Public-health analytics (issue 13): de-identified counts, spike alerts and data
    briefs. It reads the apps below and never holds personal data."""

    name = "analytics"
    verbose_name = _("Public-health analytics")
