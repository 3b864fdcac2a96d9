"""What the telephony layer tells sessions and check-ins. Registered in `MonitoringConfig`."""

from __future__ import annotations

from django.utils import timezone

from monitoring import checkins
from nors.lib import realtime
from telephony.handlers import Event, register
from telephony.models import OutboundSMS, Purpose
from telephony.selectors import delivery_dict

# The texts that show in the conversation with the client.
CONVERSATION = (
    Purpose.CLIENT_REPLY,
    Purpose.CLIENT_AUTOMATIC,
    Purpose.CHECKIN_PROMPT,
    Purpose.ALARM_REPROMPT,
)


@register(Event.DELIVERY, *CONVERSATION)
def delivery_shown(sms: OutboundSMS) -> None:
    """A change of delivery status, for a dashboard with the conversation open: built from the
    row in hand, so Twilio's callbacks never read the message (or decrypt it) again."""
    if sms.session_id is None:
        return
    realtime.publish(
        realtime.session_group(sms.session_id),
        {
            "type": "delivery",
            "session_id": sms.session_id,
            "outbound_id": sms.pk,
            "delivery": delivery_dict(sms),
        },
    )


@register(Event.UNDELIVERABLE, Purpose.CHECKIN_PROMPT)
def prompt_undeliverable(sms: OutboundSMS) -> None:
    """A prompt that cannot reach the client cannot be answered: the grace period ends now,
    and the alarm goes out (it prompts again, one step at a time)."""
    checkins.checkin_hurry(outbound_id=sms.pk, now=timezone.now())
