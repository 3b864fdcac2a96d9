"""Build the sandbox's aiohttp application."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from sandbox import control, rest
from sandbox.config import SandboxConfig
from sandbox.runtime import RUNTIME, SandboxRuntime

HERE = Path(__file__).parent
PHONE_PAGE = HERE / "templates" / "phone.html"


def create_app(config: SandboxConfig | None = None) -> web.Application:
    app = web.Application()
    runtime = SandboxRuntime(config or SandboxConfig())
    app[RUNTIME] = runtime
    app.cleanup_ctx.append(runtime.client_session)
    app.on_shutdown.append(runtime.close_streams)
    app.add_routes(rest.routes())
    app.add_routes(control.routes())
    app.add_routes(
        [
            web.get("/", phone_page),
            web.get("/phone/", phone_page),
            web.static("/sandbox/static", HERE / "static"),
        ]
    )
    return app


async def phone_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PHONE_PAGE, headers={"Cache-Control": "no-cache"})
