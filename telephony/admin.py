from __future__ import annotations

from django.contrib import admin

from nors.lib.admin import ReadOnlyAdmin
from telephony.models import OutboundCall, OutboundSMS, StatusCallback

# Recipients, bodies and what calls say are personal data and stay out of the admin.
_SHOWN = (
    "purpose",
    "session_id",
    "status",
    "twilio_sid",
    "attempts",
    "next_attempt_at",
    "error_code",
    "error_message",
    "created_at",
    "updated_at",
)


@admin.register(OutboundSMS)
class OutboundSMSAdmin(ReadOnlyAdmin):
    list_display = ("id", "purpose", "session_id", "status", "attempts", "error_code", "created_at")
    list_filter = ("status", "purpose")
    fields = _SHOWN
    readonly_fields = fields


@admin.register(OutboundCall)
class OutboundCallAdmin(ReadOnlyAdmin):
    list_display = ("id", "purpose", "session_id", "status", "answered_by", "created_at")
    list_filter = ("status", "purpose")
    fields = (*_SHOWN, "answered_by", "digits")
    readonly_fields = fields


@admin.register(StatusCallback)
class StatusCallbackAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "twilio_sid", "status", "error_code", "applied")
