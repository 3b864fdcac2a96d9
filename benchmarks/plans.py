"""`python -m benchmarks.plans`: the emergency-response-plan panel's API under open-loop load.

Operators fill plans during live conversations. On the real stack (PostgreSQL, Redis, daphne;
no Celery worker or Twilio sandbox: the plan API sends nothing), in one run:

1. set-up through Django: --operators operators, a region, and one active session each
   (plus one more each for the warm-up); every operator logs in over HTTP;
2. warm-up: the same workload on the warm-up sessions;
3. baseline: `GET /healthz/` at the measured phase's rate, for the same time;
4. measured: each operator autosaves a draft about every --draft-interval seconds, the fields
   growing as they type, reads the plan (`GET plan/`, an audited read) after every
   --get-every drafts and saves a ready version after every --version-every drafts;
5. the database must then hold one version per version request that got 200, numbered
   1..k per client, the draft each session should still have, and one access record per read.

Load is open-loop (see benchmarks/load.py): every operator's requests are evenly spaced (a
draft every --draft-interval seconds on average, with the reads and versions in between), the
operators staggered and at different points of their plans (so they save versions at
different moments), and latency counts from each request's scheduled time.

The last line on stdout is one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from benchmarks.load import Call, Phase
from benchmarks.stack import (
    Stack,
    StackError,
    benchmark_main,
    defaults_apply,
    say,
    stack_options,
)
from benchmarks.webhooks import (
    CLIENT_EXCHANGE,
    WARMUP_EXCHANGE,
    _number,
    client_phones,
    db_read,
    django_setup,
    phase_run,
    stack_config,
)

LOGIN_PATH = "/accounts/login/"
BASELINE_PATH = "/healthz/"
PASSWORD = "bench-operator-password"  # noqa: S105 - operators of a throwaway local console
LOGIN_CONCURRENCY = 4
ENDPOINTS = ("draft", "get", "version")
SETTLE_QUIET_S = 1.0
SETTLE_TIMEOUT_S = 60.0
QUICK = {"operators": 4, "duration": 8.0, "warmup": 2.0, "get_every": 5, "version_every": 10}
DEFAULTS = {"operators": 20, "duration": 30.0, "warmup": 5.0, "get_every": 10, "version_every": 20}

# -- what the operators type -----------------------------------------------------------------

# The contact's number must never be one a client texts from (the plan would not be ready).
CONTACT_PHONE = "819 555 0199"
REGION_STEP = 5


def _contact(**typed: Any) -> list[dict[str, Any]]:
    return [{"name": "", "phone": "", "relationship": "", "agreed": False, **typed}]


# What the form holds after each pause in typing, as changes to the one before: the fields a
# ready plan needs come first, then the rest, then practical notes that keep growing.
TYPING: tuple[dict[str, Any], ...] = (
    {"address": "12"},
    {"address": "1234 rue Saint-"},
    {"address": "1234 rue Saint-Denis"},
    {"unit": "apt 5", "response": "both"},
    {"region": None},  # REGION_STEP: the bench region is picked from the list
    {"entry": "Buzzer 5, "},
    {"entry": "Buzzer 5, side door on the lane"},
    {"contacts": _contact(name="Sam")},
    {"contacts": _contact(name="Sam", phone="819 555")},
    {"contacts": _contact(name="Sam", phone=CONTACT_PHONE, relationship="friend", agreed=True)},
    {"landmarks": "Blue door next to the depanneur"},
    {"substances": "fentanyl"},
    {"amount": "a point"},
    {"route": "smoke"},
    {"naloxone": "yes"},
    {"others_nearby": "Roommate, asleep"},
    {"medical_notes": "Asthma"},
)
READY_AT = 10
NOTE_WORDS = ("Text", "first", "and", "wait", "two", "minutes", "before", "calling", "them")
MAX_NOTE_WORDS = 150  # about 1,000 characters, well under the field's limit


def typed_fields(step: int, region_id: int) -> dict[str, Any]:
    """The form after `step` (from 1) pauses in typing."""
    fields: dict[str, Any] = {}
    for change in TYPING[:step]:
        fields.update(change)
    if step >= REGION_STEP:
        fields["region"] = region_id
    extra = max(0, step - len(TYPING)) % MAX_NOTE_WORDS
    if extra:
        fields["practical_notes"] = " ".join(NOTE_WORDS[i % len(NOTE_WORDS)] for i in range(extra))
    return fields


# -- operators, their sessions and their requests ------------------------------------------


@dataclass(frozen=True)
class Operator:
    username: str
    session_id: int
    warmup_session_id: int
    cookie: str = ""
    csrf_token: str = ""


def operators_make(count: int) -> tuple[list[Operator], int]:
    """Operators, each owning one active session to measure and one to warm up on."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from clients.models import Region
    from monitoring.models import SessionStatus
    from nors.lib.roles import roles_ensure
    from tests.factories import session_make

    operators_group, _ = roles_ensure()
    user_model = get_user_model()
    # One hash for all: hashing a password costs the load generator about a second each.
    password = make_password(PASSWORD)
    users = user_model.objects.bulk_create(
        user_model(username=f"bench-operator-{i:03d}", password=password) for i in range(count)
    )
    operators_group.user_set.add(*users)
    measured = client_phones(count, CLIENT_EXCHANGE)
    warmup = client_phones(count, WARMUP_EXCHANGE)
    operators = [
        Operator(
            username=user.username,
            session_id=session_make(phone, SessionStatus.ACTIVE, user).pk,
            warmup_session_id=session_make(warm, SessionStatus.ACTIVE, user).pk,
        )
        for user, phone, warm in zip(users, measured, warmup, strict=True)
    ]
    return operators, Region.objects.create(name="Bench region").pk


async def _login(http: aiohttp.ClientSession, base_url: str, operator: Operator) -> Operator:
    """Logs in as the dashboard's login form does; returns the operator with their cookies."""
    async with http.get(base_url + LOGIN_PATH) as response:
        page = await response.text()
        csrf = response.cookies["csrftoken"].value
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if token is None:
        raise StackError("the login page has no CSRF token")
    form = {
        "username": operator.username,
        "password": PASSWORD,
        "csrfmiddlewaretoken": token.group(1),
        "next": "/",
    }
    # The cookies are Secure (DEBUG is off), so they are sent by hand over plain HTTP.
    headers = {"Cookie": f"csrftoken={csrf}", "Referer": base_url + LOGIN_PATH}
    post = http.post(base_url + LOGIN_PATH, data=form, headers=headers, allow_redirects=False)
    async with post as response:
        cookies = response.cookies
        if response.status != 302 or "sessionid" not in cookies:
            raise StackError(f"{operator.username} could not log in ({response.status})")
    # Logging in rotates the CSRF token.
    csrf = cookies["csrftoken"].value if "csrftoken" in cookies else csrf
    cookie = f"sessionid={cookies['sessionid'].value}; csrftoken={csrf}"
    return replace(operator, cookie=cookie, csrf_token=csrf)


async def operators_login(base_url: str, operators: Sequence[Operator]) -> list[Operator]:
    gate = asyncio.Semaphore(LOGIN_CONCURRENCY)

    async def one(http: aiohttp.ClientSession, operator: Operator) -> Operator:
        async with gate:
            return await _login(http, base_url, operator)

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        return list(await asyncio.gather(*(one(http, op) for op in operators)))


def _plan_path(session_id: int, action: str = "") -> str:
    return f"/api/sessions/{session_id}/plan/" + (f"{action}/" if action else "")


def _post(op: Operator, session_id: int, action: str, body: dict[str, Any], key: str) -> Call:
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Cookie": op.cookie,
        # Over plain HTTP Django checks no Referer, only this header against the cookie.
        "X-CSRFToken": op.csrf_token,
    }
    return Call("POST", _plan_path(session_id, action), json.dumps(body).encode(), headers, key)


def _get(op: Operator, session_id: int, key: str) -> Call:
    headers = {"Accept": "application/json", "Cookie": op.cookie}
    return Call("GET", _plan_path(session_id), headers=headers, key=key)


@dataclass(frozen=True)
class Workload:
    calls: list[Call]
    rate: float
    # The fields each draft request sent, by its key: the stored draft must be the last one.
    drafts_sent: dict[str, dict[str, Any]]


def requests_per_draft(args: argparse.Namespace) -> float:
    return 1 + 1 / args.get_every + 1 / args.version_every


def operator_calls(
    op: Operator,
    session_id: int,
    *,
    first_step: int,
    count: int,
    region_id: int,
    args: argparse.Namespace,
) -> tuple[list[Call], dict[str, dict[str, Any]]]:
    calls: list[Call] = []
    sent: dict[str, dict[str, Any]] = {}
    step = first_step - 1
    while len(calls) < count:
        step += 1
        fields = typed_fields(step, region_id)
        key = f"draft:{session_id}:{step}"
        calls.append(_post(op, session_id, "draft", {"fields": fields}, key))
        sent[key] = fields
        if step % args.version_every == 0:
            body = {"fields": fields, "ready": True}
            calls.append(_post(op, session_id, "versions", body, f"version:{session_id}:{step}"))
        if step % args.get_every == 0:
            calls.append(_get(op, session_id, f"get:{session_id}:{step}"))
    return calls[:count], sent


def first_steps(count: int, *, warmup: bool, args: argparse.Namespace) -> list[int]:
    """How far each operator has typed when the phase starts.

    Measured: spread over one version's worth of drafts, so the operators save (and read) at
    different moments, as they would, rather than all within the same half second. Warm-up:
    everyone saves a version within a few drafts, so the measured phase is not the first to
    run that code in each daphne process.
    """
    if warmup:
        return [max(1, args.version_every - 2)] * count
    return [1 + i * args.version_every // count for i in range(count)]


def workload(
    operators: Sequence[Operator],
    *,
    warmup: bool,
    duration_s: float,
    region_id: int,
    args: argparse.Namespace,
) -> Workload:
    """Every operator's requests, interleaved so that the operators are evenly staggered."""
    per_second = requests_per_draft(args) / args.draft_interval
    count = max(1, round(duration_s * per_second))
    sequences: list[list[Call]] = []
    sent: dict[str, dict[str, Any]] = {}
    starts = first_steps(len(operators), warmup=warmup, args=args)
    for op, first_step in zip(operators, starts, strict=True):
        session_id = op.warmup_session_id if warmup else op.session_id
        calls, drafts = operator_calls(
            op, session_id, first_step=first_step, count=count, region_id=region_id, args=args
        )
        sequences.append(calls)
        sent.update(drafts)
    calls = [sequence[i] for i in range(count) for sequence in sequences]
    return Workload(calls, per_second * len(operators), sent)


def endpoint(key: str) -> str:
    return key.split(":", 1)[0]


def session_of(key: str) -> int:
    return int(key.split(":")[1])


# -- the database, read after the load -----------------------------------------------------


def plans_settle(timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Waits until the plan tables stop changing.

    A request the client gave up on still runs to its end in daphne: it must not be missing
    from the counts.
    """
    from django.db.models import Max

    from clients.models import PlanVersion
    from monitoring.models import PersonalDataAccess, PlanDraft

    def snapshot() -> tuple[Any, ...]:
        latest_draft = PlanDraft.objects.aggregate(at=Max("updated_at"))["at"]
        return PlanVersion.objects.count(), PersonalDataAccess.objects.count(), latest_draft

    deadline = time.monotonic() + timeout_s
    last = db_read(snapshot, "settle")
    while time.monotonic() < deadline:
        time.sleep(SETTLE_QUIET_S)
        now = db_read(snapshot, "settle")
        if now == last:
            return
        say("settle: the console is still writing plans")
        last = now
    say(f"settle: still writing after {timeout_s:.0f}s; going on")


def versions_check(phase: Phase, session_ids: Sequence[int]) -> dict[str, int]:
    """One version per accepted request, numbered 1..k for each client without gaps."""
    from clients.models import PlanStatus, PlanVersion

    rows = list(
        PlanVersion.objects.filter(session_id__in=session_ids).values_list(
            "client_id", "number", "status"
        )
    )
    numbers: dict[int, list[int]] = defaultdict(list)
    for client_id, number, _status in rows:
        numbers[client_id].append(number)
    badly_numbered = sum(1 for n in numbers.values() if sorted(n) != list(range(1, len(n) + 1)))
    return {
        "version_requests_ok": sum(1 for r in phase.accepted if endpoint(r.key) == "version"),
        "versions_created": len(rows),
        "clients_with_versions": len(numbers),
        "clients_badly_numbered": badly_numbered,
        "versions_not_ready": sum(1 for row in rows if row[2] != PlanStatus.READY),
    }


def drafts_check(phase: Phase, sent: dict[str, dict[str, Any]]) -> dict[str, int]:
    """A session whose last accepted save was a draft still has it, exactly as typed.

    A version deletes the session's draft, so a session whose last save was a version has none.
    """
    from clients import plans
    from monitoring.models import PlanDraft

    last: dict[int, str] = {}
    saves = (r for r in phase.accepted if endpoint(r.key) in ("draft", "version"))
    for result in sorted(saves, key=lambda r: r.scheduled_at_s):
        last[session_of(result.key)] = result.key
    expected = {sid: key for sid, key in last.items() if endpoint(key) == "draft"}
    session_ids = {session_of(key) for key in sent}
    stored = {
        draft.session_id: json.loads(draft.fields_json)
        for draft in PlanDraft.objects.filter(session_id__in=session_ids)
    }
    latest = sum(
        1
        for sid, key in expected.items()
        if stored.get(sid) == plans.fields_parse(sent[key]).as_json()
    )
    return {
        "drafts_expected": len(expected),
        "drafts_present": len(expected.keys() & stored.keys()),
        "drafts_as_last_typed": latest,
        "drafts_unexpected": len(stored.keys() - expected.keys()),
    }


def reads_check(phase: Phase, session_ids: Sequence[int]) -> dict[str, int]:
    """Every plan read that answered 200 left exactly one access record."""
    from monitoring.models import PersonalDataAccess

    accesses = PersonalDataAccess.objects.filter(session_id__in=session_ids, field="plan")
    return {
        "reads_ok": sum(1 for r in phase.accepted if endpoint(r.key) == "get"),
        "access_records": accesses.count(),
    }


def checks_run(phase: Phase, work: Workload, operators: Sequence[Operator]) -> dict[str, Any]:
    session_ids = [op.session_id for op in operators]
    checks: dict[str, Any] = {
        **db_read(lambda: versions_check(phase, session_ids), "versions"),
        **db_read(lambda: drafts_check(phase, work.drafts_sent), "drafts"),
        **db_read(lambda: reads_check(phase, session_ids), "reads"),
    }
    checks["correct"] = (
        checks["versions_created"] == checks["version_requests_ok"]
        and checks["clients_badly_numbered"] == 0
        and checks["versions_not_ready"] == 0
        and checks["drafts_present"] == checks["drafts_expected"]
        and checks["drafts_as_last_typed"] == checks["drafts_expected"]
        and checks["drafts_unexpected"] == 0
        and checks["access_records"] == checks["reads_ok"]
    )
    return checks


# -- the run -------------------------------------------------------------------------------


def options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.plans",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--operators", type=int, help="concurrent operators (default 20)")
    parser.add_argument("--duration", type=float, help="seconds per measured phase (default 30)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up (default 5)")
    parser.add_argument(
        "--draft-interval",
        type=float,
        default=0.7,
        help="seconds between one operator's drafts, on average (default 0.7)",
    )
    parser.add_argument("--get-every", type=int, help="drafts per plan read (default 10)")
    parser.add_argument("--version-every", type=int, help="drafts per version saved (default 20)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--connections",
        type=int,
        default=64,
        help="client connection pool; requests beyond it wait, and the wait counts (default 64)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    stack_options(parser, database="nors_plans_bench", queue="nors-plans-bench")
    args = parser.parse_args(argv)
    defaults_apply(args, DEFAULTS, QUICK)
    if args.operators < 1 or args.duration <= 0 or args.warmup < 0 or args.draft_interval <= 0:
        parser.error("--operators and --duration must be positive, --warmup not negative")
    if args.get_every < 1 or args.version_every < READY_AT:
        parser.error(f"--get-every at least 1, --version-every at least {READY_AT} (a ready plan)")
    # The plan API queues no Celery task and sends no text.
    args.no_worker = args.no_sandbox = True
    return args


def phase_measure(
    stack: Stack, work: Workload, name: str, args: argparse.Namespace
) -> dict[str, Phase]:
    phase = phase_run(stack, work.calls, name, args, rate=work.rate)
    parts = {
        kind: Phase(
            kind,
            phase.rate,
            phase.expect_status,
            [r for r in phase.results if endpoint(r.key) == kind],
            phase.elapsed_s,
        )
        for kind in ENDPOINTS
    }
    return {"all": phase, **parts}


def benchmark(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    django_setup(stack)
    say(f"creating {args.operators} operators and their sessions")
    operators, region_id = operators_make(args.operators)
    operators = asyncio.run(operators_login(stack.console_url, operators))
    say(f"{len(operators)} operators logged in")
    if args.warmup > 0:
        warm = workload(
            operators, warmup=True, duration_s=args.warmup, region_id=region_id, args=args
        )
        phase_run(stack, warm.calls, "warm-up", args, rate=warm.rate)
        plans_settle()
    work = workload(
        operators, warmup=False, duration_s=args.duration, region_id=region_id, args=args
    )
    baseline_calls = [Call("GET", BASELINE_PATH) for _ in work.calls]
    baseline = phase_run(stack, baseline_calls, "baseline", args, rate=work.rate)
    measured = phase_measure(stack, work, "plans", args)
    plans_settle()
    checks = checks_run(measured["all"], work, operators)
    return report(args, work, measured, baseline, checks)


def report(
    args: argparse.Namespace,
    work: Workload,
    measured: dict[str, Phase],
    baseline: Phase,
    checks: dict[str, Any],
) -> dict[str, Any]:
    summaries = {kind: phase.summary() for kind, phase in measured.items()}
    base = baseline.summary()
    ratio = summaries["all"]["p99_ms"] / base["p99_ms"] if base["p99_ms"] > 0 else math.inf
    return {
        "benchmark": "plans",
        "operators": args.operators,
        "duration_s": _number(args.duration),
        "draft_interval_s": args.draft_interval,
        "get_every": args.get_every,
        "version_every": args.version_every,
        "rate": round(work.rate, 2),
        "web_workers": args.web_workers,
        **summaries,
        "baseline": base,
        "baseline_p50_ms": base["p50_ms"],
        "baseline_p99_ms": base["p99_ms"],
        "p99_ratio_to_baseline": round(ratio, 2),
        "errors": summaries["all"]["errors"],
        **checks,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = options(argv)
    return benchmark_main("plans", lambda: stack_config(args), lambda stack: benchmark(stack, args))


if __name__ == "__main__":
    sys.exit(main())
