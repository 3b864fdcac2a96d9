from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path

from telephony import webhooks


def webhook_path(route: str, view: Callable[..., Any], name: str) -> list[URLPattern]:
    """Each webhook also answers without its trailing slash: a redirect, or a 404 under DEBUG,
    would lose whatever Twilio posted, since Twilio follows neither."""
    return [path(route, view, name=name), path(route.rstrip("/"), view)]


urlpatterns = [
    *webhook_path("sms/status/", webhooks.sms_status, "twilio-sms-status"),
    *webhook_path("calls/status/", webhooks.call_status, "twilio-call-status"),
    *webhook_path("calls/gather/", webhooks.call_gather, "twilio-call-gather"),
]
