from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User

from nors.celery import app as celery_app
from nors.lib.roles import roles_ensure
from tests import support

PASSWORD = "correct-horse-battery-staple"


def _user(username: str, *, operator: bool = False, supervisor: bool = False) -> User:
    operators, supervisors = roles_ensure()
    user = User.objects.create_user(
        username=username, password=PASSWORD, first_name=username.capitalize()
    )
    if operator or supervisor:
        user.groups.add(operators)
    if supervisor:
        user.groups.add(supervisors)
        user.is_staff = True  # the admin site itself only lets staff in
        user.save(update_fields=["is_staff"])
    return user


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """A request in French leaves the thread in French; each test starts in the default."""
    from django.utils import translation

    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture
def operator(db: Any) -> User:
    return _user("alice", operator=True)


@pytest.fixture
def operator2(db: Any) -> User:
    return _user("bob", operator=True)


@pytest.fixture
def supervisor(db: Any) -> User:
    return _user("sam", supervisor=True)


@pytest.fixture
def outsider(db: Any) -> User:
    """Logged in, but not staff of the line: sees nothing."""
    return _user("olive")


@pytest.fixture
def sandbox(settings: Any) -> Iterator[Any]:
    """The local Twilio sandbox, running in this process, with the console pointed at it."""
    from sandbox.config import SandboxConfig
    from sandbox.testing import running_sandbox

    # Callbacks go nowhere: these tests drive the console in-process, not over HTTP.
    config = SandboxConfig(
        console_url=f"http://127.0.0.1:{support.free_port()}",
        delay_ms=0,
        auth_token=settings.TWILIO_AUTH_TOKEN,
    )
    with running_sandbox(config) as box:
        settings.TWILIO_API_BASE_URL = box.base_url
        yield box


@dataclass
class LiveStack:
    console_url: str
    sandbox_url: str
    sandbox: Any
    env: dict[str, str]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Debian's chromium, driven by sync Playwright, for the dashboard's end-to-end tests.

    Sync Playwright keeps an event loop in the test's thread, so Django would refuse the ORM
    calls the test makes there. The loop only drives the browser and never runs Django code, so
    the guard stands down.
    """
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def live_stack_env() -> dict[str, str]:
    """Extra environment for the live stack's processes. A test module may override it."""
    return {}


@pytest.fixture
def live_stack(
    transactional_db: Any, settings: Any, live_stack_env: dict[str, str]
) -> Iterator[LiveStack]:
    """The whole console for real: the sandbox, daphne serving the console, a Celery worker.

    All of it runs against the test database, so a test can set up and inspect rows directly.
    """
    from sandbox.config import SandboxConfig
    from sandbox.testing import running_sandbox

    port = support.free_port()
    console_url = f"http://127.0.0.1:{port}"
    settings.PUBLIC_BASE_URL = console_url
    config = SandboxConfig(
        console_url=console_url, delay_ms=20, auth_token=settings.TWILIO_AUTH_TOKEN
    )
    with running_sandbox(config) as box:
        settings.TWILIO_API_BASE_URL = box.base_url
        env = support.child_env(
            PUBLIC_BASE_URL=console_url,
            TWILIO_API_BASE_URL=box.base_url,
            TWILIO_AUTH_TOKEN=settings.TWILIO_AUTH_TOKEN,
            **live_stack_env,
        )
        # Tasks left on the test queue by earlier tests name rows that no longer exist.
        celery_app.control.purge()
        with support.daphne(env, port), support.celery_worker(env):
            yield LiveStack(console_url, box.base_url, box, env)


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Lets the per-run test database be dropped: threads from async tests keep connections."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
