"""Showing a client's full number: only with a reason, which is kept encrypted."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.utils import translation

from monitoring.models import PersonalDataAccess, SessionEvent, SessionStatus
from tests.factories import session_make
from tests.monitoring.test_views import _client, _post

pytestmark = pytest.mark.django_db


def _url(session_id: int) -> str:
    return f"/api/sessions/{session_id}/phone/"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_it_refuses_to_show_the_number_without_a_reason(operator: Any, reason: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    response = _post(_client(operator), _url(session.pk), {"reason": reason})
    assert response.status_code == 400
    assert "reason" in response.json()["error"]
    assert "phone" not in response.json()
    assert not PersonalDataAccess.objects.exists()
    assert not SessionEvent.objects.filter(kind="phone_revealed").exists()


def test_it_says_why_in_french(operator: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    client = _client(operator)
    with translation.override("fr"):
        response = client.post(
            _url(session.pk),
            {"reason": " "},
            content_type="application/json",
            headers={"accept-language": "fr"},
        )
    assert response.status_code == 400
    assert "raison" in response.json()["error"]


def test_it_keeps_the_reason_encrypted_and_out_of_the_event(operator: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    response = _post(_client(operator), _url(session.pk), {"reason": "  calling her back  "})
    assert response.json()["phone"] == "+15145550123"
    access = PersonalDataAccess.objects.get()
    assert access.reason == "calling her back"
    event = SessionEvent.objects.get(kind="phone_revealed")
    assert event.data == {"access": access.pk}
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM monitoring_personaldataaccess")
        assert str(cursor.fetchone()[0]).startswith("gAAAAA")
