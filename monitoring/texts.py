"""Every text the line sends by itself, in one place. Short, warm, and says what happens next."""

from __future__ import annotations

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# One SMS segment where possible: plain ASCII punctuation keeps it GSM-7.
AUTO_REPLY = _(
    "Hi, you have reached the overdose response line. A peer operator will text you "
    "back shortly. If this is an emergency, call 911."
)


def render(text: Promise, language: str) -> str:
    with translation.override(language):
        return str(text)
