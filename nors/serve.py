"""`python -m nors.serve`: several daphne processes sharing one listening socket.

One daphne process is one Python interpreter, so it uses one core. Forking N of them onto the
same socket lets the kernel spread connections across them; websockets still meet through the
Redis channel layer.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys

from nors.lib.processes import supervise


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
    children = {
        f"daphne-{n}": subprocess.Popen(command, pass_fds=(sock.fileno(),))  # noqa: S603
        for n in range(args.workers)
    }
    failed = supervise(children)
    if failed:
        print(f"nors.serve: {failed} exited; stopped the others", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
