"""Static files, answered by the ASGI app in front of Django: only files from static folders."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.contrib.staticfiles import finders
from hypothesis import given, settings
from hypothesis import strategies as st

from nors.asgi import application
from tests.support import ROOT


async def _get(raw_path: str) -> tuple[int, bytes]:
    # As daphne hands it over: the path percent-decoded, the raw bytes beside it.
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }
    app = ApplicationCommunicator(application, scope)
    await app.send_input({"type": "http.request", "body": b"", "more_body": False})
    start: dict[str, Any] = await app.receive_output(5)
    body = b""
    while True:
        message = await app.receive_output(5)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], body


def get(raw_path: str) -> tuple[int, bytes]:
    return async_to_sync(_get)(raw_path)


@cache
def static_contents() -> set[str]:
    """A digest of every file the static folders hold: nothing else may ever be served."""
    roots = [Path(root) for finder in finders.get_finders() for root in _roots(finder)]
    files = [f for root in roots for f in root.rglob("*") if f.is_file()]
    return {hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def _roots(finder: Any) -> list[str]:
    if hasattr(finder, "locations"):
        return [root for _prefix, root in finder.locations]
    return [storage.location for storage in getattr(finder, "storages", {}).values()]


def test_it_serves_a_static_file() -> None:
    status, body = get("/static/console.css")
    assert status == 200 and body == (ROOT / "static" / "console.css").read_bytes()


@pytest.mark.parametrize(
    "raw_path",
    [
        "/static/..%2f..%2fnors%2fsettings.py",
        "/static/../nors/settings.py",
        "/static/%2e%2e/%2e%2e/nors/settings.py",
        "/static/admin/..%2f..%2f..%2f..%2fnors%2fsettings.py",
        "/static/..",
        "/static/..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    ],
)
def test_a_path_out_of_the_static_folders_is_a_404(raw_path: str) -> None:
    status, body = get(raw_path)
    assert status == 404
    assert b"SECRET_KEY" not in body and b"root:" not in body


ESCAPES = ["..", ".", "", "%2e%2e", "..%2f", "%2f", "%5c", "%00", "%ff", "~", "a" * 300]
NAMES = ["nors", "settings.py", "admin", "css", "base.css", "console.css", "etc", "passwd"]
SEGMENTS = st.sampled_from([*ESCAPES, *NAMES])


@settings(max_examples=60, deadline=None)
@given(st.lists(SEGMENTS | st.text(max_size=8), max_size=8))
def test_no_path_reaches_a_file_out_of_the_static_folders(segments: list[str]) -> None:
    status, body = get("/static/" + "/".join(segments))
    assert status in {200, 404}
    if status == 200:
        assert hashlib.sha256(body).hexdigest() in static_contents()
