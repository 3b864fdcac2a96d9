from __future__ import annotations

from monitoring import webhooks
from telephony.urls import webhook_path

urlpatterns = [*webhook_path("sms/", webhooks.sms_inbound, "twilio-sms")]
