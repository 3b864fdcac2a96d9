"""The embedded default (SQLite and the on-disk broker, as `manage.py devconsole` runs it) keeps
time as Redis does, with a real worker and beat, including after the worker is killed.

Silent clients: each prompt must reach the sandbox at most 1 s after it is due; the re-prompt and
the check call at most 2 s after the grace period ends; the contact's text and call at most 2 s
after the plan's response is due. The second group's countdown tasks are held by a worker that
is then killed with SIGKILL: what falls due while no worker runs counts from the new worker's
start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from clients.models import Region
from clients.plans import Contact, PlanFields
from dispatch.models import EscalationStep, StepKind
from monitoring import checkins, texts
from monitoring import plans as plan_services
from monitoring.models import CheckIn
from nors.celery import app as celery_app
from tests import support
from tests.factories import session_make

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        django_settings.CELERY_BROKER_URL != "filesystem://",
        reason="about the embedded default: runs with no REDIS_URL or CELERY_BROKER_URL set",
    ),
]

TIMINGS = {
    "CHECKIN_MIN_INTERVAL_SECONDS": "1",
    "CHECKIN_MIN_GRACE_SECONDS": "1",
    "ESCALATION_RESPONSE_WAIT_SECONDS": "2",
    "ALARM_WIDEN_SECONDS": "600",
    # Long enough that a prompt found by the sweeper rather than its countdown task is late.
    "TIMER_SWEEP_SECONDS": "5",
}
PROMPT_LATE_MAX = timedelta(seconds=1)
LADDER_LATE_MAX = timedelta(seconds=2)


@dataclass(frozen=True)
class Client:
    phone: str
    contact: str
    session_id: int


def monitored(operator: Any, region: Region, intervals: dict[int, int]) -> list[Client]:
    clients = []
    for n, interval in intervals.items():
        phone, contact = f"+1514555{1300 + n:04d}", f"+1514555{1400 + n:04d}"
        session = session_make(phone, status="active", operator=operator)
        plan = PlanFields(
            address=f"{100 + n} rue Saint-Denis",
            region=region.pk,
            response="contact",
            contacts=(Contact("Jo", contact, agreed=True),),
        )
        plan_services.plan_version_save(
            session_id=session.pk, user=operator, fields=plan, ready=True
        )
        checkins.monitoring_start(
            session_id=session.pk, user=operator, interval_seconds=interval, grace_seconds=2
        )
        clients.append(Client(phone, contact, session.pk))
    return clients


@contextmanager
def worker(env: dict[str, str], name: str) -> Iterator[subprocess.Popen[bytes]]:
    """A worker, once it reads the queue: its start is what the lateness counts from."""
    log = Path(os.environ.get("TEST_LOG_DIR", tempfile.gettempdir()))
    log /= f"nors-{name}-{os.getpid()}.log"
    with support.process(
        support.worker_command(),
        env,
        ready=lambda: log.exists() and " ready." in log.read_text(errors="replace"),
        log_name=name,
    ) as proc:
        yield proc


def kill_hard(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool processes, by their parent's pid: nothing cleans up."""
    subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def first(items: list[dict[str, Any]], body: str | None = None) -> datetime:
    times = [
        datetime.fromisoformat(i["received_at"]) for i in items if body is None or i["body"] == body
    ]
    assert times, f"nothing with {body!r} reached the sandbox"
    return min(times)


def lateness(box: Any, client: Client, since: datetime) -> dict[str, timedelta]:
    """How late each step reached the sandbox, counted from when it was due or from `since`,
    whichever came later."""
    checkin = CheckIn.objects.get(session_id=client.session_id, number=1)
    assert checkin.deadline_at is not None
    response = EscalationStep.objects.get(
        escalation__checkin=checkin, kind=StepKind.RESPONSE, status="done"
    )
    reprompt = texts.render(texts.CHECKIN_REPROMPT, "en")
    prompt = texts.render(texts.CHECKIN_PROMPT, "en")
    arrived = {
        "prompt": (first(box.messages(to=client.phone), prompt), checkin.prompt_at),
        "reprompt": (first(box.messages(to=client.phone), reprompt), checkin.deadline_at),
        "check_call": (first(box.calls(to=client.phone)), checkin.deadline_at),
        "contact_text": (first(box.messages(to=client.contact)), response.due_at),
        "contact_call": (first(box.calls(to=client.contact)), response.due_at),
    }
    return {kind: at - max(due, since) for kind, (at, due) in arrived.items()}


def too_late(late: dict[str, timedelta]) -> dict[str, float]:
    limits = {kind: PROMPT_LATE_MAX if kind == "prompt" else LADDER_LATE_MAX for kind in late}
    return {k: v.total_seconds() for k, v in late.items() if v > limits[k]}


def test_it_keeps_time_on_the_embedded_default_even_after_the_worker_is_killed(
    operator: Any, settings: Any
) -> None:
    from sandbox.config import SandboxConfig
    from sandbox.testing import running_sandbox

    for name, value in TIMINGS.items():
        setattr(settings, name, float(value))
    port = support.free_port()
    console = f"http://127.0.0.1:{port}"
    settings.PUBLIC_BASE_URL = console
    config = SandboxConfig(console_url=console, delay_ms=20, auth_token=settings.TWILIO_AUTH_TOKEN)
    region = Region.objects.create(name="Montréal")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        box = stack.enter_context(running_sandbox(config))
        settings.TWILIO_API_BASE_URL = box.base_url
        env = support.child_env(
            PUBLIC_BASE_URL=console,
            TWILIO_API_BASE_URL=box.base_url,
            TWILIO_AUTH_TOKEN=settings.TWILIO_AUTH_TOKEN,
            **TIMINGS,
        )
        celery_app.control.purge()
        stack.enter_context(support.daphne(env, port))
        stack.enter_context(support.celery_beat(env, str(Path(folder) / "schedule")))
        first_worker = stack.enter_context(worker(env, "worker-embedded"))
        started = timezone.now()
        steady = monitored(operator, region, {0: 3, 1: 3})
        box.wait_until(lambda: all(box.calls(to=c.contact) for c in steady), timeout=30)

        # Their countdown tasks reach the first worker, which dies holding them. The prompts
        # fall due after the second worker starts, 2 s apart: the sweeper alone, every 5 s,
        # would bring at least one more than 1 s late.
        killed = monitored(operator, region, {2: 8, 3: 10, 4: 12})
        time.sleep(1)
        kill_hard(first_worker)
        stack.enter_context(worker(env, "worker-embedded-2"))
        back = timezone.now()
        box.wait_until(lambda: all(box.calls(to=c.contact) for c in killed), timeout=40)

    late_steady = {c.phone: too_late(lateness(box, c, started)) for c in steady}
    late_killed = {c.phone: too_late(lateness(box, c, back)) for c in killed}
    assert late_steady == {c.phone: {} for c in steady}
    assert late_killed == {c.phone: {} for c in killed}
