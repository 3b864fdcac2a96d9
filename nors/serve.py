"""`python -m nors.serve`: several daphne processes sharing one listening socket.

One daphne process is one Python interpreter, so it uses one core. Forking N of them onto the
same socket lets the kernel spread connections across them; websockets still meet through the
Redis channel layer.

A child that dies is started again on its own, so one crash drops only the dashboards it held,
not all of them. A child that keeps dying at start-up (bad settings, database down) is retried
with a growing wait, then the whole server stops with a message rather than spin.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from nors.lib.processes import Children, stop_all

# A child that lived less than this died at start-up, not in service.
STARTUP_SECONDS = 10.0
# Start-up deaths in a row before the server gives up.
MAX_STARTUP_FAILURES = 5
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
POLL_SECONDS = 0.2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nors.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "1")),
        help="daphne processes (default: $WEB_CONCURRENCY or 1)",
    )
    parser.add_argument(
        "--access-log",
        default=os.devnull,
        help="file for one line per request (default: none; '-' for stdout)",
    )
    parser.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-For/-Proto from a proxy in front",
    )
    return parser


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.workers < 1:
        print("nors.serve: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and not os.environ.get("REDIS_URL"):
        # The in-memory channel layer lives in one process: dashboards on another never hear.
        print("nors.serve: more than one worker needs REDIS_URL", file=sys.stderr)
        return 2
    sock = listen(args.host, args.port)
    command = [sys.executable, "-m", "daphne", "--fd", str(sock.fileno())]
    if args.access_log != "-":
        command += ["--access-log", args.access_log]
    if args.proxy_headers:
        command.append("--proxy-headers")
    command.append("nors.asgi:application")
    return _Supervisor(command, sock.fileno()).run(args.workers)


@dataclass
class _Child:
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    startup_failures: int = 0
    restart_at: float = 0.0


@dataclass
class _Supervisor:
    command: list[str]
    fd: int
    children: dict[str, _Child] = field(default_factory=dict)
    stopping: bool = False

    def run(self, workers: int) -> int:
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        for n in range(workers):
            self.children[f"daphne-{n}"] = child = _Child()
            self._start(child)
        try:
            return self._watch()
        finally:
            stop_all(self._running())

    def _stop(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def _start(self, child: _Child) -> None:
        child.process = subprocess.Popen(self.command, pass_fds=(self.fd,))  # noqa: S603
        child.started = time.monotonic()

    def _running(self) -> Children:
        return {
            name: child.process
            for name, child in self.children.items()
            if child.process is not None and child.process.poll() is None
        }

    def _watch(self) -> int:
        while not self.stopping:
            time.sleep(POLL_SECONDS)
            now = time.monotonic()
            for name, child in self.children.items():
                dead = child.process is not None and child.process.poll() is not None
                if dead and not self._reap(name, child, now):
                    return 1
                if child.process is None and now >= child.restart_at and not self.stopping:
                    self._start(child)
        return 0

    def _reap(self, name: str, child: _Child, now: float) -> bool:
        """Schedules the dead child's replacement; False once it keeps dying at start-up."""
        code = child.process.returncode if child.process is not None else None
        child.process = None
        if now - child.started < STARTUP_SECONDS:
            child.startup_failures += 1
        else:
            child.startup_failures = 0
        if child.startup_failures >= MAX_STARTUP_FAILURES:
            print(
                f"nors.serve: {name} died at start-up {child.startup_failures} times in a row "
                f"(last exit code {code}); stopping. Its output above says why.",
                file=sys.stderr,
            )
            return False
        wait = min(FIRST_BACKOFF_SECONDS * 2**child.startup_failures, MAX_BACKOFF_SECONDS)
        if child.startup_failures == 0:
            wait = 0.0
        child.restart_at = now + wait
        print(
            f"nors.serve: {name} exited (code {code}); restarting in {wait:.1f}s", file=sys.stderr
        )
        return True


if __name__ == "__main__":
    sys.exit(main())
