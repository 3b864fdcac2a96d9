"""Run the sandbox in a background thread, for tests and benchmarks.

    from sandbox.config import CALL_OUTCOMES, SMS_OUTCOMES, SandboxConfig
    from sandbox.testing import running_sandbox

    with running_sandbox(SandboxConfig(console_url=live_server.url, delay_ms=0)) as sandbox:
        ...  # point the console's Twilio client at sandbox.base_url
        sandbox.send_text("+15145550123", "check in")
        sandbox.wait_until(lambda: sandbox.messages(to="+15145550123"))

Readers (messages, calls, callbacks, conversation) return JSON snapshots and are safe to
call from any thread. send_text blocks until the console has answered its webhook, so
call it from synchronous code (or `await asyncio.to_thread(sandbox.send_text, ...)`) when
the console runs on the caller's own event loop.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aiohttp import web

from sandbox.app import create_app
from sandbox.config import CALL_OUTCOMES, SMS_OUTCOMES, SandboxConfig
from sandbox.inbound import send_text
from sandbox.phone_numbers import is_e164
from sandbox.resources import JSON
from sandbox.runtime import RUNTIME, SandboxRuntime

T = TypeVar("T")
STARTUP_TIMEOUT_S = 10.0


class SandboxHandle:
    """A running sandbox: its URL, and ways to drive and inspect it from the test thread."""

    def __init__(self, base_url: str, runtime: SandboxRuntime, loop: asyncio.AbstractEventLoop):
        self.base_url = base_url
        self.runtime = runtime
        self._loop = loop

    @property
    def config(self) -> SandboxConfig:
        return self.runtime.config

    def messages(self, to: str | None = None) -> list[JSON]:
        return self.runtime.state.messages(to=to)

    def calls(self, to: str | None = None) -> list[JSON]:
        return self.runtime.state.calls(to=to)

    def callbacks(self, sid: str | None = None) -> list[JSON]:
        return self.runtime.state.callbacks(sid=sid)

    def conversation(self, number: str) -> list[JSON]:
        return self.runtime.state.conversation(number)

    def set_number(self, number: str, *, sms: str | None = None, call: str | None = None) -> JSON:
        """As POST /sandbox/api/numbers/{number}; a typo fails here, not as a silent success."""
        _require_e164(number)
        if sms not in (None, *SMS_OUTCOMES) or call not in (None, *CALL_OUTCOMES):
            raise ValueError(f"sms must be one of {SMS_OUTCOMES}, call one of {CALL_OUTCOMES}")
        return self.runtime.state.configure_number(number, sms=sms, call=call)

    def reset(self) -> None:
        self._run(self.runtime.reset())

    def send_text(self, number: str, body: str, *, media_count: int = 0) -> JSON:
        """Text the line from `number`, as POST /sandbox/api/phones/{number}/messages does."""
        _require_e164(number)
        work = send_text(
            self.runtime, number, body, media_count=media_count, media_base=self.base_url
        )
        return self._run(work)

    def wait_until(self, check: Callable[[], T], timeout: float = 5.0) -> T:
        """Poll `check` until it returns something truthy, and return that."""
        deadline = time.monotonic() + timeout
        while not (result := check()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"sandbox condition not met within {timeout}s")
            time.sleep(0.01)
        return result

    def _run(self, work: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)


def _require_e164(number: str) -> None:
    if not is_e164(number):
        raise ValueError(f"{number!r} is not an E.164 phone number like +15145550123")


@contextmanager
def running_sandbox(
    config: SandboxConfig | None = None, *, host: str = "127.0.0.1"
) -> Iterator[SandboxHandle]:
    """Serve the sandbox on a free port in a daemon thread until the block exits."""
    app = create_app(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="twilio-sandbox", daemon=True)
    thread.start()
    runner = web.AppRunner(app, handle_signals=False)
    try:
        port = _call(loop, _start(runner, host))
        yield SandboxHandle(f"http://{host}:{port}", app[RUNTIME], loop)
    finally:
        _call(loop, runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STARTUP_TIMEOUT_S)
        loop.close()


async def _start(runner: web.AppRunner, host: str) -> int:
    # Binding port 0 ourselves tells us which free port the OS picked.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    await runner.setup()
    await web.SockSite(runner, sock).start()
    port: int = sock.getsockname()[1]
    return port


def _call(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, T]) -> T:
    return asyncio.run_coroutine_threadsafe(work, loop).result(STARTUP_TIMEOUT_S)
