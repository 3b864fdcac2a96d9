"""Hanging up a call (POST Calls/{Sid}.json with Status), and conference legs that stay up."""

from __future__ import annotations

import asyncio

import pytest
from twilio.twiml.voice_response import Dial, VoiceResponse

from tests.sandbox.helpers import Console, Sandbox
from tests.sandbox.test_sandbox_call_answers import STATUS_PATH, place_call

DISPATCH = "+15145550911"
OPERATOR = "+15145550111"


def conference(name: str, *, in_control: bool) -> str:
    """TwiML shaped like the console's dispatch legs."""
    response = VoiceResponse()
    dial = Dial()
    dial.conference(name, start_conference_on_enter=in_control, end_conference_on_exit=in_control)
    response.append(dial)
    return str(response)


async def statuses(console: Console, sid: str, until: str) -> list[str]:
    def seen() -> list[str]:
        return [r.form["CallStatus"] for r in console.at(STATUS_PATH) if r.form["CallSid"] == sid]

    await console.wait_for(lambda: until in seen())
    return seen()


async def hang_up(box: Sandbox, sid: str, status: str) -> tuple[int, dict]:
    url = box.rest(f"Calls/{sid}.json")
    async with box.http.post(url, data={"Status": status}, headers=box.auth) as response:
        return response.status, await response.json()


async def current(box: Sandbox, sid: str) -> str:
    call = box.runtime.state.call(sid)
    assert call is not None
    return str(call["status"])


async def test_a_conference_leg_stays_connected_until_it_is_hung_up(
    box: Sandbox, console: Console
) -> None:
    sid = await place_call(box, console, DISPATCH, Twiml=conference("alarm-1", in_control=False))
    await statuses(console, sid, "in-progress")
    await asyncio.sleep(0.2)
    assert await current(box, sid) == "in-progress"
    status, body = await hang_up(box, sid, "completed")
    assert (status, body["sid"], body["status"]) == (200, sid, "completed")
    seen = await statuses(console, sid, "completed")
    assert seen == ["initiated", "ringing", "in-progress", "completed"]
    [last] = [r for r in console.at(STATUS_PATH) if r.form["CallStatus"] == "completed"]
    assert int(last.form["CallDuration"]) >= 1


async def test_the_leg_in_control_leaving_ends_the_conference(
    box: Sandbox, console: Console
) -> None:
    line = await place_call(box, console, DISPATCH, Twiml=conference("alarm-2", in_control=False))
    mine = await place_call(box, console, OPERATOR, Twiml=conference("alarm-2", in_control=True))
    await statuses(console, line, "in-progress")
    await statuses(console, mine, "in-progress")
    assert (await hang_up(box, mine, "completed"))[0] == 200
    assert (await statuses(console, line, "completed"))[-1] == "completed"


async def test_hanging_up_an_ended_call_is_refused_as_twilio_does(
    box: Sandbox, console: Console
) -> None:
    sid = await place_call(box, console, DISPATCH, Twiml="<Response><Say>Hi</Say></Response>")
    await statuses(console, sid, "completed")
    status, body = await hang_up(box, sid, "completed")
    assert (status, body["code"]) == (400, 21220)


async def test_cancel_leaves_a_call_in_progress_alone(box: Sandbox, console: Console) -> None:
    sid = await place_call(box, console, DISPATCH, Twiml=conference("alarm-3", in_control=False))
    await statuses(console, sid, "in-progress")
    status, body = await hang_up(box, sid, "canceled")
    assert (status, body["code"]) == (400, 21220)
    assert await current(box, sid) == "in-progress"


async def test_only_completed_or_canceled_is_understood(box: Sandbox, console: Console) -> None:
    sid = await place_call(box, console, DISPATCH, Twiml=conference("alarm-4", in_control=False))
    assert (await hang_up(box, sid, "busy"))[0] == 400
    assert (await hang_up(box, "CA" + "0" * 32, "completed"))[0] == 404


class TestRinging:
    @pytest.fixture
    def config_overrides(self) -> dict[str, object]:
        # Each status holds for a second: time to hang up while it rings.
        return {"delay_ms": 1000}

    async def test_a_ringing_call_is_canceled_at_once(self, box: Sandbox, console: Console) -> None:
        sid = await place_call(box, console, DISPATCH, Twiml=conference("a-5", in_control=False))
        await statuses(console, sid, "initiated")
        status, body = await hang_up(box, sid, "canceled")
        assert (status, body["status"]) == (200, "canceled")
        async with asyncio.timeout(0.8):
            seen = await statuses(console, sid, "canceled")
        assert seen == ["initiated", "canceled"]
        [last] = [r for r in console.at(STATUS_PATH) if r.form["CallStatus"] == "canceled"]
        assert last.form["CallDuration"] == "0"


class TestSafeMaximum:
    @pytest.fixture
    def config_overrides(self) -> dict[str, object]:
        return {"conference_max_s": 0.3}

    async def test_a_conference_nobody_ends_hangs_up_by_itself(
        self, box: Sandbox, console: Console
    ) -> None:
        sid = await place_call(box, console, DISPATCH, Twiml=conference("a-6", in_control=False))
        seen = await statuses(console, sid, "completed")
        assert seen == ["initiated", "ringing", "in-progress", "completed"]
