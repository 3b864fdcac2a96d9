from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    """Supervisors (issue 11): the live board, session review, QA flags, reports and staff
    accounts. Server-rendered pages with htmx; it reads every app below it."""

    name = "supervision"
    verbose_name = _("Supervision")
