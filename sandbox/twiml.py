"""Reading the TwiML the console answers with, as far as the sandbox acts on it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import NamedTuple


class GatherAction(NamedTuple):
    url: str
    method: str


def twiml_root(document: str) -> ET.Element | None:
    """The <Response> element, or None if the document is not TwiML."""
    if not document.lstrip().startswith("<"):
        return None
    try:
        # The document comes from the console this sandbox is pointed at, not the internet.
        root = ET.fromstring(document)  # noqa: S314
    except ET.ParseError:
        return None
    return root if root.tag == "Response" else None


def first_gather_action(document: str) -> GatherAction | None:
    """Where the first <Gather> with an action sends the digits; Twilio's method is POST
    unless the verb says GET."""
    root = twiml_root(document)
    if root is None:
        return None
    for gather in root.iter("Gather"):
        if action := (gather.get("action") or "").strip():
            method = "GET" if (gather.get("method") or "").upper() == "GET" else "POST"
            return GatherAction(action, method)
    return None


class ConferenceLeg(NamedTuple):
    name: str
    ends_conference: bool


def conference_joined(document: str) -> ConferenceLeg | None:
    """The conference a call's <Dial> joins, and whether this leg ends it on leaving
    (`endConferenceOnExit`)."""
    root = twiml_root(document)
    if root is None:
        return None
    for dial in root.iter("Dial"):
        for conference in dial.iter("Conference"):
            ends = (conference.get("endConferenceOnExit") or "").lower() == "true"
            return ConferenceLeg((conference.text or "").strip(), ends)
    return None
