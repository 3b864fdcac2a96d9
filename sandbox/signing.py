"""Sign webhooks exactly as Twilio does, so the console's RequestValidator accepts them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

SIGNATURE_HEADER = "X-Twilio-Signature"

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def compute_signature(auth_token: str, url: str, params: Params = ()) -> str:
    """HMAC-SHA1 of the URL followed by every sorted name+value pair, base64-encoded."""
    payload = url + "".join(name + value for name, value in _sorted_pairs(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _sorted_pairs(params: Params) -> list[tuple[str, str]]:
    # Twilio's RequestValidator signs each distinct value of a name once, so a repeated
    # identical pair must count once here or the console would reject the webhook.
    grouped: dict[str, set[str]] = {}
    for name, value in _pairs(params):
        grouped.setdefault(name, set()).add(value)
    return [(name, value) for name in sorted(grouped) for value in sorted(grouped[name])]


def _pairs(params: Params) -> Iterable[tuple[str, str]]:
    # A multidict's items() yields every value of a repeated name, unlike dict's.
    return params.items() if isinstance(params, Mapping) else params
