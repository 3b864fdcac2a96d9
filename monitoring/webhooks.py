"""The line's incoming texts, from Twilio."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from monitoring import inbound
from nors.lib import phones
from telephony.webhooks import MESSAGE_SID, BadWebhook, field, twilio_webhook, twiml_response

MAX_BODY_CHARS = 5000


def _body(request: HttpRequest) -> str:
    # NUL cannot be stored in PostgreSQL text; keep everything else exactly as sent.
    body = request.POST.get("Body", "").replace("\x00", "\ufffd")
    if len(body) > MAX_BODY_CHARS:
        raise BadWebhook(f"Body is longer than {MAX_BODY_CHARS} characters.")
    return body


@twilio_webhook
def sms_inbound(request: HttpRequest) -> HttpResponse:
    sid = field(request, "MessageSid", MESSAGE_SID)
    # Never refused: Twilio does not resend a text it got a 4xx for, and its From is the
    # carrier's truth even where the phonenumbers library disagrees.
    phone = phones.sender_normalize(field(request, "From"))
    inbound.inbound_sms_receive(sid=sid, phone=phone, body=_body(request))
    return twiml_response()
