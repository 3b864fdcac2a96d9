from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from telephony import outbox as services
from telephony.models import OutboundSMS, OutboundStatus, Purpose, StatusCallback
from tests.twilio_helpers import new_sid, signed_post

pytestmark = pytest.mark.django_db
URL = "/twilio/sms/status/"


def _sent_sms(sid: str) -> OutboundSMS:
    sms = services.sms_queue(to="+15145550123", body="hello", purpose=Purpose.CLIENT_REPLY)
    OutboundSMS.objects.filter(pk=sms.pk).update(status=OutboundStatus.ACCEPTED, twilio_sid=sid)
    return sms


def _params(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, **extra}


def test_it_moves_the_message_to_delivered() -> None:
    sid = new_sid()
    sms = _sent_sms(sid)
    response = signed_post(Client(), URL, _params(sid, "delivered"))
    assert response.status_code == 200
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.DELIVERED


def test_it_records_a_failure_code() -> None:
    sid = new_sid()
    sms = _sent_sms(sid)
    signed_post(Client(), URL, _params(sid, "failed", ErrorCode="30008"))
    sms.refresh_from_db()
    assert (sms.status, sms.error_code) == (OutboundStatus.FAILED, "30008")


def test_a_replayed_callback_changes_nothing_and_still_answers_200() -> None:
    sid = new_sid()
    _sent_sms(sid)
    first = signed_post(Client(), URL, _params(sid, "sent"))
    again = signed_post(Client(), URL, _params(sid, "sent"))
    assert first.status_code == again.status_code == 200
    assert StatusCallback.objects.count() == 1


def test_an_unknown_sid_is_kept_for_later_and_answered_200() -> None:
    sid = new_sid()
    response = signed_post(Client(), URL, _params(sid, "delivered"))
    assert response.status_code == 200
    callback = StatusCallback.objects.get()
    assert (callback.twilio_sid, callback.applied) == (sid, False)


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"MessageStatus": "sent"}, b"MessageSid"),
        ({"MessageSid": "SM" + "a" * 32}, b"MessageStatus"),
        ({"MessageSid": "nope", "MessageStatus": "sent"}, b"MessageSid"),
        ({"MessageSid": "SM" + "a" * 32, "MessageStatus": "<b>x</b>"}, b"MessageStatus"),
        (
            {"MessageSid": "SM" + "a" * 32, "MessageStatus": "failed", "ErrorCode": "x1"},
            b"ErrorCode",
        ),
    ],
)
def test_it_answers_400_for_malformed_fields(params: dict[str, Any], problem: bytes) -> None:
    response = signed_post(Client(), URL, params)
    assert response.status_code == 400
    assert problem in response.content
    assert StatusCallback.objects.count() == 0


def test_it_refuses_an_unsigned_callback() -> None:
    sid = new_sid()
    sms = _sent_sms(sid)
    response = Client().post(URL, _params(sid, "failed"))
    assert response.status_code == 403
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.ACCEPTED


def _twilio_message_statuses() -> list[str]:
    from twilio.rest.api.v2010.account.message import MessageInstance

    enum = MessageInstance.Status
    return [value for name, value in vars(enum).items() if name.isupper()]


@pytest.mark.parametrize("status", _twilio_message_statuses())
def test_it_takes_every_status_in_the_twilio_librarys_enum(status: str) -> None:
    sid = new_sid()
    _sent_sms(sid)
    response = signed_post(Client(), URL, _params(sid, status))
    assert response.status_code == 200, (status, response.content)
    assert StatusCallback.objects.filter(twilio_sid=sid, status=status).exists()


def test_a_partially_delivered_text_reached_the_phone() -> None:
    sid = new_sid()
    sms = _sent_sms(sid)
    signed_post(Client(), URL, _params(sid, "partially_delivered"))
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.PARTIALLY_DELIVERED


def test_a_status_twilio_adds_later_is_kept_and_answered_200() -> None:
    sid = new_sid()
    sms = _sent_sms(sid)
    response = signed_post(Client(), URL, _params(sid, "teleported"))
    assert response.status_code == 200
    assert StatusCallback.objects.filter(twilio_sid=sid, status="teleported").exists()
    sms.refresh_from_db()
    assert sms.status == OutboundStatus.ACCEPTED
