"""Whatever Twilio (or anyone holding the token) signs and posts, the answer is never a 5xx."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.nors import fuzzing
from tests.nors.conftest import World
from tests.twilio_helpers import signature

pytestmark = pytest.mark.django_db

WEBHOOKS = fuzzing.routes("twilio/")
WORDS = fuzzing.words([r.view for r in WEBHOOKS])
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _values(world: World) -> st.SearchStrategy[str]:
    values = (
        st.sampled_from(world.sids)
        | st.sampled_from(WORDS)
        | st.builds(_sid, st.sampled_from(["SM", "MM", "CA", "AC"]))
        | st.sampled_from([str(i) for i in world.ids])
        | st.sampled_from(["+15145550123", "+15145550124", "+18005550100", "5551234", "ACME"])
        | st.from_regex(r"\A[0-9*#+]{0,20}\Z")
        | st.from_regex(r"\A\d{1,30}\Z")  # any script's digits, and past any column's range
        | st.sampled_from(["²", "١٢", "9" * 30, "-1", " 1", "12345678"])  # "²".isdigit() is true
        | st.text(max_size=60)
    )
    # A regex's `$` also matches before a final newline, and lets a value one longer through.
    return values | values.map(lambda v: v + "\n")


def _params(route: fuzzing.Route, world: World) -> st.SearchStrategy[dict[str, str]]:
    """Mostly the fields this webhook reads; sometimes others Twilio sends, or any at all."""
    fields = fuzzing.fields(route.view) or WORDS
    keys = st.sampled_from(fields) | st.sampled_from(fields) | st.text(min_size=1, max_size=12)
    return st.dictionaries(keys, _values(world), max_size=8)


def _post(path: str, params: dict[str, str]) -> Any:
    # Form-encoded, as Twilio posts; each request in a savepoint rolled back after it.
    with transaction.atomic():
        response = HttpClient().post(
            path,
            urlencode(params),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=signature(path, params),
        )
        transaction.set_rollback(True)
    return response


def test_it_finds_every_webhook() -> None:
    found = {r.route for r in WEBHOOKS}
    assert {"twilio/sms/", "twilio/sms/status/", "twilio/calls/status/"} <= found
    assert "twilio/calls/gather/" in found
    assert {"MessageSid", "From", "Body", "CallSid", "CallStatus", "Digits", "call"} <= set(WORDS)


@pytest.mark.parametrize("route", WEBHOOKS, ids=[r.route for r in WEBHOOKS])
def test_no_signed_post_makes_a_webhook_fail(world: World, route: fuzzing.Route) -> None:
    @FUZZ
    @given(
        params=_params(route, world),
        query=st.dictionaries(st.sampled_from(fuzzing.fields(route.view) or WORDS), _values(world)),
    )
    def run(params: dict[str, str], query: dict[str, str]) -> None:
        path = route.path({}) + (f"?{urlencode(query)}" if query else "")
        response = _post(path, params)
        assert response.status_code < 500, response.content[:500]
        # Signed correctly, so the webhook itself answered, not the signature check.
        assert response.status_code != 403, response.content[:500]

    run()
