"""Open-loop load from one asyncio process.

Request i leaves at start + i / rate whatever happened to the ones before it, and its latency
counts from that scheduled time. A server that stalls therefore pays for every request that
should have left during the stall, instead of the client politely waiting (coordinated
omission), which would hide exactly the stalls a benchmark is for.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from benchmarks.stack import say

PROGRESS_EVERY_S = 5.0
# p99 per slice of the phase, by scheduled send time: a burst at the start (sessions opening)
# and a steady state that does not keep up look the same in a single p99.
WINDOW_S = 5.0


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # What identifies this request afterwards, e.g. its MessageSid in the database.
    key: str = ""


@dataclass(frozen=True)
class Result:
    key: str
    status: int | None
    # From the scheduled send time to the answer (or the failure: a timeout counts in full).
    latency_s: float
    send_lag_s: float
    scheduled_at_s: float
    error: str = ""


@dataclass(frozen=True)
class Phase:
    name: str
    rate: float
    expect_status: int
    results: list[Result]
    elapsed_s: float

    @property
    def accepted(self) -> list[Result]:
        return [r for r in self.results if r.status == self.expect_status]

    @property
    def errors(self) -> Counter[str]:
        return Counter(
            r.error or str(r.status) for r in self.results if r.status != self.expect_status
        )

    def latency_ms(self, pct: float) -> float:
        return percentile([r.latency_s * 1000 for r in self.results], pct)

    def p99_by_window_ms(self) -> list[float]:
        windows: dict[int, list[float]] = defaultdict(list)
        for r in self.results:
            windows[int(r.scheduled_at_s // WINDOW_S)].append(r.latency_s * 1000)
        return [round(percentile(windows[i], 99), 1) for i in sorted(windows)]

    def summary(self) -> dict[str, Any]:
        lags = [r.send_lag_s * 1000 for r in self.results]
        return {
            "requests": len(self.results),
            "errors": sum(self.errors.values()),
            "errors_by_kind": dict(self.errors),
            "throughput_rps": round(len(self.accepted) / self.elapsed_s, 1),
            "p50_ms": round(self.latency_ms(50), 2),
            "p90_ms": round(self.latency_ms(90), 2),
            "p99_ms": round(self.latency_ms(99), 2),
            "max_ms": round(self.latency_ms(100), 2),
            "max_send_lag_ms": round(max(lags, default=0.0), 2),
            f"p99_ms_by_{WINDOW_S:g}s": self.p99_by_window_ms(),
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest rank: the smallest value with at least pct% of the values at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


async def _send(
    session: aiohttp.ClientSession,
    base_url: str,
    call: Call,
    *,
    start: float,
    scheduled: float,
    timeout_s: float,
) -> Result:
    loop = asyncio.get_running_loop()
    lag = loop.time() - scheduled
    status: int | None = None
    error = ""
    try:
        async with session.request(
            call.method,
            base_url + call.path,
            data=call.body,
            headers=dict(call.headers),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            allow_redirects=False,
        ) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        error = type(exc).__name__
    return Result(call.key, status, loop.time() - scheduled, lag, scheduled - start, error)


async def _progress(name: str, tasks: list[asyncio.Task[Result]], total: int) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY_S)
        done = [t.result() for t in tasks if t.done()]
        slow = sum(1 for r in done if r.latency_s > 0.05)
        say(f"{name}: sent {len(tasks)}/{total}, finished {len(done)}, over 50 ms {slow}")


async def run_phase(
    base_url: str,
    calls: Sequence[Call],
    *,
    name: str,
    rate: float,
    expect_status: int = 200,
    timeout_s: float = 10.0,
    connections: int = 256,
) -> Phase:
    """Sends every call at its scheduled time; returns after the last one answered or timed out."""
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks: list[asyncio.Task[Result]] = []
        reporter = asyncio.create_task(_progress(name, tasks, len(calls)))
        start = loop.time() + 0.05
        try:
            for i, call in enumerate(calls):
                scheduled = start + i / rate
                delay = scheduled - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                sending = _send(
                    session, base_url, call, start=start, scheduled=scheduled, timeout_s=timeout_s
                )
                tasks.append(asyncio.create_task(sending))
            results = list(await asyncio.gather(*tasks))
        finally:
            reporter.cancel()
        elapsed = loop.time() - start
    return Phase(name, rate, expect_status, results, elapsed)
