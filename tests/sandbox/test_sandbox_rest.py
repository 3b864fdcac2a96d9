"""The Messages and Calls REST endpoints, as twilio-python would call them."""

from __future__ import annotations

import asyncio
import re
from email.utils import parsedate_to_datetime

import aiohttp
import pytest

from tests.sandbox.helpers import ACCOUNT, CLIENT, LINE, TOKEN, Sandbox, basic_auth

SID = re.compile(r"[0-9a-f]{32}")


async def error_of(response: aiohttp.ClientResponse) -> tuple[int, int]:
    body = await response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["status"] == response.status
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}"
    return response.status, body["code"]


async def test_it_creates_a_message_shaped_like_twilios(box: Sandbox) -> None:
    response = await box.create_message(Body="Hi, it's the line. Still OK?")
    assert response.status == 201
    message = await response.json()
    assert message["sid"].startswith("SM") and SID.fullmatch(message["sid"][2:])
    assert message["account_sid"] == ACCOUNT
    assert (message["to"], message["from"]) == (CLIENT, LINE)
    assert message["body"] == "Hi, it's the line. Still OK?"
    assert message["status"] == "queued"
    assert message["direction"] == "outbound-api"
    assert message["num_segments"] == "1" and message["num_media"] == "0"
    assert message["api_version"] == "2010-04-01"
    assert message["price"] is None and message["error_code"] is None
    assert message["error_message"] is None and message["date_sent"] is None
    assert message["uri"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{message['sid']}.json"
    assert parsedate_to_datetime(message["date_created"]).utcoffset() is not None
    assert message["date_created"].endswith("+0000")


async def test_it_gives_every_message_its_own_sid(box: Sandbox) -> None:
    first = await (await box.create_message()).json()
    second = await (await box.create_message()).json()
    assert first["sid"] != second["sid"]


@pytest.mark.parametrize(
    ("body", "segments"),
    [("a" * 160, "1"), ("a" * 161, "2"), ("ç" * 70, "1"), ("ç" * 71, "2"), ("😀" * 36, "2")],
)
async def test_it_counts_segments(box: Sandbox, body: str, segments: str) -> None:
    message = await (await box.create_message(Body=body)).json()
    assert message["num_segments"] == segments


async def test_it_rejects_a_wrong_token(box: Sandbox) -> None:
    url = box.rest("Messages.json")
    form = {"To": CLIENT, "From": LINE, "Body": "hi"}
    bad = basic_auth(ACCOUNT, "not-the-token")
    async with box.http.post(url, data=form, headers=bad) as response:
        assert await error_of(response) == (401, 20003)
        assert "Basic" in response.headers["WWW-Authenticate"]
    assert box.runtime.state.messages() == []


async def test_it_rejects_a_request_without_credentials(box: Sandbox) -> None:
    async with box.http.post(box.rest("Messages.json"), data={"To": CLIENT}) as response:
        assert await error_of(response) == (401, 20003)


async def test_it_rejects_another_accounts_path(box: Sandbox) -> None:
    url = f"{box.base_url}/2010-04-01/Accounts/AC{'2' * 32}/Messages.json"
    form = {"To": CLIENT, "From": LINE, "Body": "hi"}
    async with box.http.post(url, data=form, headers=box.auth) as response:
        assert await error_of(response) == (401, 20003)


async def test_it_accepts_an_api_key_with_the_token(box: Sandbox) -> None:
    key = basic_auth("SK" + "3" * 32, TOKEN)
    form = {"To": CLIENT, "From": LINE, "Body": "hi"}
    async with box.http.post(box.rest("Messages.json"), data=form, headers=key) as response:
        assert response.status == 201


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"To": "5145550123"}, 21211),
        ({"To": "+0145550123"}, 21211),
        ({"To": "+1514555012345678"}, 21211),
        ({"To": "+15005550001"}, 21211),
        ({"To": "+15005550009"}, 21614),
        ({"To": "+15005550004"}, 21610),
        ({"To": None}, 21604),
        ({"Body": None}, 21602),
        ({"Body": ""}, 21602),
        ({"Body": "a" * 1601}, 21617),
        ({"From": None}, 21603),
        ({"From": "+15145550999"}, 21606),
        ({"StatusCallback": "ftp://console/status"}, 21609),
    ],
)
async def test_it_refuses_what_twilio_refuses(
    box: Sandbox, fields: dict[str, str | None], code: int
) -> None:
    response = await box.create_message(**fields)  # type: ignore[arg-type]
    assert await error_of(response) == (400, code)
    assert box.runtime.state.messages() == []


async def test_it_accepts_the_longest_body(box: Sandbox) -> None:
    response = await box.create_message(Body="a" * 1600)
    assert response.status == 201
    assert (await response.json())["num_segments"] == "11"


async def test_it_sends_from_the_line_for_a_messaging_service(box: Sandbox) -> None:
    service = "MG" + "4" * 32
    response = await box.create_message(From=None, MessagingServiceSid=service)  # type: ignore[arg-type]
    message = await response.json()
    assert response.status == 201
    assert (message["from"], message["messaging_service_sid"]) == (LINE, service)
    assert message["status"] == "accepted"


async def test_it_fetches_a_message_as_it_moves_on(box: Sandbox) -> None:
    sid = (await (await box.create_message()).json())["sid"]
    url = box.rest(f"Messages/{sid}.json")
    for _ in range(200):
        async with box.http.get(url, headers=box.auth) as response:
            message = await response.json()
        if message["status"] == "delivered":
            break
        await asyncio.sleep(0.01)
    assert message["sid"] == sid and message["status"] == "delivered"
    assert message["date_sent"] is not None


async def test_it_answers_404_for_an_unknown_message(box: Sandbox) -> None:
    url = box.rest(f"Messages/SM{'0' * 32}.json")
    async with box.http.get(url, headers=box.auth) as response:
        assert await error_of(response) == (404, 20404)


async def test_it_wants_credentials_to_fetch(box: Sandbox) -> None:
    sid = (await (await box.create_message()).json())["sid"]
    async with box.http.get(box.rest(f"Messages/{sid}.json")) as response:
        assert await error_of(response) == (401, 20003)


async def create_call(box: Sandbox, **fields: str | None) -> aiohttp.ClientResponse:
    form = {"To": CLIENT, "From": LINE, "Url": "http://console.test/twilio/voice/"} | fields
    data = {k: v for k, v in form.items() if v is not None}
    return await box.http.post(box.rest("Calls.json"), data=data, headers=box.auth)


async def test_it_creates_a_call_shaped_like_twilios(box: Sandbox) -> None:
    response = await create_call(box)
    call = await response.json()
    assert response.status == 201
    assert call["sid"].startswith("CA") and SID.fullmatch(call["sid"][2:])
    assert (call["to"], call["from"], call["status"]) == (CLIENT, LINE, "queued")
    assert call["direction"] == "outbound-api" and call["account_sid"] == ACCOUNT
    assert call["to_formatted"] == "(514) 555-0123"
    assert call["uri"] == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{call['sid']}.json"
    async with box.http.get(box.base_url + call["uri"], headers=box.auth) as fetched:
        assert (await fetched.json())["sid"] == call["sid"]


async def test_it_accepts_inline_twiml_for_a_call(box: Sandbox) -> None:
    response = await create_call(box, Url=None, Twiml="<Response><Say>Hi</Say></Response>")
    assert response.status == 201


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"To": None}, 21201),
        ({"To": "nope"}, 21211),
        ({"To": "+15005550001"}, 21217),
        ({"From": None}, 21213),
        ({"From": "+15145550999"}, 21210),
        ({"Url": None}, 21205),
        ({"Url": "javascript:alert(1)"}, 21205),
    ],
)
async def test_it_refuses_calls_twilio_refuses(
    box: Sandbox, fields: dict[str, str | None], code: int
) -> None:
    assert await error_of(await create_call(box, **fields)) == (400, code)
    assert box.runtime.state.calls() == []


async def test_it_rejects_a_call_with_a_wrong_token(box: Sandbox) -> None:
    bad = basic_auth(ACCOUNT, "nope")
    form = {"To": CLIENT, "From": LINE, "Url": "http://console.test/v"}
    async with box.http.post(box.rest("Calls.json"), data=form, headers=bad) as response:
        assert await error_of(response) == (401, 20003)
