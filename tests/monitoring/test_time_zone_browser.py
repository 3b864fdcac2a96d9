"""Every time on the dashboard is in the line's zone, labelled, whatever the browser's clock."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, expect

from monitoring.models import Message
from tests.monitoring.test_dashboard_browser import log_in, open_phone, queue_item, text_the_line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_dashboard_shows_the_lines_zone_not_the_browsers(
    live_stack: Any, operator: Any, browser: Browser
) -> None:
    # Tokyo is 13 or 14 hours from Toronto: the browser's clock would show another hour.
    page = browser.new_context(timezone_id="Asia/Tokyo").new_page()
    log_in(page, live_stack.console_url, operator.username)
    zone = settings.TIME_ZONE
    expect(page.get_by_text(f"Times in {zone}")).to_be_visible()

    text_the_line(open_phone(browser, live_stack.sandbox_url), "is anyone there?")
    queue_item(page).click()
    received = Message.objects.get(direction="in").created_at
    line_hour = timezone.localtime(received, ZoneInfo(zone)).strftime("%I:%M")
    tokyo_hour = received.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%I:%M")
    assert line_hour != tokyo_hour
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_contain_text(line_hour)
    assert tokyo_hour not in (log.text_content() or "")
