"""twilio-python's own REST client talks to the sandbox, run the way the console's tests run it."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from sandbox.config import SandboxConfig
from sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.helpers import ACCOUNT, CLIENT, LINE, TOKEN

TWILIO = "https://api.twilio.com"


class SandboxHttpClient(TwilioHttpClient):
    """Sends the library's requests for api.twilio.com to the sandbox instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=5)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, url.replace(TWILIO, self.base_url, 1), *args, **kwargs)


@pytest.fixture
def handle() -> Iterator[SandboxHandle]:
    # Callbacks go to a port nobody listens on; these tests only look at the REST side.
    config = SandboxConfig(
        console_url="http://127.0.0.1:9",
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        delay_ms=0,
        callback_attempts=1,
    )
    with running_sandbox(config) as running:
        yield running


def client_for(handle: SandboxHandle, token: str = TOKEN) -> Client:
    return Client(ACCOUNT, token, http_client=SandboxHttpClient(handle.base_url))


def test_the_twilio_client_sends_a_text(handle: SandboxHandle) -> None:
    message = client_for(handle).messages.create(
        to=CLIENT, from_=LINE, body="Checking in", status_callback="http://127.0.0.1:9/s/"
    )
    assert message.sid is not None and message.sid.startswith("SM")
    assert (message.status, message.to, message.from_) == ("queued", CLIENT, LINE)
    assert message.num_segments == "1" and message.date_created is not None
    assert [m["sid"] for m in handle.messages(to=CLIENT)] == [message.sid]


def test_the_twilio_client_fetches_the_text_as_it_moves_on(handle: SandboxHandle) -> None:
    client = client_for(handle)
    sid = client.messages.create(to=CLIENT, from_=LINE, body="hi").sid
    assert sid is not None
    handle.wait_until(lambda: handle.messages()[0]["status"] == "delivered")
    assert client.messages(sid).fetch().status == "delivered"


def test_the_twilio_client_places_a_call(handle: SandboxHandle) -> None:
    call = client_for(handle).calls.create(
        to=CLIENT,
        from_=LINE,
        url="http://127.0.0.1:9/twilio/voice/",
        status_callback="http://127.0.0.1:9/twilio/voice/status/",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    assert call.sid is not None and call.sid.startswith("CA")
    assert call.status == "queued"
    assert [c["sid"] for c in handle.calls(to=CLIENT)] == [call.sid]
    handle.wait_until(lambda: len(handle.callbacks(sid=call.sid)) == 4)


def test_a_call_from_the_twilio_client_is_answered_with_a_key(handle: SandboxHandle) -> None:
    handle.set_number("+15145550301", call="press")
    action = "http://127.0.0.1:9/twilio/calls/gather/?call=3"
    gather = f'<Gather numDigits="1" action="{action}"><Say>OK?</Say></Gather>'
    call = client_for(handle).calls.create(
        to="+15145550301",
        from_=LINE,
        twiml=f"<Response>{gather}</Response>",
        status_callback="http://127.0.0.1:9/twilio/calls/status/",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        machine_detection="Enable",
    )
    attempts = handle.wait_until(lambda: _requests(handle, call.sid, 5))
    assert [a["kind"] for a in attempts] == ["call-status"] * 3 + ["call-gather", "call-status"]
    pressed = attempts[3]
    assert (pressed["url"], pressed["params"]["Digits"]) == (action, "1")
    assert [a["params"].get("AnsweredBy") for a in attempts if a["kind"] == "call-status"] == [
        None,
        None,
        "human",
        "human",
    ]


def _requests(handle: SandboxHandle, sid: str | None, count: int) -> list[dict[str, Any]]:
    attempts = handle.callbacks(sid=sid)
    return attempts if len(attempts) >= count else []


def test_the_twilio_client_raises_twilios_errors(handle: SandboxHandle) -> None:
    with pytest.raises(TwilioRestException) as invalid:
        client_for(handle).messages.create(to="+15005550001", from_=LINE, body="hi")
    assert (invalid.value.status, invalid.value.code) == (400, 21211)
    with pytest.raises(TwilioRestException) as unauthorised:
        client_for(handle, token="wrong").messages.create(to=CLIENT, from_=LINE, body="hi")
    assert (unauthorised.value.status, unauthorised.value.code) == (401, 20003)
    assert handle.messages() == []


def test_the_handle_drives_the_phone_and_the_numbers(handle: SandboxHandle) -> None:
    result = handle.send_text(CLIENT, "from the phone")
    assert result["console_status"] is None and result["console_error"]
    assert [m["body"] for m in handle.conversation(CLIENT)] == ["from the phone"]
    assert handle.set_number("+15145550666", sms="failed")["sms"] == "failed"
    client_for(handle).messages.create(to="+15145550666", from_=LINE, body="hi")
    failed = handle.wait_until(lambda: [m for m in handle.messages() if m["status"] == "failed"])
    assert failed[0]["error_code"] == 30008
    handle.reset()
    assert handle.messages() == [] and handle.conversation(CLIENT) == []


def test_the_handle_refuses_typos(handle: SandboxHandle) -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        handle.send_text("5145550123", "hi")
    with pytest.raises(ValueError, match="sms must be one of"):
        handle.set_number(CLIENT, sms="lost")
    assert handle.conversation("5145550123") == [] and handle.runtime.state.numbers() == []


def test_the_running_sandbox_answers_plain_http(handle: SandboxHandle) -> None:
    with urllib.request.urlopen(f"{handle.base_url}/sandbox/api/health") as response:
        assert json.load(response) == {"ok": True}
