"""`python -m benchmarks.webhooks`: Twilio's inbound-SMS webhook under open-loop load.

On the real stack (PostgreSQL, Redis, daphne, a Celery worker sending the automatic replies
through the local Twilio sandbox), in one run:

1. warm-up: signed texts from numbers the measured phase never uses, then the outbox drains;
2. baseline: `GET /healthz/` at the same rate and for the same time;
3. measured: signed `POST /twilio/sms/`, each with a fresh MessageSid, from --phones numbers
   (with --open-sessions-first, each of those numbers has texted once before, so the texts
   join open conversations instead of opening 500 at once);
4. the outbox drains, and the database must hold exactly one inbound message per 200.

The last line on stdout is one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

import phonenumbers
from twilio.request_validator import RequestValidator

from benchmarks.load import Call, Phase, run_phase
from benchmarks.stack import (
    Stack,
    StackConfig,
    benchmark_main,
    defaults_apply,
    say,
    stack_options,
)

T = TypeVar("T")

WEBHOOK_PATH = "/twilio/sms/"
BASELINE_PATH = "/healthz/"
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-auth-token"  # noqa: S105 - signs requests to a throwaway local console
LINE_NUMBER = "+18005550100"
CLIENT_EXCHANGE = "+1514555"
WARMUP_EXCHANGE = "+1438555"
FIRST_LINE = 100
WARMUP_PHONES = 50

GOAL_P99_MS = 50.0
GOAL_P99_RATIO = 2.0
DRAIN_TIMEOUT_S = 180.0
DRAIN_STALL_S = 20.0
DB_ATTEMPTS = 15
SETTLE_QUIET_S = 1.0
SETTLE_TIMEOUT_S = 60.0
QUICK = {"rate": 50.0, "duration": 3.0, "warmup": 1.0, "phones": 20}
DEFAULTS = {"rate": 200.0, "duration": 30.0, "warmup": 5.0, "phones": 500}


# -- requests ------------------------------------------------------------------------------


def client_phones(count: int, exchange: str) -> list[str]:
    """Numbers the console accepts: it rejects texts from numbers that cannot exist."""
    if not 0 < count <= 10_000 - FIRST_LINE:
        raise ValueError(f"between 1 and {10_000 - FIRST_LINE} phones, not {count}")
    numbers = [f"{exchange}{line:04d}" for line in range(FIRST_LINE, FIRST_LINE + count)]
    for number in numbers:
        if not phonenumbers.is_valid_number(phonenumbers.parse(number)):
            raise ValueError(f"{number} is not a valid phone number")
    return numbers


def sms_call(*, public_url: str, phone: str, body: str) -> Call:
    """A text as Twilio posts it, signed against the URL the console believes it serves."""
    sid = "SM" + uuid.uuid4().hex
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": phone,
        "To": LINE_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(public_url + WEBHOOK_PATH, params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "X-Twilio-Signature": signature,
    }
    return Call("POST", WEBHOOK_PATH, urlencode(params).encode(), headers, key=sid)


def sms_calls(*, public_url: str, phones: Sequence[str], count: int, seed: int) -> list[Call]:
    """Built up front, so signing costs the load generator nothing while it is timing."""
    chooser = random.Random(seed)
    calls = []
    for i in range(count):
        phone = chooser.choice(phones)
        calls.append(sms_call(public_url=public_url, phone=phone, body=f"Still OK ({i})"))
    return calls


def baseline_calls(count: int) -> list[Call]:
    return [Call("GET", BASELINE_PATH) for _ in range(count)]


# -- the database, read after the load -----------------------------------------------------


def django_setup(stack: Stack) -> None:
    """Reads the benchmark database through the console's own models."""
    import django

    os.environ.update(stack.env)
    os.environ["DATABASE_URL"] = stack.reader_url
    django.setup()


def db_read(read: Callable[[], T], what: str) -> T:
    """Retries a read while PostgreSQL refuses connections (a run can exhaust max_connections)."""
    from django.db import OperationalError, connection

    for attempt in range(1, DB_ATTEMPTS + 1):
        try:
            return read()
        except OperationalError as exc:
            connection.close()
            if attempt == DB_ATTEMPTS:
                raise
            say(f"{what}: database unavailable ({str(exc).strip()}); retrying")
            time.sleep(2)
    raise AssertionError("unreachable")


def outbox_drain(timeout_s: float = DRAIN_TIMEOUT_S) -> int:
    """Waits until every queued text reached a final status; returns how many did not."""
    from telephony.models import FINAL_STATUSES, OutboundSMS

    start = last_change = reported = time.monotonic()
    last = -1
    unsent = OutboundSMS.objects.exclude(status__in=FINAL_STATUSES)
    while pending := db_read(unsent.count, "outbox"):
        now = time.monotonic()
        if pending != last:
            last, last_change = pending, now
        # No beat runs here, so a text whose task failed stays queued for good: don't wait on it.
        if now - start > timeout_s or now - last_change > DRAIN_STALL_S:
            say(f"outbox: {pending} texts still not final after {now - start:.0f}s")
            return pending
        if now - reported > 5:
            say(f"outbox: waiting for {pending} texts to be sent and delivered")
            reported = now
        time.sleep(0.25)
    return 0


def console_settle(timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Waits until no new messages appear.

    A request the client gave up on still runs to its end in daphne; that backlog must not
    weigh on the next phase, nor be missing from the counts.
    """
    from monitoring.models import Message

    deadline = time.monotonic() + timeout_s
    last = db_read(Message.objects.count, "settle")
    while time.monotonic() < deadline:
        time.sleep(SETTLE_QUIET_S)
        count = db_read(Message.objects.count, "settle")
        if count == last:
            return
        say(f"settle: the console is still storing messages ({count - last} more)")
        last = count
    say(f"settle: still storing messages after {timeout_s:.0f}s; going on")


def quiesce(args: argparse.Namespace) -> int:
    """Lets the console finish a phase's work; returns how many texts are still not final."""
    console_settle()
    return 0 if args.no_worker else outbox_drain()


def stored_check(phase: Phase) -> dict[str, int]:
    """Each accepted text is stored exactly once; nothing refused was half-stored."""
    from monitoring.models import Direction, Message

    sids = [r.key for r in phase.results]
    accepted = {r.key for r in phase.accepted}
    rows = list(
        Message.objects.filter(direction=Direction.INBOUND, twilio_sid__in=sids).values_list(
            "twilio_sid", flat=True
        )
    )
    stored = set(rows)
    return {
        "stored_messages": len(rows),
        "lost": len(accepted - stored),
        "duplicated": len(rows) - len(stored),
        "stored_but_refused": len(stored - accepted),
    }


def sessions_check(phones: Sequence[str]) -> dict[str, int]:
    """One session per number, and one automatic reply per session, sent and delivered."""
    from monitoring.models import Message, Session
    from nors.lib import crypto
    from telephony.models import OutboundStatus, StatusCallback

    indexes = [crypto.blind_index(phone) for phone in phones]
    sessions = Session.objects.filter(client_phone_index__in=indexes)
    replies = Message.objects.filter(session__in=sessions, automatic=True)
    return {
        "phones_texting": len(set(sessions.values_list("client_phone_index", flat=True))),
        "sessions_opened": sessions.count(),
        "auto_replies": replies.count(),
        "auto_replies_delivered": replies.filter(outbound__status=OutboundStatus.DELIVERED).count(),
        # Each reply brings Twilio's status callbacks back to the same console.
        "status_callbacks": StatusCallback.objects.filter(
            twilio_sid__in=replies.values("outbound__twilio_sid")
        ).count(),
    }


# -- the run -------------------------------------------------------------------------------


def options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.webhooks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rate", type=float, help="requests per second (default 200)")
    parser.add_argument("--duration", type=float, help="seconds per measured phase (default 30)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up (default 5)")
    parser.add_argument("--phones", type=int, help="distinct client numbers (default 500)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--no-worker", action="store_true", help="leave automatic replies queued")
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run without the Twilio sandbox (implies --no-worker)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=64,
        help="client connection pool; requests beyond it wait, and the wait counts (default 64)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument(
        "--open-sessions-first",
        action="store_true",
        help="open every measured number's session before measuring",
    )
    parser.add_argument("--seed", type=int, default=1, help="which number sends each text")
    stack_options(parser, database="nors_bench", queue="nors-bench")
    args = parser.parse_args(argv)
    defaults_apply(args, DEFAULTS, QUICK)
    if args.rate <= 0 or args.duration <= 0 or args.warmup < 0:
        parser.error("--rate and --duration must be positive, --warmup not negative")
    if args.no_sandbox:
        args.no_worker = True
    return args


def stack_config(args: argparse.Namespace) -> StackConfig:
    return StackConfig(
        database_url=args.database_url,
        admin_url=args.admin_url,
        connection_limit=args.db_connection_limit,
        redis_url=args.redis_url,
        queue=args.queue,
        channels_prefix=args.queue,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        line_number=LINE_NUMBER,
        worker=not args.no_worker,
        sandbox=not args.no_sandbox,
        web_workers=args.web_workers,
    )


def phase_run(
    stack: Stack, calls: list[Call], name: str, args: argparse.Namespace, rate: float = 0
) -> Phase:
    rate = rate or args.rate
    say(f"{name}: {len(calls)} requests at {rate:g}/s")
    phase = asyncio.run(
        run_phase(
            stack.console_url,
            calls,
            name=name,
            rate=rate,
            timeout_s=args.timeout,
            connections=args.connections,
        )
    )
    summary = phase.summary()
    say(
        f"{name}: p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, "
        f"max {summary['max_ms']} ms, errors {summary['errors']} {summary['errors_by_kind']}"
    )
    return phase


def benchmark(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    django_setup(stack)
    count = math.ceil(args.rate * args.duration)
    phones = client_phones(args.phones, CLIENT_EXCHANGE)
    if args.warmup > 0:
        warm_phones = client_phones(min(args.phones, WARMUP_PHONES), WARMUP_EXCHANGE)
        warm = sms_calls(
            public_url=stack.console_url,
            phones=warm_phones,
            count=math.ceil(args.rate * args.warmup),
            seed=args.seed + 1,
        )
        phase_run(stack, warm, "warm-up", args)
        quiesce(args)
    if args.open_sessions_first:
        # Texts then join open conversations, as most texts do: a session opens once and
        # carries many. The opening burst (auto-reply, worker, its callbacks) stays out.
        opening = [sms_call(public_url=stack.console_url, phone=p, body="Hi?") for p in phones]
        phase_run(stack, opening, "opening sessions", args, rate=min(args.rate, 50.0))
        quiesce(args)
    baseline = phase_run(stack, baseline_calls(count), "baseline", args)
    calls = sms_calls(public_url=stack.console_url, phones=phones, count=count, seed=args.seed)
    webhooks = phase_run(stack, calls, "webhooks", args)
    undrained = quiesce(args)
    checks = {
        **db_read(lambda: stored_check(webhooks), "stored messages"),
        **db_read(lambda: sessions_check(phones), "sessions"),
        "outbox_not_final": undrained,
    }
    return report(args, webhooks, baseline, checks)


def report(
    args: argparse.Namespace, webhooks: Phase, baseline: Phase, checks: dict[str, int]
) -> dict[str, Any]:
    measured, base = webhooks.summary(), baseline.summary()
    ratio = measured["p99_ms"] / base["p99_ms"] if base["p99_ms"] > 0 else math.inf
    correct = measured["errors"] == 0 and checks["lost"] == 0 and checks["duplicated"] == 0
    return {
        "benchmark": "webhooks",
        "rate": _number(args.rate),
        "duration_s": _number(args.duration),
        "phones": args.phones,
        "worker": not args.no_worker,
        "web_workers": args.web_workers,
        "sessions_open_before_measuring": args.open_sessions_first,
        **measured,
        **{f"baseline_{key}": value for key, value in base.items()},
        "p99_ratio_to_baseline": round(ratio, 2),
        **checks,
        "goal_met": correct and measured["p99_ms"] <= GOAL_P99_MS and ratio <= GOAL_P99_RATIO,
    }


def _number(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def main(argv: Sequence[str] | None = None) -> int:
    args = options(argv)
    return benchmark_main(
        "webhooks", lambda: stack_config(args), lambda stack: benchmark(stack, args)
    )


if __name__ == "__main__":
    sys.exit(main())
