"""A person answers a call and presses a key: its TwiML run as Twilio would, up to <Gather>."""

from __future__ import annotations

from urllib.parse import urljoin

from sandbox.resources import API_VERSION, Call
from sandbox.runtime import SandboxRuntime
from sandbox.twiml import first_gather_action
from sandbox.webhooks import Answer, Webhook, record, send_once

PRESSED_DIGITS = "1"


def call_params(call: Call) -> list[tuple[str, str]]:
    """What Twilio sends about a call in every request it makes for it."""
    return [
        ("CallSid", call.sid),
        ("AccountSid", call.account_sid),
        ("From", call.from_),
        ("Caller", call.from_),
        ("To", call.to),
        ("Called", call.to),
        ("CallStatus", call.status),
        ("Direction", "outbound-api"),
        ("ApiVersion", API_VERSION),
    ]


def answered_by_params(call: Call) -> list[tuple[str, str]]:
    return [("AnsweredBy", call.answered_by)] if call.answered_by else []


async def press_a_key(runtime: SandboxRuntime, call: Call) -> None:
    """Answer the first <Gather> that has an action; without one there is nothing to press."""
    action = first_gather_action(await _twiml(runtime, call))
    if action is None:
        return
    # Inline TwiML has no address of its own, so a relative action is the console's.
    base = call.url or runtime.config.console_url.rstrip("/") + "/"
    url = urljoin(base, action.url)
    params = [*call_params(call), ("Digits", PRESSED_DIGITS), ("FinishedOnKey", "")]
    await _request_once(
        runtime, Webhook("call-gather", call.sid, "gather", url, params, method=action.method)
    )


async def _twiml(runtime: SandboxRuntime, call: Call) -> str:
    """The inline TwiML, or what the Url answers to a POST of the call's parameters, as
    Twilio does once the call is answered. A call made with an ApplicationSid has neither."""
    if call.twiml is not None or call.url is None:
        return call.twiml or ""
    params = [*call_params(call), *answered_by_params(call)]
    answer = await _request_once(
        runtime, Webhook("call-twiml", call.sid, "twiml", call.url, params)
    )
    return answer.body if answer.ok else ""


async def _request_once(runtime: SandboxRuntime, hook: Webhook) -> Answer:
    # Sent once, not retried like a status callback: on a live call it matters now or never.
    answer = await send_once(runtime.session, runtime.config, hook)
    record(runtime.state, hook, 1, answer, last=True)
    return answer
