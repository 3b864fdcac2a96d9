"""A stand-in console that records the sandbox's webhooks, and a client for the sandbox."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from sandbox.config import SandboxConfig
from sandbox.runtime import SandboxRuntime

TOKEN = "test-token-0123456789abcdef"
ACCOUNT = "AC" + "1" * 32
LINE = "+18005550100"
CLIENT = "+15145550123"


def basic_auth(login: str, password: str) -> dict[str, str]:
    """Headers for HTTP Basic auth, as twilio-python sends its credentials."""
    encoded = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


@dataclass
class Received:
    path: str
    url: str
    headers: dict[str, str]
    form: MultiDict[str]
    method: str = "POST"

    def signed_for(self, url: str, token: str = TOKEN) -> bool:
        signature = self.headers.get("X-Twilio-Signature", "")
        return RequestValidator(token).validate(url, self.form, signature)


@dataclass
class Console:
    """Plays the console: records every webhook, answers with scripted statuses."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    reply: str = "<Response/>"
    # Another answer for some paths, such as the TwiML of a call's Url.
    replies: dict[str, str] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return self.base_url + path

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def handle(self, request: web.Request) -> web.Response:
        form = MultiDict((k, str(v)) for k, v in (await request.post()).items())
        self.received.append(
            Received(request.path, str(request.url), dict(request.headers), form, request.method)
        )
        self.arrived.set()
        status = self.statuses.pop(0) if self.statuses else 200
        text = self.replies.get(request.path, self.reply)
        return web.Response(status=status, text=text, content_type="text/xml")

    async def wait_for(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                self.arrived.clear()
                await self.arrived.wait()


@dataclass
class Sandbox:
    base_url: str
    runtime: SandboxRuntime
    http: aiohttp.ClientSession

    @property
    def auth(self) -> dict[str, str]:
        return basic_auth(ACCOUNT, TOKEN)

    def rest(self, tail: str) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{ACCOUNT}/{tail}"

    async def create_message(self, **fields: str) -> aiohttp.ClientResponse:
        form = {"To": CLIENT, "From": LINE, "Body": "Checking in. Are you OK?"} | fields
        form = {k: v for k, v in form.items() if v is not None}
        return await self.http.post(self.rest("Messages.json"), data=form, headers=self.auth)

    async def api(self, method: str, path: str, **kwargs: object) -> tuple[int, dict]:
        async with self.http.request(method, self.base_url + path, **kwargs) as response:  # type: ignore[arg-type]
            return response.status, await response.json()


def sandbox_config(console: Console, **overrides: object) -> SandboxConfig:
    settings: dict[str, object] = {
        "console_url": console.base_url,
        "account_sid": ACCOUNT,
        "auth_token": TOKEN,
        "line_number": LINE,
        "delay_ms": 1,
        "retry_backoff_ms": 5,
        "callback_timeout_s": 2.0,
    }
    return SandboxConfig(**(settings | overrides))  # type: ignore[arg-type]
