"""A text from the simulated phone reaches the console as Twilio's signed webhook."""

from __future__ import annotations

import asyncio
import json
import re

import aiohttp
import pytest

from sandbox.inbound import twiml_messages
from tests.sandbox.helpers import ACCOUNT, CLIENT, LINE, Console, Sandbox

SMS_PATH = "/twilio/sms/"


async def text_line(box: Sandbox, body: str, number: str = CLIENT, **extra: object) -> dict:
    status, result = await box.api(
        "POST", f"/sandbox/api/phones/{number}/messages", json={"body": body, **extra}
    )
    assert status == 201, result
    return result


async def test_it_posts_a_signed_webhook_to_the_console(box: Sandbox, console: Console) -> None:
    result = await text_line(box, "Ça va, juste fatigué 🙂")
    [received] = console.at(SMS_PATH)
    assert received.signed_for(console.url(SMS_PATH))
    form = received.form
    sid = result["sid"]
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    assert form["MessageSid"] == form["SmsSid"] == form["SmsMessageSid"] == sid
    assert (form["From"], form["To"], form["AccountSid"]) == (CLIENT, LINE, ACCOUNT)
    assert form["Body"] == "Ça va, juste fatigué 🙂"
    assert (form["NumMedia"], form["NumSegments"], form["SmsStatus"]) == ("0", "1", "received")
    assert (form["FromCountry"], form["ToCountry"]) == ("CA", "US")
    assert form["ApiVersion"] == "2010-04-01"
    assert "MessagingServiceSid" not in form


async def test_a_tampered_webhook_would_not_validate(box: Sandbox, console: Console) -> None:
    await text_line(box, "I'm OK")
    [received] = console.at(SMS_PATH)
    received.form["Body"] = "I'm not OK"
    assert not received.signed_for(console.url(SMS_PATH))


async def test_it_answers_with_the_consoles_status(box: Sandbox, console: Console) -> None:
    result = await text_line(box, "hello")
    assert result["console_status"] == 200 and result["console_error"] is None
    message = result["message"]
    assert (message["sid"], message["sender"], message["direction"]) == (
        result["sid"],
        "phone",
        "inbound",
    )
    assert (message["body"], message["status"], message["console_status"]) == (
        "hello",
        "received",
        200,
    )


async def test_it_shows_a_console_error_on_the_phone(box: Sandbox, console: Console) -> None:
    console.statuses = [500]
    result = await text_line(box, "hello")
    assert result["console_status"] == 500
    # Twilio does not retry an incoming-message webhook; it reports the error instead.
    assert len(console.at(SMS_PATH)) == 1
    [entry] = box.runtime.state.conversation(CLIENT)
    assert entry["console_status"] == 500


# Port 9 (discard) has nobody listening on a test machine.
@pytest.mark.parametrize("config_overrides", [{"console_url": "http://127.0.0.1:9"}])
async def test_it_reports_a_console_that_is_down(box: Sandbox, console: Console) -> None:
    result = await text_line(box, "anyone there?")
    assert result["console_status"] is None and result["console_error"]
    [attempt] = box.runtime.state.callbacks(sid=result["sid"])
    assert (attempt["kind"], attempt["outcome"]) == ("incoming-message", "failed")


async def test_it_refuses_a_number_that_is_not_e164(box: Sandbox, console: Console) -> None:
    status, body = await box.api(
        "POST", "/sandbox/api/phones/5145550123/messages", json={"body": "x"}
    )
    assert status == 400 and "E.164" in body["error"]
    assert console.received == []


async def test_it_refuses_an_empty_text(box: Sandbox, console: Console) -> None:
    status, body = await box.api("POST", f"/sandbox/api/phones/{CLIENT}/messages", json={})
    assert status == 400 and body["error"]
    status, body = await box.api("POST", f"/sandbox/api/phones/{CLIENT}/messages", data="not json")
    assert status == 400


async def test_it_sends_media_as_an_mms(box: Sandbox, console: Console) -> None:
    result = await text_line(box, "", media_count=2)
    form = console.at(SMS_PATH)[0].form
    assert result["sid"].startswith("MM") and form["NumMedia"] == "2"
    assert form["MediaContentType1"] == "image/png"
    async with box.http.get(form["MediaUrl0"]) as response:
        image = await response.read()
    assert response.status == 200 and image.startswith(b"\x89PNG\r\n\x1a\n")


async def test_it_sends_the_consoles_twiml_reply_to_the_phone(
    box: Sandbox, console: Console
) -> None:
    console.reply = "<Response><Message>Thanks, we got your text.</Message></Response>"
    await text_line(box, "checking in")
    for _ in range(200):
        conversation = box.runtime.state.conversation(CLIENT)
        if len(conversation) == 2:
            break
        await asyncio.sleep(0.01)
    assert [(m["sender"], m["body"]) for m in conversation] == [
        ("phone", "checking in"),
        ("line", "Thanks, we got your text."),
    ]
    assert conversation[1]["direction"] == "outbound-reply"
    assert conversation[1]["status"] == "delivered"


async def test_an_empty_twiml_answer_sends_nothing(box: Sandbox, console: Console) -> None:
    await text_line(box, "checking in")
    await asyncio.sleep(0.05)
    assert box.runtime.state.messages() == []


async def test_the_conversation_holds_both_directions_in_order(
    box: Sandbox, console: Console
) -> None:
    await text_line(box, "first")
    response = await box.create_message(Body="reply")
    sid = (await response.json())["sid"]
    for _ in range(200):
        if len(box.runtime.state.conversation(CLIENT)) == 2:
            break
        await asyncio.sleep(0.01)
    await text_line(box, "third")
    status, body = await box.api("GET", f"/sandbox/api/phones/{CLIENT}/messages")
    assert status == 200 and body["number"] == CLIENT and body["line_number"] == LINE
    assert [m["body"] for m in body["messages"]] == ["first", "reply", "third"]
    assert body["messages"][1]["sid"] == sid
    assert all(m["date_created"] for m in body["messages"])


async def read_event(stream: aiohttp.StreamReader) -> tuple[str, dict]:
    kind, data = "", ""
    while True:
        line = (await stream.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and kind:
            return kind, json.loads(data)


async def test_the_phone_sees_replies_arrive_live(box: Sandbox, console: Console) -> None:
    await text_line(box, "before")
    url = f"{box.base_url}/sandbox/api/phones/{CLIENT}/events"
    async with box.http.get(url) as events:
        assert events.headers["Content-Type"].startswith("text/event-stream")
        kind, snapshot = await asyncio.wait_for(read_event(events.content), 2)
        assert kind == "snapshot"
        assert [m["body"] for m in snapshot["messages"]] == ["before"]
        await box.create_message(Body="we are here")
        kind, event = await asyncio.wait_for(read_event(events.content), 2)
    assert kind == "message"
    assert (event["message"]["body"], event["message"]["status"]) == ("we are here", "delivered")


async def test_another_phone_sees_nothing(box: Sandbox, console: Console) -> None:
    url = f"{box.base_url}/sandbox/api/phones/+15145550999/events"
    async with box.http.get(url) as events:
        await asyncio.wait_for(read_event(events.content), 2)
        await text_line(box, "private")
        try:
            await asyncio.wait_for(read_event(events.content), 0.2)
        except TimeoutError:
            return
    raise AssertionError("another phone's text leaked into this stream")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', []),
        ("<Response><Message>Hi 🙂</Message></Response>", [(None, "Hi 🙂", None)]),
        (
            '<Response><Message to="+15145550000" statusCallback="http://c/s">'
            "<Body>Later</Body></Message></Response>",
            [("+15145550000", "Later", "http://c/s")],
        ),
        ("OK", []),
        ("<Response><Message>", []),
        ("<html><Message>not TwiML</Message></html>", []),
    ],
)
def test_it_reads_the_messages_out_of_twiml(document: str, expected: list[tuple]) -> None:
    assert twiml_messages(document) == expected
