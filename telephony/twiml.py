"""TwiML, built with the twilio library: what a call says, and how it joins a conference."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

VOICE_LANGUAGE = {"en": "en-CA", "fr": "fr-CA"}
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def say(response: Any, text: str, language: str) -> None:
    response.say(text, language=VOICE_LANGUAGE.get(language, VOICE_LANGUAGE["en"]))


def spoken(text: str, language: str) -> str:
    response = VoiceResponse()
    say(response, text, language)
    return str(response)


def repeated(text: str, language: str, *, times: int = 2) -> str:
    response = VoiceResponse()
    for _i in range(times):
        say(response, text, language)
        response.pause(length=1)
    return str(response)


def key_asked(
    *, action_path: str, ask: str, otherwise: str, language: str, seconds: int = 10
) -> str:
    """Asks for one key; Twilio posts it to `action_path`. Without one, says `otherwise`."""
    response = VoiceResponse()
    gather = Gather(
        num_digits=1,
        timeout=seconds,
        action=settings.PUBLIC_BASE_URL + action_path,
        method="POST",
    )
    say(gather, ask, language)
    response.append(gather)
    say(response, otherwise, language)
    return str(response)


def conference_joined(
    name: str, *, in_control: bool, greeting: str = "", language: str = "en"
) -> str:
    """The leg `in_control` starts the conference and ends it when it leaves."""
    response = VoiceResponse()
    if greeting:
        say(response, greeting, language)
    dial = Dial()
    dial.conference(
        name,
        start_conference_on_enter=in_control,
        end_conference_on_exit=in_control,
        beep=False,
    )
    response.append(dial)
    return str(response)
