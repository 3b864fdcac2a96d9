"""Demo accounts for trying the console and for training. Never in production."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from clients.models import Region
from dispatch.models import DispatchLine, OperatorPhone
from nors.lib import roles


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str


DEMO_LOGINS = (
    DemoLogin("operator", "operator", "demo-operator-2026"),
    DemoLogin("operator", "operator2", "demo-operator-2026"),
    DemoLogin("supervisor", "supervisor", "demo-supervisor-2026"),
)


def demo_accounts_seed() -> tuple[DemoLogin, ...]:
    if not settings.DEBUG:
        raise ImproperlyConfigured("DEBUG: demo accounts are only seeded when DEBUG is on")
    operators, supervisors = roles.roles_ensure()
    for login in DEMO_LOGINS:
        user, _ = get_user_model().objects.get_or_create(username=login.username)
        user.set_password(login.password)
        user.is_staff = login.role == "supervisor"
        user.save()
        user.groups.add(operators)
        if login.role == "supervisor":
            user.groups.add(supervisors)
        phone = f"+1514555{9000 + DEMO_LOGINS.index(login)}"
        OperatorPhone.objects.update_or_create(user=user, defaults={"phone": phone})
    return DEMO_LOGINS


# Example dispatch regions; a real line's supervisors keep their own list in the admin.
DEMO_REGIONS = ("Halifax", "Montréal", "Toronto", "Vancouver", "Winnipeg")


def demo_regions_seed() -> tuple[str, ...]:
    if not settings.DEBUG:
        raise ImproperlyConfigured("DEBUG: demo regions are only seeded when DEBUG is on")
    for i, name in enumerate(DEMO_REGIONS):
        region, _ = Region.objects.get_or_create(name=name)
        # Sandbox numbers: in the demo, "calling dispatch" rings the local Twilio sandbox.
        DispatchLine.objects.get_or_create(
            region=region,
            defaults={"name": f"{name} EMS dispatch (demo)", "phone": f"+1514555{9100 + i}"},
        )
    return DEMO_REGIONS
