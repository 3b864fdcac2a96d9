from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from monitoring.models import Direction, Message, Session, SessionEvent, SessionStatus
from telephony.models import OutboundSMS
from tests.twilio_helpers import inbound_params, new_sid, signature, signed_post

pytestmark = pytest.mark.django_db
URL = "/twilio/sms/"


@pytest.fixture
def client() -> Client:
    return Client()


def test_it_opens_a_waiting_session_and_queues_the_auto_reply(client: Client) -> None:
    response = signed_post(client, URL, inbound_params("hello, anyone there?"))
    assert response.status_code == 200
    assert b"<Response>" in response.content
    session = Session.objects.get()
    assert session.status == SessionStatus.WAITING
    assert session.client_phone == "+15145550123"
    inbound, auto = session.messages.order_by("id")
    assert inbound.body == "hello, anyone there?"
    assert auto.direction == Direction.OUTBOUND and auto.automatic
    assert "911" in auto.body
    assert auto.outbound is not None
    assert auto.outbound.to_phone == "+15145550123"
    assert SessionEvent.objects.filter(session=session, kind="opened").count() == 1


def test_it_joins_later_texts_to_the_open_session(client: Client) -> None:
    signed_post(client, URL, inbound_params("one"))
    signed_post(client, URL, inbound_params("two"))
    session = Session.objects.get()
    assert [m.body for m in session.messages.filter(direction=Direction.INBOUND)] == ["one", "two"]
    assert OutboundSMS.objects.count() == 1  # one auto-reply, not one per text


def test_it_opens_a_new_session_after_the_last_one_ended(client: Client) -> None:
    signed_post(client, URL, inbound_params("one"))
    Session.objects.update(status=SessionStatus.ENDED)
    signed_post(client, URL, inbound_params("back again"))
    assert Session.objects.count() == 2
    assert Session.objects.filter(status=SessionStatus.WAITING).count() == 1


def test_it_normalises_the_number_so_formats_match(client: Client) -> None:
    signed_post(client, URL, inbound_params("a", phone="+1 (514) 555-0123"))
    signed_post(client, URL, inbound_params("b", phone="+15145550123"))
    assert Session.objects.count() == 1


def test_it_records_a_replayed_message_sid_once(client: Client) -> None:
    params = inbound_params("only once")
    first = signed_post(client, URL, params)
    again = signed_post(client, URL, params)
    assert first.status_code == again.status_code == 200
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert OutboundSMS.objects.count() == 1


@pytest.mark.parametrize("header", [None, "", "bm90IGEgc2lnbmF0dXJl"])
def test_it_refuses_unsigned_or_forged_requests(client: Client, header: str | None) -> None:
    extra: dict[str, Any] = {} if header is None else {"HTTP_X_TWILIO_SIGNATURE": header}
    response = client.post(URL, inbound_params(), **extra)
    assert response.status_code == 403
    assert Session.objects.count() == 0


def test_it_refuses_a_request_signed_with_another_token(client: Client) -> None:
    response = signed_post(client, URL, inbound_params(), token="not-our-token")
    assert response.status_code == 403
    assert Session.objects.count() == 0


def test_it_refuses_a_signed_request_whose_body_was_changed(client: Client) -> None:
    params = inbound_params("original")
    header = signature(URL, params)
    response = client.post(URL, {**params, "Body": "tampered"}, HTTP_X_TWILIO_SIGNATURE=header)
    assert response.status_code == 403
    assert Message.objects.count() == 0


def test_it_validates_against_the_public_url_behind_a_proxy(client: Client, settings: Any) -> None:
    settings.PUBLIC_BASE_URL = "https://line.example.org"
    params = inbound_params()
    header = signature(URL, params)  # signed over the public https origin
    response = client.post(URL, params, HTTP_X_TWILIO_SIGNATURE=header, HTTP_HOST="testserver")
    assert response.status_code == 200


def test_it_includes_the_query_string_in_the_signed_url(client: Client) -> None:
    params = inbound_params()
    path = URL + "?line=main"
    response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature(path, params))
    assert response.status_code == 200
    wrong = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature(URL, params))
    assert wrong.status_code == 403


@pytest.mark.parametrize("missing", ["MessageSid", "From"])
def test_it_answers_400_for_a_missing_field(client: Client, missing: str) -> None:
    params = inbound_params()
    del params[missing]
    response = signed_post(client, URL, params)
    assert response.status_code == 400
    assert missing.encode() in response.content
    assert Message.objects.count() == 0


@pytest.mark.parametrize("sid", ["SM123", "XX" + "a" * 32, "SM" + "g" * 32, "SM" + "a" * 33])
def test_it_answers_400_for_a_malformed_message_sid(client: Client, sid: str) -> None:
    response = signed_post(client, URL, inbound_params(sid=sid))
    assert response.status_code == 400
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    "phone",
    [
        "+15555550100",  # a 555 number the library calls invalid
        "+447700900123",  # a UK drama number
        "+19995550100",  # a range newer than the library's data, as far as it knows
    ],
)
def test_it_keeps_a_text_from_a_number_the_library_rejects_and_replies(
    client: Client, phone: str
) -> None:
    response = signed_post(client, URL, inbound_params("are you there", phone=phone))
    assert response.status_code == 200
    session = Session.objects.get()
    assert session.messages.get(direction=Direction.INBOUND).body == "are you there"
    auto = session.messages.get(direction=Direction.OUTBOUND)
    assert auto.outbound is not None and auto.outbound.to_phone == session.client_phone


@pytest.mark.parametrize(
    "sender", ["12345", "262966", "VODAFONE", "Bell MTS", "12", "+999999999999999999"]
)
def test_it_keeps_a_text_from_a_short_code_or_a_name_without_replying(
    client: Client, sender: str
) -> None:
    response = signed_post(client, URL, inbound_params("hello", phone=sender))
    assert response.status_code == 200
    session = Session.objects.get()
    assert session.client_phone == sender
    assert session.status == SessionStatus.WAITING
    assert [m.body for m in session.messages.all()] == ["hello"]
    assert OutboundSMS.objects.count() == 0


def test_a_sender_that_cannot_be_texted_back_is_refused_a_reply_clearly(
    client: Client, operator: Any
) -> None:
    from monitoring import services

    signed_post(client, URL, inbound_params("hello", phone="VODAFONE"))
    session = Session.objects.get()
    services.session_claim(session_id=session.pk, user=operator)
    with pytest.raises(services.SessionConflict, match="short code or a sender name"):
        services.session_reply(session_id=session.pk, user=operator, body="hi")
    assert OutboundSMS.objects.count() == 0


def test_it_accepts_the_webhook_without_its_trailing_slash(client: Client, settings: Any) -> None:
    for debug in (True, False):
        settings.DEBUG = debug
        params = inbound_params(f"no slash, debug={debug}")
        response = signed_post(client, URL.rstrip("/"), params)
        assert response.status_code == 200, response.content
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 2


def test_the_first_reply_is_in_both_languages(client: Client) -> None:
    signed_post(client, URL, inbound_params("Bonjour, j'ai besoin d'aide"))
    auto = Message.objects.get(direction=Direction.OUTBOUND)
    assert "Call 911" in auto.body and "Faites le 911" in auto.body


def test_it_accepts_an_empty_body(client: Client) -> None:
    response = signed_post(client, URL, inbound_params(""))
    assert response.status_code == 200
    assert Message.objects.get(direction=Direction.INBOUND).body == ""


@pytest.mark.parametrize(
    "body",
    [
        "I'm ok 🙂 merci ❤️ — à bientôt",
        "x" * 1600,
        "line\nbreaks\r\nand\ttabs",
        "nul\x00byte",
        "<script>alert(1)</script>",
        "\u202eright-to-left override",
    ],
)
def test_it_keeps_odd_text_exactly(client: Client, body: str) -> None:
    response = signed_post(client, URL, inbound_params(body))
    assert response.status_code == 200
    stored = Message.objects.get(direction=Direction.INBOUND).body
    assert stored == body.replace("\x00", "\ufffd")


def test_it_refuses_text_longer_than_any_real_sms(client: Client) -> None:
    response = signed_post(client, URL, inbound_params("y" * 5001))
    assert response.status_code == 400
    assert Message.objects.count() == 0


def test_it_answers_413_for_an_oversized_body(client: Client) -> None:
    params = inbound_params("z" * 100_000)
    response = signed_post(client, URL, params)
    assert response.status_code == 413
    assert Message.objects.count() == 0


def test_it_survives_bytes_that_are_not_utf8(client: Client) -> None:
    raw = b"MessageSid=" + new_sid().encode() + b"&From=%2B15145550123&Body=%FF%FE%C3"
    response = client.post(
        URL, raw, content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE="forged"
    )
    assert response.status_code == 403


def test_it_stores_signed_text_that_is_not_valid_utf8(client: Client) -> None:
    sid = new_sid()
    raw = b"MessageSid=" + sid.encode() + b"&From=%2B15145550123&Body=caf%E9"
    # Django decodes invalid bytes as U+FFFD; Twilio would have signed what it sent.
    params = {"MessageSid": sid, "From": "+15145550123", "Body": "caf\ufffd"}
    response = client.post(
        URL,
        raw,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature(URL, params),
    )
    assert response.status_code == 200
    assert Message.objects.get(twilio_sid=sid).body == "caf\ufffd"


def test_it_answers_json_with_400_not_500(client: Client) -> None:
    response = client.post(
        URL,
        b'{"Body": "hi"}',
        content_type="application/json",
        HTTP_X_TWILIO_SIGNATURE=signature(URL, {}),
    )
    assert response.status_code == 400


def test_it_only_accepts_post(client: Client) -> None:
    assert client.get(URL).status_code == 405


def test_a_french_line_answers_in_french_first(client: Client, settings: Any) -> None:
    settings.LANGUAGE_CODE = "fr"
    signed_post(client, URL, inbound_params("allo?"))
    auto = Message.objects.get(direction=Direction.OUTBOUND)
    assert auto.body.startswith("Ligne surdose") and "Call 911" in auto.body
    assert Session.objects.get().language == "fr"


@pytest.mark.django_db(transaction=True)
def test_a_text_that_loses_a_deadlock_is_recorded_on_the_next_attempt() -> None:
    """Twilio never resends an incoming text: a deadlock victim must not lose it."""
    from django.db import OperationalError, connection

    failures: list[str] = []

    def deadlock_once(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith("INSERT") and "monitoring_message" in sql and not failures:
            failures.append(sql)
            raise OperationalError("deadlock detected")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(deadlock_once):
        response = signed_post(Client(), "/twilio/sms/", inbound_params("still here"))
    assert response.status_code == 200 and failures
    assert Message.objects.get(direction="in").body == "still here"


def test_check_ins_cannot_start_for_a_sender_that_cannot_be_texted(operator: Any) -> None:
    from monitoring import checkins, services
    from tests.factories import session_make

    session = session_make("VODAFONE", status=SessionStatus.ACTIVE, operator=operator)
    with pytest.raises(services.SessionConflict, match="short code or a sender name"):
        checkins.monitoring_start(session_id=session.pk, user=operator)
