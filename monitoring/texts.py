"""Every text the line sends by itself, in one place. Short, warm, and says what happens next."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# One SMS segment where possible: plain ASCII punctuation keeps it GSM-7.
# The first reply goes out before anyone knows the person's language: it says this in both,
# one short line each, and the two together still fit one segment.
FIRST_REPLY = _("Overdose response line: a peer will text you back soon. Emergency? Call 911.")
MONITORING_STARTED = _(
    "OK, we're with you. We'll text you every %(minutes)s min: reply anything to say you're "
    "OK. Text DONE to stop check-ins."
)
CHECKIN_PROMPT = _("Checking in: are you OK? Reply with anything.")
CHECKIN_REPROMPT = _(
    "We haven't heard from you. Please reply now, or we will follow your plan and send help."
)
MONITORING_ENDED = _("Check-ins have ended. Take care, and text us any time.")
# The client is anonymous to the line: the contact knows who named them.
CONTACT_ALERT = _(
    "Overdose response line: the person who named you as their emergency contact is not "
    "answering and may need help now. Address: %(where)s.%(entry)s Please go now, and call "
    "911 if they do not respond."
)
# Added to CONTACT_ALERT only when the plan says how to get in.
CONTACT_ENTRY = _(" Getting in: %(entry)s.")
SUPERVISOR_ALERT = _(
    "Overdose response console: an alarm on session %(session)s has not been acknowledged "
    "for %(minutes)s min."
)

TIMERS_STOPPED = _(
    "Overdose response console: the check-in timers have stopped. Alarms may not fire. "
    "Restart the timer service (Celery beat) now."
)


def render_bilingual(text: Promise, first: str, **values: Any) -> str:
    """The text in the line's own language, then in the other."""
    languages = [first] + [code for code in ("en", "fr") if code != first]
    return "\n".join(render(text, language, **values) for language in languages[:2])


def render(text: Promise, language: str, **values: Any) -> str:
    with translation.override(language):
        return str(text) % values if values else str(text)
