"""The JSON helper every dashboard action goes through: bad input is a 4xx, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from monitoring.models import Monitoring, Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(operator: Any) -> HttpClient:
    web = HttpClient()
    web.force_login(operator)
    return web


def start(web: HttpClient, session: Session, raw: str) -> Any:
    path = f"/api/sessions/{session.pk}/monitoring/start/"
    return web.post(path, raw, content_type="application/json")


@pytest.mark.parametrize(
    "raw",
    [
        '{"interval_minutes": Infinity}',
        '{"interval_minutes": -Infinity}',
        '{"interval_minutes": NaN}',
        '{"interval_minutes": 2, "ends_in_minutes": Infinity}',
    ],
)
def test_it_refuses_numbers_json_does_not_have(
    web: HttpClient, ready_session: Session, raw: str
) -> None:
    response = start(web, ready_session, raw)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": "The request was not valid JSON."}
    assert not Monitoring.objects.exists()


@pytest.mark.parametrize(
    "raw", ['{"interval_minutes": 1e400}', '{"interval_minutes": -1e400}', f'{{"to": {2**63}}}']
)
def test_it_refuses_numbers_no_field_can_hold(
    web: HttpClient, ready_session: Session, raw: str
) -> None:
    response = start(web, ready_session, raw)
    assert response.status_code == 400
    assert response.json()["error"] == "A number in the request is too large."
    assert not Monitoring.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        '{"interval_minutes": 1e308}',
        '{"interval_minutes": -1e308}',
        '{"interval_minutes": 2, "ends_in_minutes": 1e300}',
        '{"interval_minutes": 2, "ends_in_minutes": 4193435590}',
        '{"interval_minutes": 2, "ends_in_minutes": 721}',
    ],
)
def test_it_refuses_minutes_past_the_longest_choice(
    web: HttpClient, ready_session: Session, raw: str
) -> None:
    response = start(web, ready_session, raw)
    assert response.status_code == 400
    assert response.json()["error"] == "Give a time of at most 720 minutes."
    assert not Monitoring.objects.exists()


def test_it_still_takes_the_longest_choice(web: HttpClient, ready_session: Session) -> None:
    response = start(web, ready_session, '{"interval_minutes": 2, "ends_in_minutes": 720}')
    assert response.status_code == 200, response.content
    assert Monitoring.objects.get().ends_at is not None


@pytest.mark.parametrize("open_, close", [("[", "]"), ('{"a":', "}")])
def test_it_refuses_json_nested_too_deep(
    web: HttpClient, ready_session: Session, open_: str, close: str
) -> None:
    depth = 60_000 // len(open_ + close)  # under the 64 KiB a request may carry
    response = start(web, ready_session, open_ * depth + "1" + close * depth)
    assert response.status_code == 400
    assert response.json()["error"] == "The request was not valid JSON."


@pytest.mark.parametrize("action", ["claim/", "alarm/dispatch/", "plan/"])
def test_a_session_id_past_the_database_range_is_not_found(web: HttpClient, action: str) -> None:
    path = f"/api/sessions/{2**63}/{action}"
    response = web.get(path) if action == "plan/" else web.post(path, "{}", "application/json")
    assert response.status_code == 404
    assert response.json()["error"] == "That session does not exist."
