"""Segment counting, since the console shows operators what a long reply will cost."""

from __future__ import annotations

import pytest

from sandbox.segments import GSM7_BASIC, GSM7_EXTENSION, count_segments, is_gsm7


def test_it_knows_the_whole_gsm_alphabet() -> None:
    # 128 code points, minus the escape that leads into the extension table.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),
        ("€" * 81, 2),
        # An escape pair is never split: 152 + 2 septets does not fit in 153.
        ("a" * 152 + "€" + "a" * 7, 2),
        ("a" * 152 + "€" + "a" * 152, 3),
        ("Ça va? Où êtes-vous?", 1),
        ("ç" * 70, 1),
        ("ç" * 71, 2),
        ("ç" * 134, 2),
        ("ç" * 135, 3),
        ("😀" * 35, 1),
        # 33 emoji (66 units) fill a part; a 34th would need 68 of 67.
        ("😀" * 36, 2),
        ("😀" * 67, 3),
        ("a" * 69 + "😀", 2),
    ],
)
def test_it_counts_segments_like_a_carrier(body: str, segments: int) -> None:
    assert count_segments(body) == segments


def test_one_non_gsm_character_switches_the_whole_text_to_ucs2() -> None:
    # A typographic apostrophe, as phones autocorrect "'" into.
    curly = "\u2019"
    assert is_gsm7("a" * 100)
    assert not is_gsm7("a" * 100 + curly)
    assert count_segments("a" * 100 + curly) == 2
