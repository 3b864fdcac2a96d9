"""Supervisors' admin. Personal data is left out: full numbers are only seen through the
audited reveal on the dashboard."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from monitoring.models import PersonalDataAccess, Session, SessionEvent
from nors.lib.admin import ReadOnlyAdmin


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "status",
        "channel",
        "operator",
        "opened_at",
        "ended_at",
        "outcome",
        "timeline_link",
    )
    list_filter = ("status", "outcome", "channel")
    fields = (
        "status",
        "channel",
        "operator",
        "language",
        "outcome",
        "opened_at",
        "claimed_at",
        "ended_at",
        "timeline_link",
    )
    readonly_fields = fields

    @admin.display(description=_("Timeline"))
    def timeline_link(self, obj: Session) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("session-timeline", args=[obj.pk]), _("Open timeline")
        )


@admin.register(SessionEvent)
class SessionEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "session", "kind", "old_status", "new_status", "actor")
    list_filter = ("kind",)


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "session", "field", "reason")
    list_filter = ("field",)
