"""Fixtures for the sandbox's tests: a sandbox app and a stand-in console for its webhooks.

None of this touches Django: in real use the sandbox is a separate process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sandbox.app import create_app
from sandbox.runtime import RUNTIME
from tests.sandbox.helpers import Console, Sandbox, sandbox_config


@pytest.fixture
async def console() -> AsyncIterator[Console]:
    stub = Console()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stub.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    stub.base_url = str(server.make_url("")).rstrip("/")
    yield stub
    await server.close()


@pytest.fixture
def config_overrides() -> dict[str, object]:
    """Override in a test module to start the sandbox differently."""
    return {}


@pytest.fixture
async def box(console: Console, config_overrides: dict[str, object]) -> AsyncIterator[Sandbox]:
    app = create_app(sandbox_config(console, **config_overrides))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Sandbox(str(server.make_url("")).rstrip("/"), app[RUNTIME], http)
    await server.close()
