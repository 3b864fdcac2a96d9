"""The sandbox's own API: listing traffic, number behaviour, reset, and the phone page."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from tests.sandbox.helpers import CLIENT, LINE, TOKEN, Console, Sandbox

OTHER = "+15145550199"


async def delivered(box: Sandbox, count: int) -> None:
    for _ in range(300):
        messages = box.runtime.state.messages()
        if len(messages) >= count and all(m["status"] == "delivered" for m in messages):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("messages were not delivered")


async def test_it_lists_what_the_console_sent(box: Sandbox, console: Console) -> None:
    await box.create_message(Body="one", StatusCallback=console.url("/s/"))
    await box.create_message(Body="two", To=OTHER)
    await delivered(box, 2)
    status, body = await box.api("GET", "/sandbox/api/messages")
    assert status == 200 and [m["body"] for m in body["messages"]] == ["one", "two"]
    assert body["messages"][0]["status_callback"] == console.url("/s/")
    _, only_other = await box.api("GET", f"/sandbox/api/messages?to={OTHER.replace('+', '%2B')}")
    assert [m["body"] for m in only_other["messages"]] == ["two"]


async def test_it_lists_calls(box: Sandbox, console: Console) -> None:
    form = {"To": CLIENT, "From": LINE, "Url": console.url("/voice/")}
    async with box.http.post(box.rest("Calls.json"), data=form, headers=box.auth) as response:
        sid = (await response.json())["sid"]
    _, body = await box.api("GET", "/sandbox/api/calls")
    assert [c["sid"] for c in body["calls"]] == [sid]
    _, none = await box.api("GET", "/sandbox/api/calls?to=%2B15145550000")
    assert none["calls"] == []


async def test_it_lists_callback_attempts(box: Sandbox, console: Console) -> None:
    response = await box.create_message(StatusCallback=console.url("/s/"))
    sid = (await response.json())["sid"]
    await console.wait_for(lambda: len(console.received) == 2)
    _, body = await box.api("GET", f"/sandbox/api/callbacks?sid={sid}")
    attempts = body["callbacks"]
    assert [a["event"] for a in attempts] == ["sent", "delivered"]
    first = attempts[0]
    assert (first["kind"], first["url"], first["http_status"]) == (
        "message-status",
        console.url("/s/"),
        200,
    )
    assert (first["attempt"], first["outcome"], first["params"]["MessageSid"]) == (
        1,
        "delivered",
        sid,
    )


async def test_it_configures_a_number(box: Sandbox) -> None:
    status, body = await box.api("POST", f"/sandbox/api/numbers/{OTHER}", json={"call": "busy"})
    assert status == 200
    assert body == {"number": OTHER, "sms": "delivered", "call": "busy"}
    _, listing = await box.api("GET", "/sandbox/api/numbers")
    assert listing["numbers"] == [body]


@pytest.mark.parametrize(
    "payload", [{"sms": "lost"}, {"call": "delivered"}, ["sms"], {"sms": "busy"}]
)
async def test_it_refuses_an_unknown_behaviour(box: Sandbox, payload: object) -> None:
    status, body = await box.api("POST", f"/sandbox/api/numbers/{OTHER}", json=payload)
    assert status == 400 and body["error"]
    assert box.runtime.state.numbers() == []


# Slow enough that the status callbacks are still pending when the reset comes.
@pytest.mark.parametrize("config_overrides", [{"delay_ms": 40}])
async def test_reset_forgets_all_traffic(box: Sandbox, console: Console) -> None:
    await box.api("POST", f"/sandbox/api/numbers/{OTHER}", json={"sms": "failed"})
    await box.api("POST", f"/sandbox/api/phones/{CLIENT}/messages", json={"body": "hi"})
    await box.create_message(StatusCallback=console.url("/s/"))
    status, body = await box.api("POST", "/sandbox/api/reset")
    assert status == 200 and body == {"reset": True}
    state = box.runtime.state
    assert (state.messages(), state.calls(), state.callbacks()) == ([], [], [])
    assert state.conversation(CLIENT) == [] and state.numbers() == []
    # Nothing queued before the reset reaches the console afterwards.
    seen = len(console.received)
    await asyncio.sleep(0.2)
    # One incoming-text webhook and two status callbacks, had all got there first.
    assert len(console.received) == seen < 3


async def test_its_config_never_shows_the_token(box: Sandbox, console: Console) -> None:
    status, body = await box.api("GET", "/sandbox/api/config")
    assert status == 200 and body["line_number"] == LINE
    assert body["sms_webhook_url"] == console.url("/twilio/sms/")
    assert TOKEN not in str(body)


@pytest.mark.parametrize("path", ["/", "/phone/"])
async def test_it_serves_the_phone_page(box: Sandbox, path: str) -> None:
    async with box.http.get(box.base_url + path) as response:
        page = await response.text()
    assert response.status == 200
    assert "Local Twilio sandbox" in page and "not a real phone" in page
    assert 'role="log"' in page and 'aria-label="Conversation"' in page
    for asset in ("/sandbox/static/phone.js", "/sandbox/static/phone.css"):
        async with box.http.get(box.base_url + asset) as response:
            assert response.status == 200


async def test_it_says_when_each_text_and_call_arrived_to_the_microsecond(box: Sandbox) -> None:
    await box.create_message(Body="one")
    form = {"To": CLIENT, "From": LINE, "Twiml": "<Response/>"}
    async with box.http.post(box.rest("Calls.json"), data=form, headers=box.auth):
        pass
    _, messages = await box.api("GET", "/sandbox/api/messages")
    _, calls = await box.api("GET", "/sandbox/api/calls")
    for item in (messages["messages"][0], calls["calls"][0]):
        received = datetime.fromisoformat(item["received_at"])
        assert received.tzinfo is not None
        assert received.replace(microsecond=0) == parsedate_to_datetime(item["date_created"])


async def test_it_lists_only_what_arrived_since_a_time(box: Sandbox) -> None:
    await box.create_message(Body="one")
    _, first = await box.api("GET", "/sandbox/api/messages")
    cursor = first["messages"][0]["received_at"]
    await box.create_message(Body="two")
    _, since = await box.api("GET", "/sandbox/api/messages", params={"since": cursor})
    assert [m["body"] for m in since["messages"]] == ["one", "two"]
    later = datetime.fromisoformat(since["messages"][1]["received_at"]) + timedelta(microseconds=1)
    _, none = await box.api("GET", "/sandbox/api/calls", params={"since": later.isoformat()})
    assert none["calls"] == []
    _, after = await box.api("GET", "/sandbox/api/messages", params={"since": later.isoformat()})
    assert after["messages"] == []


@pytest.mark.parametrize("since", ["yesterday", "2026-11-21T10:00:00"])
async def test_it_refuses_a_since_it_cannot_place(box: Sandbox, since: str) -> None:
    status, body = await box.api("GET", "/sandbox/api/messages", params={"since": since})
    assert status == 400 and "since" in body["error"]
