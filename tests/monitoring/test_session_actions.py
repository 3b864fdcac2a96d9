from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from monitoring import services
from monitoring.models import Outcome, PersonalDataAccess, SessionEvent, SessionStatus
from telephony.models import OutboundSMS
from tests.factories import session_make

pytestmark = pytest.mark.django_db


def test_it_gives_the_session_to_the_operator_who_claims_it(operator: Any) -> None:
    session = services.session_claim(session_id=session_make().pk, user=operator)
    assert session.status == SessionStatus.ACTIVE
    assert session.operator == operator
    event = SessionEvent.objects.get(session=session, kind="claimed")
    assert (event.old_status, event.new_status, event.actor) == ("waiting", "active", operator)


def test_it_tells_the_second_claimer_they_lost(operator: Any, operator2: Any) -> None:
    session = session_make()
    services.session_claim(session_id=session.pk, user=operator)
    with pytest.raises(services.SessionConflict, match="already claimed"):
        services.session_claim(session_id=session.pk, user=operator2)
    session.refresh_from_db()
    assert session.operator == operator
    assert SessionEvent.objects.filter(kind="claimed").count() == 1


def test_it_refuses_a_claim_from_an_outsider(outsider: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.session_claim(session_id=session_make().pk, user=outsider)


def test_it_puts_a_released_session_back_in_the_queue(operator: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    session = services.session_release(session_id=session.pk, user=operator)
    assert session.status == SessionStatus.WAITING
    assert session.operator is None and session.waiting_since is not None


def test_it_transfers_to_another_operator(operator: Any, operator2: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    session = services.session_transfer(session_id=session.pk, user=operator, to_user=operator2)
    assert session.operator == operator2
    event = SessionEvent.objects.get(kind="transferred")
    assert event.data == {"from_operator": operator.pk, "to_operator": operator2.pk}


def test_it_does_not_transfer_to_an_outsider(operator: Any, outsider: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    with pytest.raises(PermissionDenied):
        services.session_transfer(session_id=session.pk, user=operator, to_user=outsider)


def test_it_keeps_other_operators_out_of_my_session(operator: Any, operator2: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    with pytest.raises(PermissionDenied):
        services.session_reply(session_id=session.pk, user=operator2, body="hi")
    with pytest.raises(PermissionDenied):
        services.session_release(session_id=session.pk, user=operator2)


def test_a_supervisor_can_step_into_any_session(operator: Any, supervisor: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    services.session_reply(session_id=session.pk, user=supervisor, body="Supervisor here.")
    assert OutboundSMS.objects.count() == 1


def test_it_ends_with_an_outcome(operator: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    session = services.session_end(
        session_id=session.pk, user=operator, outcome=Outcome.SUPPORTED_SAFE
    )
    assert session.status == SessionStatus.ENDED and session.ended_at is not None
    assert SessionEvent.objects.get(kind="ended").data == {"outcome": "supported_safe"}
    with pytest.raises(services.SessionConflict):
        services.session_end(session_id=session.pk, user=operator, outcome=Outcome.OTHER)


def test_it_refuses_an_unknown_outcome(operator: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    with pytest.raises(ValueError):
        services.session_end(session_id=session.pk, user=operator, outcome="made-up")


def test_it_writes_a_reply_to_the_outbox_before_sending(operator: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    message = services.session_reply(session_id=session.pk, user=operator, body="  I'm here.  ")
    assert message.body == "I'm here."
    assert message.outbound is not None
    assert message.outbound.status == "queued"
    assert message.outbound.to_phone == session.client_phone


@pytest.mark.parametrize("body", ["", "   ", "x" * 1601])
def test_it_refuses_an_empty_or_overlong_reply(operator: Any, body: str) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    with pytest.raises(ValueError):
        services.session_reply(session_id=session.pk, user=operator, body=body)


def test_it_needs_a_claim_before_a_reply(operator: Any) -> None:
    with pytest.raises(services.SessionConflict, match="Claim this session first"):
        services.session_reply(session_id=session_make().pk, user=operator, body="hi")


def test_it_audits_every_reveal_of_the_number(operator: Any) -> None:
    session = session_make(status=SessionStatus.ACTIVE, operator=operator)
    phone = services.session_phone_reveal(session_id=session.pk, user=operator, reason="callback")
    assert phone == "+15145550123"
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.field, access.reason) == (operator, "client_phone", "callback")
    assert SessionEvent.objects.filter(kind="phone_revealed").count() == 1


def test_events_cannot_be_changed_or_deleted(operator: Any) -> None:
    session = services.session_claim(session_id=session_make().pk, user=operator)
    event = SessionEvent.objects.get(session=session)
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        SessionEvent.objects.filter(pk=event.pk).update(kind="edited")


@pytest.mark.django_db(transaction=True)
def test_exactly_one_of_many_simultaneous_claims_wins(django_user_model: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the claim race is only meaningful on PostgreSQL (set DATABASE_URL)")
    from tests.conftest import _user

    users = [_user(f"op{i}", operator=True) for i in range(8)]
    for attempt in range(5):
        session = session_make(phone=f"+1514555{attempt:04d}")
        barrier = threading.Barrier(len(users))
        results: list[str] = []

        def claim(
            user: Any, session_id: int = session.pk, gate: Any = barrier, results: Any = results
        ) -> None:
            gate.wait()
            try:
                services.session_claim(session_id=session_id, user=user)
                results.append("won")
            except services.SessionConflict:
                results.append("lost")
            finally:
                connection.close()

        threads = [threading.Thread(target=claim, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["lost"] * 7 + ["won"]
        assert SessionEvent.objects.filter(session=session, kind="claimed").count() == 1
