from __future__ import annotations

from django.urls import path

from dispatch import webhooks

urlpatterns = [
    path("sms/", webhooks.sms_inbound, name="twilio-sms"),
    path("sms/status/", webhooks.sms_status, name="twilio-sms-status"),
    path("calls/status/", webhooks.call_status, name="twilio-call-status"),
    path("calls/gather/", webhooks.call_gather, name="twilio-call-gather"),
]
