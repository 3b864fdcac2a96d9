"""Real processes for tests: the console under daphne, a Celery worker, the sandbox."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Polls until check() returns something truthy; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {check}")
        time.sleep(interval)


def test_database_url() -> str:
    """The URL of the database pytest-django created, for processes started by a test."""
    cfg = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{cfg['NAME']}"
    user = cfg.get("USER") or ""
    password = f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return (
        f"postgres://{auth}{cfg.get('HOST') or '127.0.0.1'}:{cfg.get('PORT') or 5432}/{cfg['NAME']}"
    )


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = test_database_url()
    # The same queue and channel prefix as this test run, and no other run's.
    env["CELERY_QUEUE"] = settings.CELERY_TASK_DEFAULT_QUEUE
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    if "CONFIG" in layer:
        env["CHANNELS_PREFIX"] = layer["CONFIG"]["prefix"]
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def process(
    command: list[str],
    env: dict[str, str],
    *,
    port: int | None = None,
    ready: Callable[[], bool] | None = None,
    log_name: str = "proc",
) -> Iterator[subprocess.Popen[bytes]]:
    log_dir = Path(os.environ.get("TEST_LOG_DIR", tempfile.gettempdir()))
    log_path = log_dir / f"nors-{log_name}-{os.getpid()}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            if port is not None:
                wait_until(lambda: _port_open(port) or proc.poll() is not None, timeout=30)
            if ready is not None:
                wait_until(lambda: ready() or proc.poll() is not None, timeout=30)
            if proc.poll() is not None:
                raise AssertionError(f"{log_name} exited early:\n{log_path.read_text()[-3000:]}")
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextmanager
def daphne(env: dict[str, str], port: int) -> Iterator[str]:
    command = [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "nors.asgi:application",
    ]
    with process(command, env, port=port, log_name="daphne"):
        yield f"http://127.0.0.1:{port}"


def worker_command(*extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "nors",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        "2",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        *extra,
    ]


@contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    with process(worker_command(), env, log_name="worker") as proc:
        yield proc


@contextmanager
def celery_beat(env: dict[str, str], schedule_path: str) -> Iterator[subprocess.Popen[bytes]]:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "nors",
        "beat",
        "--loglevel",
        "INFO",
        "--schedule",
        schedule_path,
    ]
    with process(command, env, log_name="beat") as proc:
        yield proc


def http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read())
