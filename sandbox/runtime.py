"""What one running sandbox holds: its settings, its state, its HTTP client and tasks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.config import SandboxConfig
from sandbox.state import SandboxState


class SandboxRuntime:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.state = SandboxState(config)
        self._session: aiohttp.ClientSession | None = None
        # Strong references, or the loop may garbage-collect a callback sequence mid-flight.
        self._tasks: set[asyncio.Task[None]] = set()
        # A call's lifecycle waits on its event; a REST update (or the conference ending) sets
        # it once the call's final status is in the state.
        self.hangups: dict[str, asyncio.Event] = {}
        # Conference name -> SIDs of the calls connected to it.
        self.conferences: dict[str, set[str]] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the sandbox app has not started")
        return self._session

    @property
    def delay_s(self) -> float:
        return self.config.delay_ms / 1000

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def hangup_event(self, sid: str) -> asyncio.Event:
        return self.hangups.setdefault(sid, asyncio.Event())

    def hang_up(self, sid: str) -> None:
        self.hangup_event(sid).set()

    async def reset(self) -> None:
        # Cancel first, so no callback from before the reset lands in the fresh state.
        await self.cancel_tasks()
        self.hangups.clear()
        self.conferences.clear()
        self.state.reset()

    async def client_session(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: one pooled client for every webhook we send."""
        self._session = aiohttp.ClientSession()
        yield
        await self.cancel_tasks()
        await self._session.close()
        self._session = None

    async def close_streams(self, app: web.Application) -> None:
        """on_shutdown: end open event streams, which would otherwise hold shutdown up."""
        self.state.close_subscribers()


RUNTIME = web.AppKey("sandbox_runtime", SandboxRuntime)
