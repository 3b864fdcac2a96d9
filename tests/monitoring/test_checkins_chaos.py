"""Chaos: the worker is killed with SIGKILL and Redis restarts empty while sessions are monitored.

The console runs for real (daphne, a Celery worker, beat, the sandbox) on a Redis server of
this test's own, with no persistence, so it can be killed. Every due prompt and every ladder
step must still happen, and nothing may reach the sandbox twice.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from clients.models import Region
from clients.plans import Contact, PlanFields
from dispatch.models import EscalationStep
from monitoring import checkins
from monitoring import plans as plan_services
from monitoring.models import CheckIn
from tests import support
from tests.factories import session_make

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REDIS = shutil.which("redis-server")
SESSIONS = 4
TIMINGS = {
    "CHECKIN_MIN_INTERVAL_SECONDS": "1",
    "CHECKIN_MIN_GRACE_SECONDS": "1",
    "ESCALATION_RESPONSE_WAIT_SECONDS": "2",
    "ALARM_WIDEN_SECONDS": "600",
    "TIMER_SWEEP_SECONDS": "1",
}


@contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    assert REDIS is not None
    command = [
        REDIS,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        support.wait_until(lambda: support._port_open(port), timeout=10)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def kill_hard(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool processes: nothing gets to clean up."""
    subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def monitored_sessions(operator: Any) -> list[str]:
    region = Region.objects.create(name="Montréal")
    contacts = []
    for i in range(SESSIONS):
        phone, contact = f"+1514555{1100 + i:04d}", f"+1514555{1200 + i:04d}"
        session = session_make(phone, status="active", operator=operator)
        plan = PlanFields(
            address=f"{100 + i} rue Saint-Denis",
            region=region.pk,
            response="contact",
            contacts=(Contact("Jo", contact, agreed=True),),
        )
        plan_services.plan_version_save(
            session_id=session.pk, user=operator, fields=plan, ready=True
        )
        checkins.monitoring_start(
            session_id=session.pk, user=operator, interval_seconds=4, grace_seconds=2
        )
        contacts.append(contact)
    return contacts


@pytest.mark.skipif(REDIS is None, reason="needs redis-server")
def test_nothing_is_missed_or_doubled_when_the_worker_dies_and_redis_restarts_empty(
    operator: Any, settings: Any, transactional_db: Any
) -> None:
    from sandbox.config import SandboxConfig
    from sandbox.testing import running_sandbox

    for name, value in TIMINGS.items():
        setattr(settings, name, float(value))
    redis_port, web_port = support.free_port(), support.free_port()
    console = f"http://127.0.0.1:{web_port}"
    settings.PUBLIC_BASE_URL = console
    config = SandboxConfig(console_url=console, delay_ms=20, auth_token=settings.TWILIO_AUTH_TOKEN)
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        box = stack.enter_context(running_sandbox(config))
        settings.TWILIO_API_BASE_URL = box.base_url
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        env = support.child_env(
            PUBLIC_BASE_URL=console,
            TWILIO_API_BASE_URL=box.base_url,
            TWILIO_AUTH_TOKEN=settings.TWILIO_AUTH_TOKEN,
            REDIS_URL=redis_url,
            CELERY_BROKER_URL=redis_url,
            **TIMINGS,
        )
        redis = stack.enter_context(redis_server(redis_port))
        stack.enter_context(support.daphne(env, web_port))
        beat = stack.enter_context(support.celery_beat(env, str(Path(folder) / "schedule")))
        worker = stack.enter_context(support.celery_worker(env))
        # The first prompts' countdown tasks go to a broker no worker reads (this process's):
        # only the sweeper can find them, as after a real loss.
        contacts = monitored_sessions(operator)
        time.sleep(1.5)
        kill_hard(worker)
        redis.kill()
        redis.wait()
        time.sleep(2)  # deadlines pass while nothing runs
        stack.enter_context(redis_server(redis_port))
        stack.enter_context(support.celery_worker(env))
        assert beat.poll() is None, "beat should ride out the Redis restart"

        def everyone_called() -> bool:
            return all(len(box.calls(to=c)) == 1 for c in contacts)

        box.wait_until(everyone_called, timeout=60)
        time.sleep(3)  # more sweeps: still nothing twice

    for contact in contacts:
        assert len(box.messages(to=contact)) == 1, contact
        assert len(box.calls(to=contact)) == 1, contact
    clients = [f"+1514555{1100 + i:04d}" for i in range(SESSIONS)]
    for phone in clients:
        bodies = [m["body"] for m in box.messages(to=phone)]
        assert len(bodies) == 3, (phone, bodies)  # started, prompt, re-prompt: once each
        assert len(box.calls(to=phone)) == 1
    assert CheckIn.objects.filter(status="missed").count() == SESSIONS
    assert EscalationStep.objects.filter(kind="response", status="done").count() == SESSIONS
