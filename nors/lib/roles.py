"""Who may use the console. There is deliberately no role for law enforcement."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

OPERATORS = "operators"
SUPERVISORS = "supervisors"


def _in_group(user: Any, name: str) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.groups.filter(name=name).exists())


def is_supervisor(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False) and user.is_active) or _in_group(
        user, SUPERVISORS
    )


def is_operator(user: Any) -> bool:
    """Supervisors can answer the line too."""
    return _in_group(user, OPERATORS) or is_supervisor(user)


def display_name(user: Any) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())


def roles_ensure() -> tuple[Group, Group]:
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    supervisors, _ = Group.objects.get_or_create(name=SUPERVISORS)
    return operators, supervisors
