"""Plans in a session: codes linked, versions kept, the version in force recorded, consent asked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from clients import codes
from clients.models import Client, PlanContact, PlanVersion, Region
from clients.plans import Contact, PlanFields
from clients.selectors import readback_text
from monitoring import plan_selectors as selectors
from monitoring import plans as services
from monitoring import services as monitoring_services
from monitoring.models import (
    PersonalDataAccess,
    PlanDraft,
    PlanInForce,
    Session,
    SessionEvent,
    SessionStatus,
)
from tests.factories import session_make

pytestmark = pytest.mark.django_db

PHONE = "+15145550123"
SISTER = Contact(name="Maryse", phone="514 555 0188", relationship="sister", agreed=True)


@pytest.fixture
def region() -> Region:
    return Region.objects.create(name="Montréal")


@pytest.fixture
def session(operator: Any) -> Session:
    return session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)


def ready_plan(region: Region, **changes: Any) -> PlanFields:
    values: dict[str, Any] = {
        "address": "42 Rue Sainte-Catherine",
        "unit": "7",
        "entry": "Buzzer 7042, door unlocked",
        "region": region.pk,
        "response": "both",
        "contacts": (SISTER,),
        "naloxone": "yes",
    }
    return PlanFields(**{**values, **changes})


def save(session: Session, user: Any, fields: PlanFields, *, ready: bool = True) -> Session:
    return services.plan_version_save(session_id=session.pk, user=user, fields=fields, ready=ready)


def kinds(session: Session) -> list[str]:
    return list(SessionEvent.objects.filter(session=session).values_list("kind", flat=True))


# -- versions ----------------------------------------------------------------------------------


def test_every_save_makes_a_new_version_and_keeps_the_old_ones(
    session: Session, operator: Any, region: Region
) -> None:
    save(session, operator, ready_plan(region))
    save(session, operator, ready_plan(region, unit="8"))
    session = save(session, operator, ready_plan(region, unit="9"))
    versions = PlanVersion.objects.filter(client=session.client).order_by("number")
    assert [(v.number, v.unit) for v in versions] == [(1, "7"), (2, "8"), (3, "9")]
    assert session.plan_version == versions[2]
    assert kinds(session).count("plan_in_force") == 3


def test_the_session_records_which_version_was_in_force_at_each_moment(
    session: Session, operator: Any, region: Region
) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        save(session, operator, ready_plan(region))
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        save(session, operator, ready_plan(region, unit="8"))
    at = selectors.plan_in_force_at
    assert at(session=session, at=start - timedelta(seconds=1)) is None
    first = at(session=session, at=start + timedelta(minutes=4))
    second = at(session=session, at=start + timedelta(minutes=6))
    assert first is not None and second is not None
    assert (first.number, second.number) == (1, 2)
    assert PlanInForce.objects.filter(session=session).count() == 2


def test_a_plan_without_a_client_code_gets_a_random_one(
    session: Session, operator: Any, region: Region
) -> None:
    session = save(session, operator, ready_plan(region))
    assert session.client is not None and session.client.answers_index is None
    assert not session.client.phone_index  # the number is only remembered when they agree


def test_a_plan_that_is_not_ready_is_refused_as_ready_with_what_is_missing(
    session: Session, operator: Any
) -> None:
    with pytest.raises(services.PlanRefused) as refused:
        save(session, operator, PlanFields(response="both"))
    fields = [p.field for p in refused.value.problems.missing]
    assert fields == ["address", "region", "contacts"]
    assert not PlanVersion.objects.exists()


def test_a_plan_that_is_not_ready_can_still_be_kept_as_a_version(
    session: Session, operator: Any
) -> None:
    session = save(session, operator, PlanFields(address="42 Rue Sainte-Catherine"), ready=False)
    assert session.plan_version is not None
    assert session.plan_version.status == "incomplete"


def test_an_invalid_contact_number_is_never_stored(
    session: Session, operator: Any, region: Region
) -> None:
    bad = ready_plan(region, contacts=(Contact("Jo", "555"),))
    with pytest.raises(services.PlanRefused, match="not valid"):
        save(session, operator, bad, ready=False)
    assert not PlanVersion.objects.exists() and not PlanContact.objects.exists()


def test_contact_numbers_are_kept_in_e164(session: Session, operator: Any, region: Region) -> None:
    session = save(session, operator, ready_plan(region))
    assert session.plan_version is not None
    assert session.plan_version.contacts.get().phone == "+15145550188"


def test_an_unknown_region_is_refused(session: Session, operator: Any) -> None:
    with pytest.raises(ValueError, match="region"):
        save(session, operator, PlanFields(region=999), ready=False)


def test_the_plan_language_becomes_the_language_of_every_text(
    session: Session, operator: Any, region: Region
) -> None:
    save(session, operator, ready_plan(region, language="fr"))
    assert Session.objects.get(pk=session.pk).language == "fr"
    monitoring_services.session_reply(session_id=session.pk, user=operator, body="ok")


# -- read-back -------------------------------------------------------------------------------


def test_the_confirmation_is_recorded_on_the_version_read_back(
    session: Session, operator: Any, region: Region
) -> None:
    session = save(session, operator, ready_plan(region))
    assert session.plan_version is not None
    version_id = session.plan_version.pk
    services.plan_confirm(session_id=session.pk, user=operator, version_id=version_id)
    services.plan_confirm(session_id=session.pk, user=operator, version_id=version_id)
    version = PlanVersion.objects.get(pk=version_id)
    assert version.confirmed_at is not None and version.confirmed_by == operator
    assert kinds(session).count("plan_confirmed") == 1


def test_only_the_version_in_force_can_be_confirmed(
    session: Session, operator: Any, region: Region
) -> None:
    first = save(session, operator, ready_plan(region)).plan_version
    save(session, operator, ready_plan(region, unit="8"))
    assert first is not None
    with pytest.raises(monitoring_services.SessionConflict):
        services.plan_confirm(session_id=session.pk, user=operator, version_id=first.pk)


def test_the_read_back_is_in_the_plan_language(region: Region) -> None:
    english = readback_text(ready_plan(region))
    french = readback_text(ready_plan(region, language="fr"))
    assert "42 Rue Sainte-Catherine, 7" in english and "Maryse" in english
    assert english.startswith("Let me read your plan back")
    assert french != english and "42 Rue Sainte-Catherine, 7" in french


# -- returning clients -------------------------------------------------------------------------


def _first_visit(operator: Any, region: Region, *, remember: bool) -> Client:
    session = session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)
    services.session_client_from_answers(
        session_id=session.pk,
        user=operator,
        answers=codes.Answers("Maryse", 7, 12),
        remember_number=remember,
    )
    save(session, operator, ready_plan(region))
    monitoring_services.session_end(session_id=session.pk, user=operator, outcome="supported_safe")
    return Client.objects.get()


def test_a_returning_client_is_recognised_by_the_number_they_agreed_to_have_remembered(
    operator: Any, region: Region
) -> None:
    client = _first_visit(operator, region, remember=True)
    again = session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)
    assert selectors.returning_clients(session=again) == [client]
    state = selectors.plan_state(session=again)
    assert state["returning"][0]["code"] == "MA0712"
    assert state["returning"][0]["last_version"]["fields"]["address"] == "42 Rue Sainte-Catherine"
    assert Client.objects.filter(phone_index=PHONE).count() == 0  # an HMAC, not the number


def test_a_number_not_remembered_is_not_recognised(operator: Any, region: Region) -> None:
    _first_visit(operator, region, remember=False)
    again = session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)
    assert selectors.returning_clients(session=again) == []


def test_an_old_plan_is_only_used_again_once_the_client_agrees(
    operator: Any, region: Region
) -> None:
    client = _first_visit(operator, region, remember=True)
    again = session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)
    again = services.session_client_returning(
        session_id=again.pk, user=operator, client_id=client.pk
    )
    assert again.plan_version is None
    state = selectors.plan_state(session=again)
    assert state["in_force"] is None and state["latest"]["number"] == 1
    again = services.plan_reuse(
        session_id=again.pk, user=operator, version_id=state["latest"]["id"]
    )
    assert again.plan_version is not None and again.plan_version.number == 1
    assert "plan_in_force" in kinds(again)


def test_a_client_is_not_linked_by_a_number_they_did_not_text_from(
    operator: Any, region: Region
) -> None:
    client = _first_visit(operator, region, remember=True)
    other = session_make("+15145550999", status=SessionStatus.ACTIVE, operator=operator)
    with pytest.raises(ValueError, match="not known by this number"):
        services.session_client_returning(session_id=other.pk, user=operator, client_id=client.pk)


def test_a_session_keeps_the_code_it_was_given(session: Session, operator: Any) -> None:
    services.session_client_random(session_id=session.pk, user=operator, remember_number=False)
    with pytest.raises(services.ClientAlreadyLinked):
        services.session_client_random(session_id=session.pk, user=operator, remember_number=False)
    assert "client_linked" in kinds(session)


# -- drafts, reads and permissions -------------------------------------------------------------


def test_a_draft_keeps_what_was_typed_until_a_version_is_saved(
    session: Session, operator: Any, region: Region
) -> None:
    typed = PlanFields(address="42 Rue Sainte", contacts=(Contact("Jo", "55"),))
    result = services.plan_draft_save(session_id=session.pk, user=operator, fields=typed)
    assert "contacts.0.phone" in [p["field"] for p in result["problems"]["missing"]]
    state = services.plan_read(session_id=session.pk, user=operator)
    assert state["draft"]["fields"]["contacts"][0]["phone"] == "55"
    save(session, operator, ready_plan(region))
    assert not PlanDraft.objects.exists()


def test_a_draft_is_dropped_when_the_session_ends(session: Session, operator: Any) -> None:
    services.plan_draft_save(session_id=session.pk, user=operator, fields=PlanFields(unit="7"))
    monitoring_services.session_end(session_id=session.pk, user=operator, outcome="supported_safe")
    assert not PlanDraft.objects.exists()


def test_every_read_of_a_plan_is_recorded(session: Session, operator: Any) -> None:
    services.plan_read(session_id=session.pk, user=operator)
    services.plan_read(session_id=session.pk, user=operator)
    assert PersonalDataAccess.objects.filter(user=operator, field="plan").count() == 2


def test_another_operator_cannot_read_or_change_the_plan(
    session: Session, operator2: Any, outsider: Any, region: Region
) -> None:
    for user in (operator2, outsider):
        with pytest.raises(PermissionDenied):
            services.plan_read(session_id=session.pk, user=user)
        with pytest.raises(PermissionDenied):
            save(session, user, ready_plan(region))
    assert not PersonalDataAccess.objects.exists()


def test_a_supervisor_can_help_with_the_plan(
    session: Session, supervisor: Any, region: Region
) -> None:
    session = save(session, supervisor, ready_plan(region))
    assert session.plan_version is not None


def test_a_waiting_session_has_no_plan_until_claimed(operator: Any) -> None:
    waiting = session_make(PHONE)
    with pytest.raises(monitoring_services.SessionConflict, match="Claim"):
        services.plan_read(session_id=waiting.pk, user=operator)
