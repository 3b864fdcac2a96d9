"""Calls a person answers with a key press, or voicemail answers: <Gather> and AnsweredBy."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather, VoiceResponse

from tests.sandbox.helpers import ACCOUNT, CLIENT, LINE, TOKEN, Console, Received, Sandbox

STATUS_PATH = "/twilio/calls/status/"
GATHER_PATH = "/twilio/calls/gather/"
VOICE_PATH = "/twilio/voice/"
EVERY_EVENT = ["initiated", "ringing", "answered", "completed"]
ANSWERED = ["initiated", "ringing", "in-progress", "completed"]
PRESSER = "+15145550301"
VOICEMAIL = "+15145550302"
OTHER = "+15145550303"


@pytest.fixture
def config_overrides() -> dict[str, object]:
    """As `--call-outcome +15145550301:press --call-outcome +15145550302:machine` would."""
    return {"call_outcomes": {PRESSER: "press", VOICEMAIL: "machine"}}


def client_check(action: str, method: str = "POST") -> str:
    """TwiML shaped like the console's client check: a one-key <Gather>, then a fallback."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, timeout=10, action=action, method=method)
    gather.say("If you are OK, press any key now.")
    response.append(gather)
    response.say("We did not hear a key.")
    return str(response)


async def place_call(box: Sandbox, console: Console, to: str, **fields: str) -> str:
    form = [
        ("To", to),
        ("From", LINE),
        ("StatusCallback", console.url(STATUS_PATH)),
        *[("StatusCallbackEvent", event) for event in EVERY_EVENT],
        *fields.items(),
    ]
    async with box.http.post(box.rest("Calls.json"), data=form, headers=box.auth) as response:
        assert response.status == 201
        return str((await response.json())["sid"])


async def call_statuses(console: Console, count: int = 4) -> list[Received]:
    await console.wait_for(lambda: len(console.at(STATUS_PATH)) >= count)
    return console.at(STATUS_PATH)


async def kinds(box: Sandbox, sid: str, count: int) -> list[str]:
    """The kinds of the call's requests, once the sandbox has recorded `count` of them (it
    records each after the console's answer, so just after the console has seen it)."""
    async with asyncio.timeout(5):
        while len(attempts := box.runtime.state.callbacks(sid=sid)) < count:
            await asyncio.sleep(0.01)
    return [attempt["kind"] for attempt in attempts]


async def test_a_key_press_posts_a_signed_gather_to_the_action(
    box: Sandbox, console: Console
) -> None:
    action = console.url(GATHER_PATH + "?call=7")
    sid = await place_call(box, console, PRESSER, Twiml=client_check(action))
    received = await call_statuses(console)
    assert [r.form["CallStatus"] for r in received] == ANSWERED
    [gather] = console.at(GATHER_PATH)
    assert (gather.method, gather.url) == ("POST", action)
    signature = gather.headers["X-Twilio-Signature"]
    assert RequestValidator(TOKEN).validate(action, gather.form, signature)
    assert not RequestValidator("another-token").validate(action, gather.form, signature)
    form = gather.form
    assert (form["CallSid"], form["AccountSid"], form["From"], form["To"]) == (
        sid,
        ACCOUNT,
        LINE,
        PRESSER,
    )
    assert (form["CallStatus"], form["Direction"], form["ApiVersion"]) == (
        "in-progress",
        "outbound-api",
        "2010-04-01",
    )
    assert (form["Digits"], form["FinishedOnKey"]) == ("1", "")
    # The key is pressed while the call is up: after it is answered, before it completes.
    assert [r.path for r in console.received] == [STATUS_PATH] * 3 + [GATHER_PATH, STATUS_PATH]
    assert int(received[-1].form["CallDuration"]) >= 1


async def test_the_gather_is_recorded_like_other_webhooks(box: Sandbox, console: Console) -> None:
    action = console.url(GATHER_PATH + "?call=7")
    sid = await place_call(box, console, PRESSER, Twiml=client_check(action))
    await call_statuses(console)
    assert await kinds(box, sid, 5) == ["call-status"] * 3 + ["call-gather", "call-status"]
    _, body = await box.api("GET", f"/sandbox/api/callbacks?sid={sid}")
    [gather] = [a for a in body["callbacks"] if a["kind"] == "call-gather"]
    assert (gather["method"], gather["url"], gather["http_status"]) == ("POST", action, 200)
    assert (gather["params"]["Digits"], gather["outcome"]) == ("1", "delivered")


async def test_a_key_press_follows_the_twiml_at_the_calls_url(
    box: Sandbox, console: Console
) -> None:
    console.replies[VOICE_PATH] = client_check("gather/?call=8")
    sid = await place_call(box, console, PRESSER, Url=console.url(VOICE_PATH))
    await call_statuses(console)
    [fetch] = console.at(VOICE_PATH)
    assert fetch.method == "POST" and fetch.signed_for(console.url(VOICE_PATH))
    assert (fetch.form["CallSid"], fetch.form["CallStatus"]) == (sid, "in-progress")
    # A relative action is resolved against the document's own URL, as Twilio does.
    [gather] = console.at(VOICE_PATH + "gather/")
    assert gather.url == console.url(VOICE_PATH + "gather/?call=8")
    assert gather.signed_for(gather.url) and gather.form["Digits"] == "1"
    assert await kinds(box, sid, 6) == [
        *["call-status"] * 3,
        *["call-twiml", "call-gather", "call-status"],
    ]


async def test_a_relative_action_in_inline_twiml_goes_to_the_console(
    box: Sandbox, console: Console
) -> None:
    await place_call(box, console, PRESSER, Twiml=client_check(GATHER_PATH + "?call=5"))
    await call_statuses(console)
    [gather] = console.at(GATHER_PATH)
    assert gather.url == console.url(GATHER_PATH + "?call=5") and gather.signed_for(gather.url)


async def test_a_gather_asking_for_get_sends_the_digits_in_the_query(
    box: Sandbox, console: Console
) -> None:
    action = console.url(GATHER_PATH + "?call=9")
    await place_call(box, console, PRESSER, Twiml=client_check(action, method="GET"))
    await call_statuses(console)
    [gather] = console.at(GATHER_PATH)
    query = parse_qs(urlsplit(gather.url).query, keep_blank_values=True)
    assert gather.method == "GET" and len(gather.form) == 0
    assert (query["call"], query["Digits"], query["FinishedOnKey"]) == (["9"], ["1"], [""])
    # Twilio signs a GET over the whole URL, query included, and no form.
    signature = gather.headers["X-Twilio-Signature"]
    assert RequestValidator(TOKEN).validate(gather.url, {}, signature)


async def test_a_call_with_no_gather_action_just_completes(box: Sandbox, console: Console) -> None:
    twiml = '<Response><Gather numDigits="1"><Say>Hello?</Say></Gather></Response>'
    sid = await place_call(box, console, PRESSER, Twiml=twiml)
    received = await call_statuses(console)
    assert [r.form["CallStatus"] for r in received] == ANSWERED
    assert [r.path for r in console.received] == [STATUS_PATH] * 4
    assert await kinds(box, sid, 4) == ["call-status"] * 4


@pytest.mark.parametrize(
    ("detection", "verdict"),
    [("Enable", "machine_start"), ("DetectMessageEnd", "machine_end_beep")],
)
async def test_voicemail_reports_answered_by_a_machine(
    box: Sandbox, console: Console, detection: str, verdict: str
) -> None:
    twiml = client_check(console.url(GATHER_PATH + "?call=10"))
    sid = await place_call(box, console, VOICEMAIL, Twiml=twiml, MachineDetection=detection)
    received = await call_statuses(console)
    assert [(r.form["CallStatus"], r.form.get("AnsweredBy")) for r in received] == [
        ("initiated", None),
        ("ringing", None),
        ("in-progress", verdict),
        ("completed", verdict),
    ]
    assert all(r.signed_for(console.url(STATUS_PATH)) for r in received)
    # A voicemail greeting presses no key.
    assert console.at(GATHER_PATH) == []
    call = box.runtime.state.call(sid)
    assert call is not None and call["answered_by"] == verdict


async def test_voicemail_without_detection_says_nothing_of_who_answered(
    box: Sandbox, console: Console
) -> None:
    sid = await place_call(box, console, VOICEMAIL, Twiml=client_check(console.url(GATHER_PATH)))
    received = await call_statuses(console)
    assert [r.form["CallStatus"] for r in received] == ANSWERED
    assert all("AnsweredBy" not in r.form for r in received)
    assert console.at(GATHER_PATH) == []
    call = box.runtime.state.call(sid)
    assert call is not None and call["answered_by"] is None


@pytest.mark.parametrize("to", [CLIENT, PRESSER])
async def test_a_person_answering_with_detection_is_human(
    box: Sandbox, console: Console, to: str
) -> None:
    twiml = client_check(console.url(GATHER_PATH + "?call=11"))
    await place_call(box, console, to, Twiml=twiml, MachineDetection="Enable")
    received = await call_statuses(console)
    assert [r.form.get("AnsweredBy") for r in received] == [None, None, "human", "human"]
    # Only the person set to press a key sends one.
    assert len(console.at(GATHER_PATH)) == (1 if to == PRESSER else 0)


async def test_the_control_api_sets_a_number_to_press_or_reach_voicemail(
    box: Sandbox, console: Console
) -> None:
    status, body = await box.api("POST", f"/sandbox/api/numbers/{OTHER}", json={"call": "press"})
    assert (status, body) == (200, {"number": OTHER, "sms": "delivered", "call": "press"})
    await place_call(box, console, OTHER, Twiml=client_check(console.url(GATHER_PATH)))
    await console.wait_for(lambda: len(console.at(GATHER_PATH)) == 1)
    await call_statuses(console)
    status, body = await box.api("POST", f"/sandbox/api/numbers/{OTHER}", json={"call": "machine"})
    assert (status, body["call"]) == (200, "machine")
    twiml = client_check(console.url(GATHER_PATH))
    await place_call(box, console, OTHER, Twiml=twiml, MachineDetection="Enable")
    received = await call_statuses(console, 8)
    assert received[-1].form["AnsweredBy"] == "machine_start"
    assert len(console.at(GATHER_PATH)) == 1


async def test_a_url_that_fails_leaves_nothing_to_press(box: Sandbox, console: Console) -> None:
    console.statuses = [200, 200, 200, 500]  # initiated, ringing, in-progress, then the Url
    console.replies[VOICE_PATH] = client_check(console.url(GATHER_PATH))
    sid = await place_call(box, console, PRESSER, Url=console.url(VOICE_PATH))
    received = await call_statuses(console)
    assert received[-1].form["CallStatus"] == "completed"
    assert console.at(GATHER_PATH) == []
    assert await kinds(box, sid, 5) == ["call-status"] * 3 + ["call-twiml", "call-status"]


async def test_a_call_made_with_an_application_still_completes(
    box: Sandbox, console: Console
) -> None:
    sid = await place_call(box, console, PRESSER, ApplicationSid="AP" + "5" * 32)
    received = await call_statuses(console)
    assert [r.form["CallStatus"] for r in received] == ANSWERED
    assert await kinds(box, sid, 4) == ["call-status"] * 4
