"""Client codes: a name stand-in built from a few memorable, non-identifying answers.

Like the unique identifier codes of harm-reduction programmes: two letters of a parent's first
name, then birth month and day ("MA0712"). The same answers always give the same code, so a
client who forgot it can be found again. Pure functions only; storage is in services.
"""

from __future__ import annotations

import calendar
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass

# Letters that read and sound unlike each other in English and French (no I/L/O/Q/U/V/W...).
EASY_CONSONANTS = "BDFGKMNPRST"
EASY_VOWELS = "AEO"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class InvalidAnswers(ValueError):
    pass


@dataclass(frozen=True)
class Answers:
    parent_first_name: str
    birth_month: int
    birth_day: int

    def __post_init__(self) -> None:
        if not self.parent_first_name.strip():
            raise InvalidAnswers("parent_first_name")
        if not 1 <= self.birth_month <= 12:
            raise InvalidAnswers("birth_month")
        # Leap years included: the 29th of February is somebody's birthday.
        if not 1 <= self.birth_day <= calendar.monthrange(2024, self.birth_month)[1]:
            raise InvalidAnswers("birth_day")


def _folded(name: str) -> str:
    """Case, accents and spacing do not matter: 'Élise ', 'elise' and 'ELISE' are one answer."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _initial_letters(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", _folded(name))
    latin = [c.upper() for c in decomposed if c.upper() in LETTERS]
    if len(latin) >= 2:
        return "".join(latin[:2])
    # Names in other scripts still get two stable letters, drawn from the name itself.
    digest = hashlib.sha256(_folded(name).encode()).digest()
    return "".join(latin) + "".join(LETTERS[b % 26] for b in digest[: 2 - len(latin)])


def base_code(answers: Answers) -> str:
    letters = _initial_letters(answers.parent_first_name)
    return f"{letters}{answers.birth_month:02d}{answers.birth_day:02d}"


def fingerprint_text(answers: Answers) -> str:
    """What the blind index of the answers is computed over (never stored as such)."""
    return f"v1|{_folded(answers.parent_first_name)}|{answers.birth_month}|{answers.birth_day}"


def with_suffix(code: str, n: int) -> str:
    """The n-th code for different people whose answers share a base code (n from 2)."""
    return code if n < 2 else f"{code}-{n}"


def random_code() -> str:
    """For a client who prefers not to answer: easy to say and to hear over a bad line."""
    syllables = "".join(
        secrets.choice(EASY_CONSONANTS) + secrets.choice(EASY_VOWELS) for _ in range(2)
    )
    return f"{syllables}-{secrets.randbelow(90) + 10}"
