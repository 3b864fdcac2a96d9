from __future__ import annotations

from django.contrib import admin

from dispatch.models import DispatchLine, OperatorPhone, OutboundSMS, Region, StatusCallback
from nors.lib.admin import ReadOnlyAdmin, SupervisorEditsAdmin


@admin.register(OutboundSMS)
class OutboundSMSAdmin(ReadOnlyAdmin):
    # Recipient and body are personal data and stay out of the admin.
    list_display = ("id", "session", "status", "twilio_sid", "attempts", "error_code", "created_at")
    list_filter = ("status",)
    fields = (
        "session",
        "status",
        "twilio_sid",
        "attempts",
        "next_attempt_at",
        "error_code",
        "error_message",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields


@admin.register(StatusCallback)
class StatusCallbackAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "twilio_sid", "status", "error_code", "applied")


@admin.register(Region)
class RegionAdmin(SupervisorEditsAdmin):
    list_display = ("name", "active")
    list_filter = ("active",)
    search_fields = ("name",)


@admin.register(DispatchLine)
class DispatchLineAdmin(SupervisorEditsAdmin):
    list_display = ("region", "name", "phone", "last_verified", "active")
    list_filter = ("active", "region")
    search_fields = ("name", "region__name")


@admin.register(OperatorPhone)
class OperatorPhoneAdmin(SupervisorEditsAdmin):
    list_display = ("user",)
