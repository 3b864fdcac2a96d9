"""static/dispatch_call.js on its own, in chromium: the legs it keeps when events cross.

The worker and the web process both publish a leg's moves, so the page can hear "ringing"
after "joined"; a leg must not go back. The page's own files are served from static/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Route

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "static"
ORIGIN = "http://console.test"
PAGE = "<!doctype html><script>window.gettext = (s) => s; window.interpolate = (s) => s;</script>"


def _serve(route: Route) -> None:
    path = route.request.url[len(ORIGIN) :].split("?")[0]
    if path == "/":
        route.fulfill(body=PAGE, content_type="text/html")
    else:
        route.fulfill(path=str(STATIC / path.lstrip("/")), content_type="text/javascript")


def _merged(browser: Browser, known: Any, incoming: Any) -> Any:
    page = browser.new_context().new_page()
    page.route(f"{ORIGIN}/**", _serve)
    page.goto(f"{ORIGIN}/")
    return page.evaluate(
        "async ([known, incoming]) => (await import('/dispatch_call.js')).merged(known, incoming)",
        [known, incoming],
    )


def _call(*legs: tuple[int, str, str]) -> dict[str, Any]:
    shown = [{"id": pk, "leg": leg, "status": status, "label": status} for pk, leg, status in legs]
    return {"type": "dispatch_call", "escalation_id": 1, "legs": shown, "live": True}


def test_a_late_ringing_does_not_take_a_joined_leg_back(browser: Browser) -> None:
    joined = _call((7, "operator", "in-progress"), (8, "dispatch", "ringing"))
    late = _call((7, "operator", "ringing"), (8, "dispatch", "in-progress"))
    legs = _merged(browser, joined, late)["legs"]
    assert [(leg["leg"], leg["status"]) for leg in legs] == [
        ("operator", "in-progress"),
        ("dispatch", "in-progress"),
    ]


def test_a_new_call_replaces_the_last_ones_legs(browser: Browser) -> None:
    ended = _call((7, "operator", "completed"), (8, "dispatch", "completed"))
    again = _call((9, "operator", "ringing"), (10, "dispatch", "initiated"))
    merged = _merged(browser, ended, again)
    assert [leg["status"] for leg in merged["legs"]] == ["ringing", "initiated"]
    assert merged["live"] is True


def test_a_call_whose_legs_have_all_ended_is_not_live(browser: Browser) -> None:
    joined = _call((7, "operator", "in-progress"), (8, "dispatch", "completed"))
    ended = _call((7, "operator", "completed"), (8, "dispatch", "completed"))
    assert _merged(browser, joined, ended)["live"] is False
