"""Words a client can text to the line, kept apart from the carrier's own.

Twilio and the carriers act on opt-out words before the console sees them: a client who texts
STOP is unsubscribed from the line's number. The line's commands must never be one of them.
"""

from __future__ import annotations

CARRIER_OPT_OUT_WORDS = frozenset(
    {"STOP", "END", "CANCEL", "QUIT", "UNSUBSCRIBE", "STOPALL", "OPTOUT", "REVOKE"}
)
# Carrier opt-in and help words are also taken by Twilio's default handling.
CARRIER_RESERVED_WORDS = CARRIER_OPT_OUT_WORDS | {"START", "UNSTOP", "YES", "HELP", "INFO"}

# The line's own commands, by language. Texting one of these ends check-ins.
LINE_KEYWORDS: dict[str, frozenset[str]] = {
    "en": frozenset({"DONE", "SAFE", "ALL DONE", "I'M DONE", "IM DONE"}),
    "fr": frozenset({"FINI", "TERMINE", "TERMINÉ", "C'EST FINI"}),
}
ENDS_MONITORING = frozenset(word for words in LINE_KEYWORDS.values() for word in words)


def ends_monitoring(body: str) -> bool:
    return normalise(body) in ENDS_MONITORING


def keyword_collisions(keywords: dict[str, frozenset[str]]) -> set[str]:
    words = {word.upper() for group in keywords.values() for word in group}
    return words & CARRIER_RESERVED_WORDS


def normalise(body: str) -> str:
    return body.strip().strip(".!").upper()
