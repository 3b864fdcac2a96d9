from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clients import codes

CODE = re.compile(r"^[A-Z]{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")
names = st.text(min_size=1).filter(lambda s: s.strip() != "")
dates = st.dates().map(lambda d: (d.month, d.day))


@given(name=names, date=dates)
def test_it_accepts_every_name_and_real_birthday(name: str, date: tuple[int, int]) -> None:
    code = codes.base_code(codes.Answers(name, *date))
    assert CODE.match(code), code


@given(name=names, date=dates)
def test_the_same_answers_always_give_the_same_code(name: str, date: tuple[int, int]) -> None:
    first = codes.Answers(name, *date)
    again = codes.Answers(name, *date)
    assert codes.base_code(first) == codes.base_code(again)
    assert codes.fingerprint_text(first) == codes.fingerprint_text(again)


@given(name=names, date=dates)
def test_case_accents_and_spacing_do_not_matter(name: str, date: tuple[int, int]) -> None:
    variants = [name.upper(), f"  {name}  ", name.lower()]
    expected = codes.fingerprint_text(codes.Answers(name.casefold(), *date))
    for variant in variants:
        if variant.casefold() == name.casefold() and variant.strip():
            assert codes.fingerprint_text(codes.Answers(variant, *date)) == expected


@pytest.mark.parametrize(
    ("name", "letters"),
    [
        ("Élise", "EL"),
        ("elise", "EL"),
        ("Ève-Marie", "EV"),
        ("  maryse ", "MA"),
        ("O'Neil", "ON"),
        ("Zoë", "ZO"),
    ],
)
def test_it_takes_two_letters_of_the_name(name: str, letters: str) -> None:
    assert codes.base_code(codes.Answers(name, 7, 12)) == f"{letters}0712"


def test_names_in_other_scripts_still_get_stable_letters() -> None:
    first = codes.base_code(codes.Answers("李娜", 2, 29))
    assert CODE.match(first) and first == codes.base_code(codes.Answers("李娜", 2, 29))
    assert first != codes.base_code(codes.Answers("王芳", 2, 29))


@pytest.mark.parametrize(("month", "day"), [(0, 1), (13, 1), (2, 30), (4, 31), (1, 0)])
def test_it_refuses_a_date_that_does_not_exist(month: int, day: int) -> None:
    with pytest.raises(codes.InvalidAnswers):
        codes.Answers("Maryse", month, day)


def test_it_refuses_a_blank_name() -> None:
    with pytest.raises(codes.InvalidAnswers):
        codes.Answers("   ", 1, 1)


def test_a_random_code_is_easy_to_say() -> None:
    for _ in range(200):
        assert re.match(r"^([BDFGKMNPRST][AEO]){2}-[1-9]\d$", codes.random_code())
