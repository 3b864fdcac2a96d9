"""Status moves as compare-and-set, checked against the model's table of allowed moves.

Every status change of a session, a monitoring, a check-in, an escalation and a ladder step
goes through `status_move`: a move the table does not allow is a bug and raises; a move that
changes no row means another worker got there first, and the caller stops quietly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models


class IllegalTransition(RuntimeError):
    pass


def status_move(
    rows: models.QuerySet[Any],
    table: Mapping[str, Iterable[str]],
    *,
    old: str | Iterable[str],
    new: str,
    **changes: Any,
) -> int:
    """Moves the rows still in `old` to `new`. Returns how many moved."""
    olds = [old] if isinstance(old, str) else list(old)
    for state in olds:
        if new not in table[state]:
            raise IllegalTransition(f"{rows.model.__name__}: {state} -> {new} is not allowed")
    return rows.filter(status__in=olds).update(status=new, **changes)
