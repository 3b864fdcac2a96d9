"""The plan panel's JSON API: clear answers for anything a page (or anyone else) sends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as HttpClient

from clients.models import PlanVersion, Region
from monitoring.models import Session, SessionStatus
from tests.factories import session_make

pytestmark = pytest.mark.django_db

PHONE = "+15145550123"


@pytest.fixture
def session(operator: Any) -> Session:
    return session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)


@pytest.fixture
def web(operator: Any) -> HttpClient:
    client = HttpClient()
    client.force_login(operator)
    return client


def url(session: Session, action: str = "") -> str:
    return f"/api/sessions/{session.pk}/plan/{action}"


def post(web: HttpClient, path: str, body: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return web.post(path, data, content_type="application/json")


def full_plan(region: Region) -> dict[str, Any]:
    return {
        "address": "42 Rue Sainte-Catherine",
        "entry": "Buzzer 7042",
        "region": region.pk,
        "response": "both",
        "contacts": [{"name": "Maryse", "phone": "5145550188", "agreed": True}],
        "language": "fr",
    }


def test_it_gives_the_panel_its_state(web: HttpClient, session: Session) -> None:
    Region.objects.create(name="Montréal")
    state = web.get(url(session)).json()
    assert state["ok"] and state["client"] is None and state["in_force"] is None
    assert [r["name"] for r in state["regions"]] == ["Montréal"]
    assert [p["field"] for p in state["problems"]["missing"]] == ["response"]
    assert ["ems", "EMS (the local dispatch line)"] in state["choices"]["response"]


def test_a_code_is_made_from_answers(web: HttpClient, session: Session) -> None:
    body = {
        "mode": "answers",
        "parent_first_name": "Maryse",
        "birth_month": 7,
        "birth_day": 12,
        "remember_number": True,
    }
    state = post(web, url(session, "client/"), body).json()
    assert state["client"] == {
        "id": state["client"]["id"],
        "code": "MA0712",
        "number_remembered": True,
    }


ANSWERS = {"mode": "answers", "parent_first_name": "Jo"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"mode": "answers", "birth_month": 7, "birth_day": 12}, "first name"),
        ({**ANSWERS, "birth_month": 2, "birth_day": 30}, "date"),
        ({**ANSWERS, "birth_month": "July", "birth_day": 1}, "whole number"),
        ({"mode": "random", "remember_number": "yes"}, "true or false"),
        ({"mode": "returning", "client_id": 12345}, "not known"),
        ({"mode": "guess"}, "Choose how"),
    ],
)
def test_bad_client_requests_get_a_clear_error(
    web: HttpClient, session: Session, body: dict[str, Any], message: str
) -> None:
    response = post(web, url(session, "client/"), body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_a_ready_plan_is_saved_and_returned(web: HttpClient, session: Session) -> None:
    region = Region.objects.create(name="Montréal")
    state = post(
        web, url(session, "versions/"), {"fields": full_plan(region), "ready": True}
    ).json()
    version = state["in_force"]
    assert (version["number"], version["status"]) == (1, "ready")
    assert version["fields"]["contacts"][0]["phone"] == "+15145550188"
    assert version["region_label"] == "Montréal"
    assert state["client"]["code"]  # a random code, as nobody gave answers


def test_a_plan_not_ready_says_exactly_what_is_missing(web: HttpClient, session: Session) -> None:
    response = post(web, url(session, "versions/"), {"fields": {"response": "ems"}, "ready": True})
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and "not ready" in body["error"]
    assert [p["field"] for p in body["problems"]["missing"]] == ["address", "region"]
    assert not PlanVersion.objects.exists()


def test_drafts_are_saved_as_typed(web: HttpClient, session: Session) -> None:
    typed = {"address": "42 Rue", "contacts": [{"name": "Jo", "phone": "12"}]}
    saved = post(web, url(session, "draft/"), {"fields": typed}).json()
    assert saved["ok"] and saved["saved_at"]
    assert web.get(url(session)).json()["draft"]["fields"]["contacts"][0]["phone"] == "12"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        {"fields": "42 Rue"},
        {"fields": {"address": "x" * 100_000}},
        {"fields": {"contacts": [{"phone": {"$ne": 1}}]}},
        {"fields": {"region": -1}},
        {"fields": {"address": "\udcff"}},
    ],
)
def test_malformed_requests_get_a_clear_error_never_a_500(
    web: HttpClient, session: Session, body: Any
) -> None:
    for action in ("draft/", "versions/"):
        response = post(web, url(session, action), body)
        # 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE, 400 for the rest.
        assert response.status_code in (400, 413), response.content
        assert response.json()["error"]


@pytest.mark.parametrize("ready", [None, "yes", 1])
def test_a_ready_flag_that_is_not_true_or_false_is_a_clear_error(
    web: HttpClient, session: Session, ready: Any
) -> None:
    response = post(web, url(session, "versions/"), {"fields": {}, "ready": ready})
    assert response.status_code == 400
    assert response.json()["error"] == "“Plan ready” must be true or false."


def test_confirm_and_reuse_need_a_version_number(web: HttpClient, session: Session) -> None:
    for action in ("confirm/", "reuse/"):
        response = post(web, url(session, action), {"version": "latest"})
        assert response.status_code == 400
        conflict = post(web, url(session, action), {"version": 999})
        assert conflict.status_code == 409


def test_only_the_operator_of_the_session_may_use_it(
    session: Session, operator2: Any, outsider: Any
) -> None:
    for user in (operator2, outsider):
        web = HttpClient()
        web.force_login(user)
        assert web.get(url(session)).status_code == 403
        assert post(web, url(session, "draft/"), {"fields": {}}).status_code == 403
    assert HttpClient().get(url(session)).status_code == 401


def test_a_missing_session_is_a_404(web: HttpClient) -> None:
    assert web.get("/api/sessions/999/plan/").status_code == 404


def test_the_wrong_method_is_refused(web: HttpClient, session: Session) -> None:
    assert web.post(url(session)).status_code == 405
    assert web.get(url(session, "versions/")).status_code == 405


def test_plan_steps_show_on_the_supervisors_timeline(
    web: HttpClient, session: Session, supervisor: Any
) -> None:
    region = Region.objects.create(name="Montréal")
    state = post(
        web, url(session, "versions/"), {"fields": full_plan(region), "ready": True}
    ).json()
    post(web, url(session, "confirm/"), {"version": state["in_force"]["id"]})
    reviewer = HttpClient()
    reviewer.force_login(supervisor)
    page = reviewer.get(f"/review/sessions/{session.pk}/").content.decode()
    code = state["client"]["code"]
    assert f"Client code {code}" in page
    assert "Plan version put in force" in page and "Version 1, ready" in page
    assert "Plan read back and confirmed" in page
    assert "Sainte-Catherine" not in page  # the timeline shows steps, not personal data


def test_the_admin_lists_plan_versions_without_their_details(
    web: HttpClient, session: Session, supervisor: Any
) -> None:
    region = Region.objects.create(name="Montréal")
    post(web, url(session, "versions/"), {"fields": full_plan(region), "ready": True})
    admin = HttpClient()
    admin.force_login(supervisor)
    version = PlanVersion.objects.get()
    for page in ("/admin/clients/planversion/", f"/admin/clients/planversion/{version.pk}/change/"):
        response = admin.get(page)
        assert response.status_code == 200
        assert version.client.code in response.content.decode()
        assert b"Sainte-Catherine" not in response.content
        assert b"5145550188" not in response.content


def test_supervisors_keep_the_regions_and_operators_cannot(supervisor: Any, operator: Any) -> None:
    admin = HttpClient()
    admin.force_login(supervisor)
    response = admin.post("/admin/clients/region/add/", {"name": "Gatineau", "active": "on"})
    assert response.status_code == 302
    assert Region.objects.filter(name="Gatineau", active=True).exists()
    region = Region.objects.get(name="Gatineau")
    assert admin.post(f"/admin/clients/region/{region.pk}/delete/").status_code == 403
    staff_operator = HttpClient()
    operator.is_staff = True
    operator.save()
    staff_operator.force_login(operator)
    assert staff_operator.get("/admin/clients/region/").status_code == 403
