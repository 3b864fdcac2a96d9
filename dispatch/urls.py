from __future__ import annotations

from django.urls import path

from dispatch import webhooks

urlpatterns = [
    path("sms/", webhooks.sms_inbound, name="twilio-sms"),
    path("sms/status/", webhooks.sms_status, name="twilio-sms-status"),
]
