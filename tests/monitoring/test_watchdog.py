"""The watchdog texts the supervisor on call when the timer sweeper stops, without Celery."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from monitoring import timers
from monitoring.models import TimerHeartbeat
from monitoring.watchdog import watchdog_check

pytestmark = pytest.mark.django_db

SUPERVISOR = "+15145550199"


@pytest.fixture(autouse=True)
def _on_call(settings: Any) -> None:
    settings.SUPERVISOR_ON_CALL_PHONE = SUPERVISOR
    settings.TIMER_STALE_SECONDS = 30


def beat_at(seconds_ago: float) -> None:
    TimerHeartbeat.objects.update_or_create(
        name=timers.HEARTBEAT,
        defaults={"last_run_at": timezone.now() - timedelta(seconds=seconds_ago)},
    )


def long_ago() -> Any:
    return timezone.now() - timedelta(hours=1)


def test_a_fresh_heartbeat_is_left_alone(sandbox: Any) -> None:
    timers.timers_sweep()
    assert watchdog_check(started_at=long_ago()) == "ok"
    assert sandbox.messages() == []


def test_a_stopped_sweeper_texts_the_supervisor_once_per_outage(sandbox: Any) -> None:
    beat_at(31)
    assert watchdog_check(started_at=long_ago()) == "stale_alerted"
    assert watchdog_check(started_at=long_ago()) == "stale_already_alerted"
    (text,) = sandbox.messages(to=SUPERVISOR)
    assert "timers have stopped" in text["body"]
    beat_at(0)
    assert watchdog_check(started_at=long_ago()) == "ok"
    beat_at(60)
    assert watchdog_check(started_at=long_ago()) == "stale_alerted"
    assert len(sandbox.messages(to=SUPERVISOR)) == 2


def test_a_sweeper_that_never_ran_counts_once_the_watchdog_has_waited(sandbox: Any) -> None:
    assert watchdog_check(started_at=timezone.now()) == "ok"
    assert watchdog_check(started_at=long_ago()) == "stale_alerted"


def test_without_a_number_it_says_so(settings: Any, sandbox: Any) -> None:
    settings.SUPERVISOR_ON_CALL_PHONE = ""
    beat_at(120)
    assert watchdog_check(started_at=long_ago()) == "stale_no_number"
    assert sandbox.messages() == []


def test_the_command_runs_one_look(sandbox: Any) -> None:
    beat_at(0)
    out = io.StringIO()
    call_command("timer_watchdog", "--once", stdout=out)
    assert out.getvalue().strip() == "ok"


def test_a_database_that_stays_down_is_an_outage_too(sandbox: Any) -> None:
    from django.db import OperationalError, connection

    from monitoring.watchdog import Watchdog

    def down(*args: Any) -> Any:
        raise OperationalError("could not connect to server")

    watchdog = Watchdog(started_at=long_ago())
    first = timezone.now()
    with connection.execute_wrapper(down):
        assert watchdog.look(first) == "database_down"
        assert watchdog.look(first + timedelta(seconds=31)) == "database_down_alerted"
        assert watchdog.look(first + timedelta(seconds=60)) == "database_down"
    assert len(sandbox.messages(to=SUPERVISOR)) == 1
    beat_at(0)
    assert watchdog.look() == "ok"
