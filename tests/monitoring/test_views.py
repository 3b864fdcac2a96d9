from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from monitoring import services
from monitoring.models import Outcome, SessionStatus
from tests.factories import session_make

pytestmark = pytest.mark.django_db


def _client(user: Any = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _post(client: Client, url: str, data: Any = None) -> Any:
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def test_the_dashboard_sends_visitors_to_log_in() -> None:
    response = _client().get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_dashboard_is_closed_to_outsiders(outsider: Any) -> None:
    assert _client(outsider).get("/").status_code == 403


def test_the_dashboard_opens_for_operators(operator: Any) -> None:
    response = _client(operator).get("/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies


def test_the_login_page_is_translated_to_french() -> None:
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Mot de passe" in response.content.decode()


def test_claim_answers_409_to_the_operator_who_lost(operator: Any, operator2: Any) -> None:
    session = session_make()
    assert _post(_client(operator), f"/api/sessions/{session.pk}/claim/").status_code == 200
    response = _post(_client(operator2), f"/api/sessions/{session.pk}/claim/")
    assert response.status_code == 409
    assert response.json() == {
        "ok": False,
        "error": "Another operator has already claimed this session.",
    }


def test_actions_answer_clear_errors(operator: Any) -> None:
    client = _client(operator)
    assert _post(client, "/api/sessions/999/claim/").status_code == 404
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    bad_json = client.post(
        f"/api/sessions/{session.pk}/reply/", b"{not json", content_type="application/json"
    )
    assert bad_json.status_code == 400
    assert _post(client, f"/api/sessions/{session.pk}/reply/", {"body": 5}).status_code == 400
    assert _post(client, f"/api/sessions/{session.pk}/end/", {"outcome": "x"}).status_code == 400
    assert _post(client, f"/api/sessions/{session.pk}/transfer/", {"to": "x"}).status_code == 400
    assert client.get(f"/api/sessions/{session.pk}/claim/").status_code == 405


def test_actions_need_a_login() -> None:
    session = session_make()
    response = _post(_client(), f"/api/sessions/{session.pk}/claim/")
    assert response.status_code == 401


def test_actions_are_refused_to_outsiders(outsider: Any) -> None:
    session = session_make()
    assert _post(_client(outsider), f"/api/sessions/{session.pk}/claim/").status_code == 403


def test_a_reply_returns_the_queued_message(operator: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    response = _post(_client(operator), f"/api/sessions/{session.pk}/reply/", {"body": "Hi 👋"})
    assert response.status_code == 200
    message = response.json()["message"]
    assert message["body"] == "Hi 👋" and message["delivery"]["status"] == "queued"


def test_the_actions_need_the_csrf_token(operator: Any) -> None:
    session = session_make()
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert _post(client, f"/api/sessions/{session.pk}/claim/").status_code == 403


def test_supervisors_read_the_timeline(supervisor: Any, operator: Any) -> None:
    session = services.session_claim(session_id=session_make().pk, user=operator)
    services.session_end(session_id=session.pk, user=operator, outcome=Outcome.RESOURCES)
    response = _client(supervisor).get(f"/review/sessions/{session.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("Claimed by an operator") < page.index("Session ended")
    assert "+15145550123" not in page


@pytest.mark.parametrize("persona", ["operator", "outsider"])
def test_only_supervisors_read_the_timeline(persona: str, request: Any) -> None:
    user = request.getfixturevalue(persona)
    session = session_make()
    assert _client(user).get(f"/review/sessions/{session.pk}/").status_code == 403
    assert _client(user).get("/review/").status_code == 403


def test_the_timeline_names_states_in_the_readers_language(supervisor: Any, operator: Any) -> None:
    session = services.session_claim(session_id=session_make().pk, user=operator)
    client = _client(supervisor)
    page = client.get(f"/review/sessions/{session.pk}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Prise en charge" in page.content.decode()
    assert "waiting →" not in page.content.decode()
