"""The sandbox's own API: play the phone, inspect traffic, set number behaviour, reset."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from datetime import datetime
from typing import Any

from aiohttp import web

from sandbox.config import CALL_OUTCOMES, SMS_OUTCOMES
from sandbox.inbound import send_text
from sandbox.phone_numbers import is_e164
from sandbox.resources import JSON
from sandbox.runtime import RUNTIME

API = "/sandbox/api"
MAX_MEDIA = 10
HEARTBEAT_S = 15.0


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _placeholder_png() -> bytes:
    """A 1x1 grey PNG: what every fake media URL of an inbound MMS serves."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


PLACEHOLDER_PNG = _placeholder_png()


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{API}/health", health),
        web.get(f"{API}/config", show_config),
        web.post(f"{API}/phones/{{number}}/messages", phone_sends),
        web.get(f"{API}/phones/{{number}}/messages", phone_conversation),
        web.get(f"{API}/phones/{{number}}/events", phone_events),
        web.get(f"{API}/messages", list_messages),
        web.get(f"{API}/calls", list_calls),
        web.get(f"{API}/callbacks", list_callbacks),
        web.get(f"{API}/numbers", list_numbers),
        web.post(f"{API}/numbers/{{number}}", configure_number),
        web.post(f"{API}/reset", reset),
        web.get("/sandbox/media/{sid}/{index}", media),
    ]


def bad_request(message: str) -> web.HTTPBadRequest:
    body = json.dumps({"error": message})
    return web.HTTPBadRequest(text=body, content_type="application/json")


def phone_number(request: web.Request) -> str:
    number = request.match_info["number"]
    if not is_e164(number):
        raise bad_request(f"{number!r} is not an E.164 phone number like +15145550123")
    return number


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except ValueError:
        raise bad_request("the request body must be JSON") from None
    if not isinstance(payload, dict):
        raise bad_request("the request body must be a JSON object")
    return payload


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def show_config(request: web.Request) -> web.Response:
    """What the phone page shows; never the auth token."""
    config = request.app[RUNTIME].config
    return web.json_response(
        {
            "account_sid": config.account_sid,
            "line_number": config.line_number,
            "console_url": config.console_url,
            "sms_webhook_url": config.sms_webhook_url,
            "delay_ms": config.delay_ms,
        }
    )


# The phone


async def phone_sends(request: web.Request) -> web.Response:
    number = phone_number(request)
    body, media_count = _text_fields(await json_object(request))
    result = await send_text(
        request.app[RUNTIME], number, body, media_count=media_count, media_base=_origin(request)
    )
    return web.json_response(result, status=201)


def _text_fields(payload: dict[str, Any]) -> tuple[str, int]:
    body, media_count = payload.get("body", ""), payload.get("media_count", 0)
    if not isinstance(body, str):
        raise bad_request("'body' must be a string")
    if not isinstance(media_count, int) or not 0 <= media_count <= MAX_MEDIA:
        raise bad_request(f"'media_count' must be a whole number from 0 to {MAX_MEDIA}")
    if not body and not media_count:
        raise bad_request("a text needs a 'body' or some media")
    return body, media_count


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def phone_conversation(request: web.Request) -> web.Response:
    number = phone_number(request)
    state = request.app[RUNTIME].state
    line = request.app[RUNTIME].config.line_number
    return web.json_response(
        {"number": number, "line_number": line, "messages": state.conversation(number)}
    )


async def phone_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: a full snapshot on every (re)connect, then changes as they come."""
    number = phone_number(request)
    state = request.app[RUNTIME].state
    stream = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await stream.prepare(request)
    queue = state.subscribe(number)
    try:
        await _send_event(stream, {"type": "snapshot", "messages": state.conversation(number)})
        await _forward_events(stream, queue)
    except ConnectionResetError:
        pass
    finally:
        state.unsubscribe(number, queue)
    return stream


async def _forward_events(stream: web.StreamResponse, queue: asyncio.Queue[JSON | None]) -> None:
    while True:
        try:
            event = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
        except TimeoutError:
            # A comment line keeps proxies from closing an idle stream.
            await stream.write(b": keep-alive\n\n")
            continue
        if event is None:
            return
        await _send_event(stream, event)


async def _send_event(stream: web.StreamResponse, event: JSON) -> None:
    data = json.dumps(event, ensure_ascii=False)
    await stream.write(f"event: {event['type']}\ndata: {data}\n\n".encode())


async def media(request: web.Request) -> web.Response:
    return web.Response(body=PLACEHOLDER_PNG, content_type="image/png")


# Inspection and behaviour


async def list_messages(request: web.Request) -> web.Response:
    state = request.app[RUNTIME].state
    messages = state.messages(to=request.query.get("to"), since=_since(request))
    return web.json_response({"messages": messages})


async def list_calls(request: web.Request) -> web.Response:
    state = request.app[RUNTIME].state
    calls = state.calls(to=request.query.get("to"), since=_since(request))
    return web.json_response({"calls": calls})


def _since(request: web.Request) -> datetime | None:
    """Lets a poller ask only for what is new instead of copying all traffic every time."""
    value = request.query.get("since")
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(f"'since' must be an ISO 8601 time, not {value!r}") from None
    if moment.tzinfo is None:
        raise bad_request("'since' needs a UTC offset, like the 'received_at' it comes from")
    return moment


async def list_callbacks(request: web.Request) -> web.Response:
    state = request.app[RUNTIME].state
    return web.json_response({"callbacks": state.callbacks(sid=request.query.get("sid"))})


async def list_numbers(request: web.Request) -> web.Response:
    return web.json_response({"numbers": request.app[RUNTIME].state.numbers()})


async def configure_number(request: web.Request) -> web.Response:
    number = phone_number(request)
    payload = await json_object(request)
    sms = _choice(payload, "sms", SMS_OUTCOMES)
    call = _choice(payload, "call", CALL_OUTCOMES)
    state = request.app[RUNTIME].state
    return web.json_response(state.configure_number(number, sms=sms, call=call))


def _choice(payload: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = payload.get(name)
    if value is not None and value not in allowed:
        raise bad_request(f"'{name}' must be one of: {', '.join(allowed)}")
    return value


async def reset(request: web.Request) -> web.Response:
    await request.app[RUNTIME].reset()
    return web.json_response({"reset": True})
