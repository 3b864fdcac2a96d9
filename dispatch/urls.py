from __future__ import annotations

from django.urls import URLPattern, path

from dispatch import webhooks


def _webhook(route: str, view: object, name: str) -> list[URLPattern]:
    """Each webhook also answers without its trailing slash: a redirect, or a 404 under DEBUG,
    would lose whatever Twilio posted, since Twilio follows neither."""
    return [path(route, view, name=name), path(route.rstrip("/"), view)]  # type: ignore[arg-type]


urlpatterns = [
    *_webhook("sms/", webhooks.sms_inbound, "twilio-sms"),
    *_webhook("sms/status/", webhooks.sms_status, "twilio-sms-status"),
    *_webhook("calls/status/", webhooks.call_status, "twilio-call-status"),
    *_webhook("calls/gather/", webhooks.call_gather, "twilio-call-gather"),
]
