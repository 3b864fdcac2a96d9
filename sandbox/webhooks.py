"""Signed requests from the sandbox to the console, with Twilio's retry habits."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp

from sandbox.config import SandboxConfig
from sandbox.signing import SIGNATURE_HEADER, compute_signature
from sandbox.state import SandboxState

# Twilio marks every delivery of one webhook with the same token, retries included, so the
# console can drop repeats. We do the same.
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
USER_AGENT = "TwilioProxy/1.1"


@dataclass(frozen=True)
class Webhook:
    kind: str
    sid: str
    event: str
    url: str
    params: list[tuple[str, str]]
    token: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Only a TwiML verb's `method="GET"` makes Twilio send its parameters in the query string.
    method: str = "POST"

    def target(self) -> tuple[str, list[tuple[str, str]]]:
        """The URL requested and the form sent; Twilio signs both, and a GET has no form."""
        if self.method != "GET":
            return self.url, self.params
        separator = "&" if "?" in self.url else "?"
        return self.url + separator + urlencode(self.params), []


@dataclass(frozen=True)
class Answer:
    status: int | None
    body: str = ""
    content_type: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    @property
    def retryable(self) -> bool:
        # A 4xx will not change on a second try (a bad signature stays bad); an outage might.
        return self.status is None or self.status >= 500 or self.status == 429


async def send_once(
    session: aiohttp.ClientSession, config: SandboxConfig, webhook: Webhook
) -> Answer:
    url, form = webhook.target()
    headers = {
        SIGNATURE_HEADER: compute_signature(config.auth_token, url, form),
        IDEMPOTENCY_HEADER: webhook.token,
        "User-Agent": USER_AGENT,
    }
    if webhook.method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    timeout = aiohttp.ClientTimeout(total=config.callback_timeout_s)
    body = urlencode(form).encode() if webhook.method == "POST" else None
    try:
        async with session.request(
            webhook.method,
            url,
            data=body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
        ) as response:
            text = await response.text(errors="replace")
            return Answer(response.status, text, response.headers.get("Content-Type", ""))
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Answer(None, error=f"{type(exc).__name__}: {exc}".rstrip(": "))


async def deliver(
    session: aiohttp.ClientSession, config: SandboxConfig, state: SandboxState, webhook: Webhook
) -> Answer:
    """Send until the console accepts, a final refusal, or the attempts run out."""
    answer = Answer(None, error="not attempted")
    for attempt in range(1, config.callback_attempts + 1):
        answer = await send_once(session, config, webhook)
        last = attempt == config.callback_attempts or not answer.retryable
        record(state, webhook, attempt, answer, last=last)
        if answer.ok or last:
            return answer
        await asyncio.sleep(config.retry_backoff_ms * 2 ** (attempt - 1) / 1000)
    return answer


def record(
    state: SandboxState, webhook: Webhook, attempt: int, answer: Answer, *, last: bool
) -> None:
    outcome = "delivered" if answer.ok else ("failed" if last else "retrying")
    state.record_callback(
        kind=webhook.kind,
        sid=webhook.sid,
        event=webhook.event,
        method=webhook.method,
        url=webhook.url,
        attempt=attempt,
        params=webhook.params,
        http_status=answer.status,
        error=answer.error,
        outcome=outcome,
    )
