"""The emergency plan panel in a real browser, on the real stack: sandbox, daphne, a worker.

Controls are found by role and accessible name, as a screen reader finds them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from clients.models import PlanVersion, Region
from clients.selectors import version_dict
from monitoring.models import Outcome, PlanDraft
from tests import support
from tests.monitoring.test_dashboard_browser import log_in, open_phone, queue_item, text_the_line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MISSING = "To be ready, this plan still needs:"


def claim_from_queue(page: Page) -> Locator:
    """Claims the sandbox phone's session and answers the plan panel beside it."""
    queue_item(page).click()
    page.get_by_role("button", name="Claim").click()
    panel = page.get_by_role("region", name="Emergency plan")
    expect(panel.get_by_role("button", name="Save version")).to_be_visible()
    return panel


def missing_items(panel: Locator) -> Locator:
    return panel.get_by_role("list", name=MISSING).get_by_role("button")


def in_force(panel: Locator) -> Locator:
    return panel.get_by_text(re.compile(r"^Version \d+ in force"))


def test_it_builds_a_plan_with_the_client_and_offers_it_again_next_time(
    live_stack: Any, operator: Any, browser: Browser
) -> None:
    Region.objects.create(name="Montréal")
    page = browser.new_context().new_page()
    log_in(page, live_stack.console_url, operator.username)
    phone = open_phone(browser, live_stack.sandbox_url)
    text_the_line(phone, "using alone tonight, can someone stay on?")
    panel = claim_from_queue(page)

    # A code from their answers; they agreed the line may know their number next time.
    answers = panel.get_by_role("group", name="Make or find a code from their answers")
    answers.get_by_label("A parent's first name").fill("Marie")
    answers.get_by_label("Birth month").select_option(label="July")
    answers.get_by_label("Birth day").fill("12")
    answers.get_by_label("Remember the number they text from (they agreed)").check()
    answers.get_by_role("button", name="Make or find code").click()
    expect(panel.get_by_text("Client code MA0712", exact=True)).to_be_visible()
    expect(panel.get_by_text("Number remembered")).to_be_visible()
    header = page.get_by_role("region", name="Selected session")
    expect(header.get_by_text("Client MA0712", exact=True)).to_be_visible()

    # Part of a plan: the panel says exactly what is still missing, and refuses "ready".
    panel.get_by_label("Street address").fill("4520 rue Saint-Denis")
    panel.get_by_role("radiogroup", name="Who do we call?").get_by_label(
        "Both EMS and their contact"
    ).check()
    expect(panel.get_by_role("radiogroup", name="In what order?")).to_be_visible()
    panel.get_by_role("button", name="Add a contact").click()
    contact = panel.get_by_role("group", name="Contact 1")
    expect(contact.get_by_label("Name or nickname")).to_be_focused()
    contact.get_by_label("Name or nickname").fill("Jo")
    expect(missing_items(panel)).to_have_text(
        [
            "Choose the region, so we can reach its dispatch line.",
            "Add a phone number for contact 1.",
        ]
    )
    expect(panel.get_by_role("status").filter(has_text="Saved as a draft at")).to_be_visible()
    panel.get_by_role("button", name="Save as ready").click()
    expect(panel.get_by_role("status").filter(has_text="Not saved:")).to_contain_text(
        "not ready yet"
    )
    expect(missing_items(panel)).to_have_count(2)
    number = contact.get_by_label("Phone number")
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_have_accessible_description("Add a phone number for contact 1.")
    expect(panel.get_by_text("No plan version is in force for this session yet.")).to_be_visible()
    assert not PlanVersion.objects.exists()
    panel.get_by_role("list", name=MISSING).get_by_role(
        "button", name="Add a phone number for contact 1."
    ).click()
    expect(number).to_be_focused()

    # The rest, then ready.
    number.fill("514 555 0199")
    contact.get_by_label("They agreed to be called").check()
    panel.get_by_label("Region", exact=True).select_option(label="Montréal")
    expect(panel.get_by_text("Nothing is missing: this plan can be saved as ready")).to_be_visible()
    expect(number).not_to_have_attribute("aria-invalid", "true")
    panel.get_by_role("button", name="Save as ready").click()
    expect(in_force(panel)).to_have_text(
        "Version 1 in force · Ready · Not yet confirmed by the client"
    )
    expect(header.get_by_text("Plan v1 · ready")).to_be_visible()
    # The number is stored the way the dialler needs it.
    expect(number).to_have_value("+15145550199")

    # The operator reads the plan back by text; nothing is sent until they send it.
    version = PlanVersion.objects.get()
    panel.get_by_role("button", name="Put the read-back in the reply box").click()
    reply = page.get_by_label("Reply")
    expect(reply).to_have_value(version_dict(version)["readback"])
    expect(reply).to_be_focused()
    assert "4520 rue Saint-Denis" in reply.input_value()
    panel.get_by_role("button", name="They confirmed the plan").click()
    expect(in_force(panel)).to_contain_text(
        "Version 1 in force · Ready · Confirmed by the client at"
    )
    expect(panel.get_by_role("button", name="They confirmed the plan")).to_have_count(0)
    version.refresh_from_db()
    assert version.confirmed_by == operator

    # The session ends; the same number texts again another night.
    reply.fill("")
    page.get_by_label("Outcome").select_option(value=Outcome.SUPPORTED_SAFE)
    page.get_by_role("button", name="End session").click()
    page.get_by_role("button", name="Yes, end it now").click()
    expect(page.get_by_text("The session has ended and its outcome is recorded.")).to_be_visible()
    expect(panel).to_be_hidden()
    text_the_line(phone, "hey it's me again")
    panel = claim_from_queue(page)

    # The number was remembered: the panel offers their code, and then their last plan.
    returning = panel.get_by_role("group", name="Returning client MA0712")
    expect(returning).to_contain_text("4520 rue Saint-Denis")
    returning.get_by_role("button", name="This is them: link their code").click()
    expect(panel.get_by_text("Client code MA0712", exact=True)).to_be_visible()
    expect(panel.get_by_text("Ask them before using it again.")).to_be_visible()
    expect(panel.get_by_label("Street address")).to_have_value("")
    panel.get_by_role("button", name="Change it with them").click()
    address = panel.get_by_label("Street address")
    expect(address).to_have_value("4520 rue Saint-Denis")
    expect(address).to_be_focused()
    address.fill("4522 rue Saint-Denis")
    panel.get_by_role("button", name="Save as ready").click()
    expect(in_force(panel)).to_contain_text("Version 2 in force · Ready")
    expect(panel.get_by_text("Ask them before using it again.")).to_be_hidden()
    latest = PlanVersion.objects.order_by("-number").first()
    assert latest is not None
    assert (latest.number, latest.address) == (2, "4522 rue Saint-Denis")


def draft_text() -> str:
    draft = PlanDraft.objects.first()
    return draft.fields_json if draft else ""


def reopen(page: Page) -> Locator:
    """Reloads the dashboard and opens my session again; answers the plan panel."""
    page.reload()
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    page.get_by_role("region", name="My sessions").get_by_role(
        "link", name=re.compile("ending in 0177")
    ).click()
    return page.get_by_role("region", name="Emergency plan")


def test_it_keeps_what_was_typed_across_a_reload(
    live_stack: Any, operator: Any, browser: Browser
) -> None:
    page = browser.new_context().new_page()
    log_in(page, live_stack.console_url, operator.username)
    phone = open_phone(browser, live_stack.sandbox_url)
    text_the_line(phone, "can you check on me in 10")
    panel = claim_from_queue(page)

    panel.get_by_label("Buzzer or entry instructions").fill("Buzz 12, the side door sticks")
    expect(panel.get_by_role("status").filter(has_text="Saved as a draft at")).to_be_visible()
    panel = reopen(page)
    entry = panel.get_by_label("Buzzer or entry instructions")
    expect(entry).to_have_value("Buzz 12, the side door sticks")
    # Personal data stays on the server.
    assert "side door" not in page.evaluate("JSON.stringify(localStorage)")

    # Typed, then gone before the autosave's pause: the page sends it as it goes away.
    entry.fill("Buzz 12, the side door sticks; knock twice")
    page.reload()
    support.wait_until(lambda: "knock twice" in draft_text())
    panel = reopen(page)
    entry = panel.get_by_label("Buzzer or entry instructions")
    expect(entry).to_have_value("Buzz 12, the side door sticks; knock twice")

    # Ctrl+S inside the panel saves a version, even one that is not ready.
    entry.press("Control+s")
    expect(in_force(panel)).to_have_text(
        "Version 1 in force · Not ready yet · Not yet confirmed by the client"
    )
    assert PlanVersion.objects.get().entry == "Buzz 12, the side door sticks; knock twice"
