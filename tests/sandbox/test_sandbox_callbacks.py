"""Status callbacks: signed, in order, with Twilio's failure codes, retried when refused."""

from __future__ import annotations

import asyncio

import pytest

from tests.sandbox.helpers import ACCOUNT, CLIENT, LINE, Console, Received, Sandbox

STATUS_PATH = "/twilio/sms/status/"
CALL_PATH = "/twilio/voice/status/"
FAILING = "+15145550666"


async def send(box: Sandbox, console: Console, to: str = CLIENT) -> str:
    response = await box.create_message(To=to, StatusCallback=console.url(STATUS_PATH))
    assert response.status == 201
    return str((await response.json())["sid"])


async def statuses_for(console: Console, sid: str, count: int) -> list[Received]:
    def mine() -> list[Received]:
        return [r for r in console.at(STATUS_PATH) if r.form["MessageSid"] == sid]

    await console.wait_for(lambda: len(mine()) >= count)
    return mine()


async def test_it_reports_sent_then_delivered_in_order(box: Sandbox, console: Console) -> None:
    sid = await send(box, console)
    received = await statuses_for(console, sid, 2)
    # Twilio sends no callback for the status the REST answer already gave: queued.
    assert [r.form["MessageStatus"] for r in received] == ["sent", "delivered"]
    assert all(r.signed_for(console.url(STATUS_PATH)) for r in received)
    last = received[-1].form
    assert (last["SmsSid"], last["SmsStatus"], last["AccountSid"]) == (sid, "delivered", ACCOUNT)
    assert (last["From"], last["To"], last["ApiVersion"]) == (LINE, CLIENT, "2010-04-01")
    assert "ErrorCode" not in last


async def test_a_messaging_service_text_reports_queued_too(box: Sandbox, console: Console) -> None:
    service = "MG" + "4" * 32
    response = await box.create_message(
        MessagingServiceSid=service, StatusCallback=console.url(STATUS_PATH)
    )
    created = await response.json()
    assert created["status"] == "accepted"
    received = await statuses_for(console, created["sid"], 3)
    assert [r.form["MessageStatus"] for r in received] == ["queued", "sent", "delivered"]
    assert all(r.form["MessagingServiceSid"] == service for r in received)
    assert all(r.signed_for(console.url(STATUS_PATH)) for r in received)


async def test_a_callback_signed_with_another_token_would_fail(
    box: Sandbox, console: Console
) -> None:
    sid = await send(box, console)
    received = await statuses_for(console, sid, 1)
    assert not received[0].signed_for(console.url(STATUS_PATH), token="another-token")


async def test_it_keeps_each_messages_callbacks_in_order_under_load(
    box: Sandbox, console: Console
) -> None:
    sids = [await send(box, console) for _ in range(20)]
    for sid in sids:
        received = await statuses_for(console, sid, 2)
        assert [r.form["MessageStatus"] for r in received] == ["sent", "delivered"]


async def test_it_puts_a_delivered_text_on_the_phone(box: Sandbox, console: Console) -> None:
    sid = await send(box, console)
    await statuses_for(console, sid, 2)
    conversation = box.runtime.state.conversation(CLIENT)
    assert [(m["sid"], m["sender"], m["status"]) for m in conversation] == [
        (sid, "line", "delivered")
    ]


@pytest.mark.parametrize(("outcome", "code"), [("undelivered", "30003"), ("failed", "30008")])
async def test_it_fails_texts_to_a_number_set_to_fail(
    box: Sandbox, console: Console, outcome: str, code: str
) -> None:
    status, _ = await box.api("POST", f"/sandbox/api/numbers/{FAILING}", json={"sms": outcome})
    assert status == 200
    sid = await send(box, console, to=FAILING)
    received = await statuses_for(console, sid, 2)
    assert [r.form["MessageStatus"] for r in received] == ["sent", outcome]
    assert received[-1].form["ErrorCode"] == code
    assert received[-1].signed_for(console.url(STATUS_PATH))
    assert box.runtime.state.conversation(FAILING) == []
    message = box.runtime.state.message(sid)
    assert message is not None and message["error_code"] == int(code)


@pytest.fixture
def config_overrides() -> dict[str, object]:
    """Every sandbox in this module starts as `--fail-number +15145550777:undelivered` would."""
    return {"sms_outcomes": {"+15145550777": "undelivered"}}


async def test_it_fails_numbers_given_at_start_up(box: Sandbox, console: Console) -> None:
    sid = await send(box, console, to="+15145550777")
    received = await statuses_for(console, sid, 2)
    assert received[-1].form["MessageStatus"] == "undelivered"


async def test_it_retries_a_callback_the_console_refused(box: Sandbox, console: Console) -> None:
    console.statuses = [500, 503]
    sid = await send(box, console)
    received = await statuses_for(console, sid, 4)
    assert [r.form["MessageStatus"] for r in received] == ["sent", "sent", "sent", "delivered"]
    # A retry is the same webhook, so Twilio's idempotency token repeats.
    tokens = {r.headers["I-Twilio-Idempotency-Token"] for r in received[:3]}
    assert len(tokens) == 1
    attempts = box.runtime.state.callbacks(sid=sid)
    assert [(a["attempt"], a["http_status"], a["outcome"]) for a in attempts[:3]] == [
        (1, 500, "retrying"),
        (2, 503, "retrying"),
        (3, 200, "delivered"),
    ]


async def test_it_gives_up_after_the_last_attempt(box: Sandbox, console: Console) -> None:
    console.statuses = [500] * 4
    sid = await send(box, console)
    received = await statuses_for(console, sid, 5)
    assert [r.form["MessageStatus"] for r in received] == ["sent"] * 4 + ["delivered"]
    outcomes = [a["outcome"] for a in box.runtime.state.callbacks(sid=sid)]
    assert outcomes[:4] == ["retrying", "retrying", "retrying", "failed"]


async def test_it_does_not_retry_a_refusal_that_cannot_change(
    box: Sandbox, console: Console
) -> None:
    console.statuses = [403]
    sid = await send(box, console)
    received = await statuses_for(console, sid, 2)
    assert [r.form["MessageStatus"] for r in received] == ["sent", "delivered"]
    assert box.runtime.state.callbacks(sid=sid)[0]["outcome"] == "failed"


async def test_it_records_a_console_that_is_down(box: Sandbox, console: Console) -> None:
    dead = "http://127.0.0.1:9/nobody-home/"
    response = await box.create_message(StatusCallback=dead)
    sid = (await response.json())["sid"]
    for _ in range(500):
        attempts = box.runtime.state.callbacks(sid=sid)
        if len(attempts) >= 8:
            break
        await asyncio.sleep(0.01)
    assert len(attempts) == 8
    assert all(a["http_status"] is None and a["error"] for a in attempts)
    assert [a["outcome"] for a in attempts[:4]] == ["retrying"] * 3 + ["failed"]
    # The console being down does not stop the text reaching the phone.
    message = box.runtime.state.message(sid)
    assert message is not None and message["status"] == "delivered"


async def test_it_sends_no_callback_without_a_url(box: Sandbox, console: Console) -> None:
    sid = (await (await box.create_message()).json())["sid"]
    for _ in range(200):
        message = box.runtime.state.message(sid)
        if message and message["status"] == "delivered":
            break
        await asyncio.sleep(0.01)
    assert console.received == [] and box.runtime.state.callbacks() == []


async def call(
    box: Sandbox, console: Console, to: str = CLIENT, events: list[str] | None = None
) -> str:
    form = [
        ("To", to),
        ("From", LINE),
        ("Url", console.url("/twilio/voice/")),
        ("StatusCallback", console.url(CALL_PATH)),
    ] + [("StatusCallbackEvent", e) for e in events or []]
    async with box.http.post(box.rest("Calls.json"), data=form, headers=box.auth) as response:
        assert response.status == 201
        return str((await response.json())["sid"])


async def call_statuses(console: Console, count: int) -> list[Received]:
    await console.wait_for(lambda: len(console.at(CALL_PATH)) >= count)
    return console.at(CALL_PATH)


async def test_a_call_reports_only_completion_by_default(box: Sandbox, console: Console) -> None:
    sid = await call(box, console)
    [received] = await call_statuses(console, 1)
    form = received.form
    assert (form["CallSid"], form["CallStatus"], form["SequenceNumber"]) == (sid, "completed", "0")
    assert int(form["CallDuration"]) >= 1
    assert received.signed_for(console.url(CALL_PATH))
    final = box.runtime.state.call(sid)
    assert final is not None and final["status"] == "completed" and final["end_time"]


async def test_a_call_reports_each_event_asked_for(box: Sandbox, console: Console) -> None:
    await call(box, console, events=["initiated", "ringing", "answered", "completed"])
    received = await call_statuses(console, 4)
    assert [r.form["CallStatus"] for r in received] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [r.form["SequenceNumber"] for r in received] == ["0", "1", "2", "3"]
    assert all(r.signed_for(console.url(CALL_PATH)) for r in received)


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "failed"])
async def test_a_call_to_a_number_set_to_fail_ends_that_way(
    box: Sandbox, console: Console, outcome: str
) -> None:
    await box.api("POST", f"/sandbox/api/numbers/{FAILING}", json={"call": outcome})
    sid = await call(box, console, to=FAILING, events=["initiated", "completed"])
    received = await call_statuses(console, 2)
    assert [r.form["CallStatus"] for r in received] == ["initiated", outcome]
    assert received[-1].form["CallDuration"] == "0"
    final = box.runtime.state.call(sid)
    assert final is not None and final["status"] == outcome
