"""Whatever a logged-in operator sends to a JSON endpoint, the answer is never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.nors import fuzzing
from tests.nors.conftest import World

pytestmark = pytest.mark.django_db

API = fuzzing.routes("api/")
WORDS = fuzzing.words([r.view for r in API])
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# Numbers at the edges of what JSON, floats, datetimes and database integers can hold.
EDGES = [
    float("inf"),
    float("-inf"),
    float("nan"),
    1e308,
    -1e308,
    5e-324,
    2**31,
    2**63,
    -(2**63) - 1,
    10**40,
]


def _scalars(ids: list[int], words: list[str]) -> st.SearchStrategy[Any]:
    return (
        st.none()
        | st.booleans()
        | st.sampled_from(ids)
        | st.integers()
        | st.floats()
        | st.sampled_from(EDGES)
        | st.sampled_from(words)
        | st.text(max_size=40)
        | st.from_regex(r"\A\d{1,30}\Z")
    )


def _values(ids: list[int], words: list[str]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(words) | st.text(max_size=12)
    return st.recursive(
        _scalars(ids, words),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=6),
        max_leaves=16,
    )


def _bodies(route: fuzzing.Route, ids: list[int]) -> st.SearchStrategy[Any]:
    """Mostly objects made of the fields this endpoint reads; sometimes anything at all."""
    fields = fuzzing.fields(route.view) or WORDS
    words = sorted({*fields, *fuzzing.reads(route.view)})
    scalars, values = _scalars(ids, words), _values(ids, words)
    known = st.dictionaries(
        st.sampled_from(fields), scalars | scalars | values, max_size=len(fields)
    )
    extra = st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=12), values, max_size=2)
    merged = st.builds(lambda a, b: {**b, **a}, known, extra)
    return merged | merged | merged | values


def _request(web: HttpClient, method: str, path: str, body: bytes) -> Any:
    # Each request in a savepoint rolled back after it, so each example starts from the world.
    with transaction.atomic():
        if method == "GET":
            response = web.get(path)
        else:
            response = web.post(path, body, content_type="application/json")
        transaction.set_rollback(True)
    return response


def _operator_web(world: World) -> HttpClient:
    web = HttpClient()
    web.force_login(world.operator)
    return web


def test_it_finds_every_json_endpoint() -> None:
    found = {r.route for r in API}
    assert {
        "api/sessions/<int:session_id>/monitoring/start/",
        "api/sessions/<int:session_id>/plan/",
        "api/sessions/<int:session_id>/alarm/acknowledge/",
        "api/sessions/<int:session_id>/reply/",
    } <= found
    assert {"interval_minutes", "escalation", "fields", "contacts", "mode"} <= set(WORDS)


@pytest.mark.parametrize("route", API, ids=[r.route for r in API])
def test_no_json_body_makes_an_endpoint_fail(world: World, route: fuzzing.Route) -> None:
    web = _operator_web(world)

    @FUZZ
    @given(
        values=fuzzing.path_values(route, world.ids),
        method=st.sampled_from(["POST", "POST", "GET"]),
        body=_bodies(route, world.ids),
    )
    def run(values: dict[str, Any], method: str, body: Any) -> None:
        response = _request(web, method, route.path(values), json.dumps(body).encode())
        assert response.status_code < 500, response.content[:500]

    run()


@FUZZ
@given(data=st.data(), body=st.binary(max_size=200))
def test_no_bytes_make_an_endpoint_fail(world: World, data: st.DataObject, body: bytes) -> None:
    route = data.draw(st.sampled_from(API))
    values = data.draw(fuzzing.path_values(route, world.ids))
    response = _request(_operator_web(world), "POST", route.path(values), body)
    assert response.status_code < 500, response.content[:500]
