"""What a plan needs before anyone could act on it, for each response the client can choose."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clients.plans import (
    Contact,
    PlanFields,
    PlanInputError,
    fields_parse,
    invalid_numbers,
    numbers_normalized,
    problems_find,
)

CLIENT_PHONE = "+15145550123"
SISTER = Contact(name="Maryse", phone="514 555 0188", relationship="sister", agreed=True)
HOME: dict[str, Any] = {"address": "42 Rue Sainte-Catherine", "entry": "Door unlocked, buzzer 7"}


def missing(plan: PlanFields) -> list[str]:
    return [p.field for p in problems_find(plan, client_phone=CLIENT_PHONE).missing]


def test_it_asks_what_should_happen_first() -> None:
    assert missing(PlanFields()) == ["response"]


def test_ems_needs_an_address_and_a_region() -> None:
    assert missing(PlanFields(response="ems")) == ["address", "region"]
    assert missing(PlanFields(response="ems", region=1, **HOME)) == []


def test_ems_does_not_need_a_contact() -> None:
    plan = PlanFields(response="ems", region=1, **HOME)
    assert problems_find(plan).ready


def test_an_address_without_a_number_needs_landmarks() -> None:
    vague = PlanFields(response="ems", region=1, address="Chemin du Lac")
    assert missing(vague) == ["landmarks"]
    found = PlanFields(
        response="ems", region=1, address="Chemin du Lac", landmarks="Blue cabin past the marina"
    )
    assert missing(found) == []


def test_a_contact_response_needs_a_contact() -> None:
    assert missing(PlanFields(response="contact", **HOME)) == ["contacts"]


def test_a_contact_response_does_not_need_a_region() -> None:
    assert missing(PlanFields(response="contact", contacts=(SISTER,), **HOME)) == []


def test_a_contact_needs_a_name_and_a_valid_number() -> None:
    plan = PlanFields(response="contact", contacts=(Contact(phone="12"),), **HOME)
    problems = problems_find(plan).missing
    assert [p.field for p in problems] == ["contacts.0.name", "contacts.0.phone"]
    assert "not a valid phone number" in problems[1].message
    blank = PlanFields(response="contact", contacts=(Contact(name="Jo"),), **HOME)
    assert missing(blank) == ["contacts.0.phone"]


def test_the_contact_cannot_be_the_number_the_client_texts_from() -> None:
    own = Contact(name="Me", phone="(514) 555-0123", agreed=True)
    problems = problems_find(
        PlanFields(response="contact", contacts=(own,), **HOME), client_phone=CLIENT_PHONE
    )
    assert [p.field for p in problems.missing] == ["contacts.0.phone"]
    assert "texts from" in problems.missing[0].message


def test_both_needs_everything_ems_and_the_contact_need() -> None:
    assert missing(PlanFields(response="both")) == ["address", "region", "contacts"]
    ready = PlanFields(
        response="both", order="contact_first", wait_for_contact=True, region=1,
        contacts=(SISTER,), **HOME,
    )  # fmt: skip
    assert missing(ready) == []


def test_advice_never_blocks() -> None:
    plan = PlanFields(
        response="contact",
        address="42 Rue Sainte-Catherine",
        contacts=(Contact("Jo", "5145550188"),),
    )
    problems = problems_find(plan)
    assert problems.ready
    assert {p.field for p in problems.advice} == {"entry", "contacts.0.agreed", "naloxone"}


def test_a_number_typed_for_a_contact_is_checked_even_when_only_ems_is_called() -> None:
    plan = PlanFields(response="ems", region=1, contacts=(Contact("Jo", "999"),), **HOME)
    assert missing(plan) == ["contacts.0.phone"]


def test_invalid_numbers_are_found_and_valid_ones_normalised() -> None:
    plan = PlanFields(contacts=(SISTER, Contact("Jo", "not a number")))
    assert [p.field for p in invalid_numbers(plan).missing] == ["contacts.1.phone"]
    assert numbers_normalized(PlanFields(contacts=(SISTER,))).contacts[0].phone == "+15145550188"


# -- parsing what the form sends ---------------------------------------------------------------


def test_what_the_form_sends_round_trips() -> None:
    plan = PlanFields(
        response="both", region=3, contacts=(SISTER,), naloxone="yes", language="fr", **HOME
    )
    assert fields_parse(plan.as_json()) == plan


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "set of fields"),
        ({"address": 42}, "must be text"),
        ({"response": "police"}, "not one of the choices"),
        ({"language": "de"}, "not one of the choices"),
        ({"region": "Montréal"}, "region"),
        ({"region": True}, "region"),
        ({"wait_for_contact": "yes"}, "true or false"),
        ({"contacts": {"name": "Jo"}}, "must be a list"),
        ({"contacts": ["Jo"]}, "set of fields"),
        ({"contacts": [{}] * 4}, "at most 3"),
        ({"medical_notes": "x" * 2001}, "too long"),
        ({"address": "x" * 301}, "too long"),
    ],
)
def test_malformed_plans_get_a_clear_error(data: Any, message: str) -> None:
    with pytest.raises(PlanInputError, match=message):
        fields_parse(data)


def test_blank_values_and_nul_characters_are_tidied() -> None:
    plan = fields_parse({"address": "  42 Main\x00 St ", "region": "", "route": None})
    assert (plan.address, plan.region, plan.route) == ("42 Main St", None, "")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["address", "unit", "region", "response", "order", "contacts", "language", "naloxone"]
)


@given(st.dictionaries(field_names, json_values))
def test_any_json_gives_a_plan_or_a_clear_error(data: dict[str, Any]) -> None:
    try:
        plan = fields_parse(data)
    except PlanInputError as exc:
        assert str(exc)
        return
    problems_find(plan, client_phone=CLIENT_PHONE)
    invalid_numbers(plan)
