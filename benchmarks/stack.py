"""The console's real stack for a benchmark: a fresh database, then daphne, the Twilio sandbox,
a Celery worker and (optionally) beat as child processes, which are always stopped again (by
PID) on the way out. For chaos, the stack can run on a Redis server of its own, which it may
kill and start again empty, and the worker can be killed and started again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Only databases with this in their name may be dropped: a mistyped --database-url must never
# wipe a console's real data.
DROPPABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*bench[a-z0-9_]*$")
STOP_GRACE_S = 15.0


class StackError(RuntimeError):
    """The stack could not be set up; the message says which part and why."""


STARTED = time.monotonic()


def say(message: str) -> None:
    elapsed = time.monotonic() - STARTED
    print(f"[bench {elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass(frozen=True)
class StackConfig:
    # The console connects as a role of its own, capped by a per-database connection limit
    # (which PostgreSQL does not apply to superusers): a console that leaks connections
    # then fails by itself instead of starving every other user of a shared server.
    database_url: str
    admin_url: str
    connection_limit: int
    redis_url: str
    queue: str
    channels_prefix: str
    twilio_account_sid: str
    twilio_auth_token: str
    line_number: str
    worker: bool = True
    sandbox: bool = True
    web_workers: int = 2
    beat: bool = False
    worker_concurrency: int = 1
    # A redis-server of the stack's own (on a free port, nothing saved) instead of redis_url,
    # so chaos can restart it empty without touching a Redis that others share.
    own_redis: bool = False
    # The README's "Try it" console instead: SQLite and the on-disk broker in a fresh DATA_DIR,
    # no Redis, one daphne process (the in-memory channel layer lives in one process).
    embedded: bool = False
    # Settings a scenario needs on top of console_env's, such as the timer periods.
    extra_env: Mapping[str, str] = field(default_factory=dict)
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nors-bench-")))


@dataclass(frozen=True)
class Stack:
    console_url: str
    sandbox_url: str | None
    env: dict[str, str]
    log_dir: Path
    # The same database as the superuser, so the benchmark can still read when the console
    # has used up its connections.
    reader_url: str
    # What worker_kill, worker_start and redis_restart need.
    processes: Processes | None = None
    config: StackConfig | None = None


# -- child processes -----------------------------------------------------------------------


@dataclass
class Processes:
    log_dir: Path
    started: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def log_tail(self, name: str, chars: int = 3000) -> str:
        try:
            return self.log_path(name).read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(self.log_path(name), "wb") as log:
            # A session of its own: Ctrl-C reaches only us, and we stop the children in order.
            proc = subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((name, proc))
        say(f"started {name} (pid {proc.pid}), log {self.log_path(name)}")
        return proc

    def wait_ready(
        self,
        name: str,
        proc: subprocess.Popen[bytes],
        check: Callable[[], bool],
        timeout_s: float = 60.0,
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            if proc.poll() is not None:
                raise StackError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
            if time.monotonic() > deadline:
                raise StackError(f"{name} not ready after {timeout_s:.0f}s:\n{self.log_tail(name)}")
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL a child and everything in its process group, as a crash would: no clean-up."""
        for entry in [e for e in self.started if e[0] == name]:
            proc = entry[1]
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            self.started.remove(entry)
            say(f"killed {name} (pid {proc.pid}) and its process group")

    def stop_all(self) -> None:
        for name, proc in reversed(self.started):
            _stop(name, proc)
        self.started.clear()


def _stop(name: str, proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            say(f"{name} (pid {proc.pid}) ignored SIGTERM; killing it")
            proc.kill()
            proc.wait()
    # The worker's pool children share the group we created for it; leave none behind.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    say(f"stopped {name} (pid {proc.pid}, exit {proc.returncode})")


# -- database and broker -------------------------------------------------------------------


def _bench_name(kind: str, name: str) -> str:
    if not DROPPABLE_NAME.match(name):
        raise StackError(f"refusing to use {kind} {name!r}: its name must contain 'bench'")
    return name


def database_recreate(config: StackConfig) -> None:
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(config.database_url)
    name = _bench_name("database", parts.path.lstrip("/"))
    role = _bench_name("role", parts.username or "")
    admin = psycopg2.connect(config.admin_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
            db = sql.Identifier(name)
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(db))
            cursor.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} CONNECTION LIMIT {}").format(
                    db, sql.Identifier(role), sql.Literal(config.connection_limit)
                )
            )
    finally:
        admin.close()


def reader_url(config: StackConfig) -> str:
    database = urlsplit(config.database_url).path
    return urlunsplit(urlsplit(config.admin_url)._replace(path=database))


def queue_purge(redis_url: str, queue: str) -> None:
    """Tasks left by an earlier, interrupted run point at rows that no longer exist."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(queue)
    finally:
        client.close()


def channels_purge(redis_url: str, prefix: str) -> None:
    """An earlier run's daphne, stopped before its consumers left their groups, leaves them as
    members for a day (channels_redis' group expiry): every event would still be sent to their
    channels, which nobody reads, until each is full. Only this prefix's groups and channels."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for pattern in (f"{prefix}:group:*", f"{prefix}specific.*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
    finally:
        client.close()


def migrate(env: dict[str, str], log_dir: Path) -> None:
    log_path = log_dir / "migrate.log"
    with open(log_path, "wb") as log:
        done = subprocess.run(
            # The system checks are the test suite's to run, not a reason to measure nothing.
            [PYTHON, "manage.py", "migrate", "--noinput", "--skip-checks"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=300,
        )
    if done.returncode != 0:
        raise StackError(f"migrate failed:\n{log_path.read_text(errors='replace')[-3000:]}")


# -- the whole stack -----------------------------------------------------------------------


def console_env(config: StackConfig, *, console_url: str, sandbox_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "nors.settings",
            # As in production: DEBUG off (no query log), with the secrets that then requires.
            "DEBUG": "false",
            "SECRET_KEY": "benchmark-only-secret-key-" + "x" * 32,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "FIELD_ENCRYPTION_KEYS": "YmVuY2htYXJrLW9ubHktZmllbGQta2V5LTAwMDAwMDA=",
            "BLIND_INDEX_KEY": "benchmark-only-blind-index-key-0123",
            "DATABASE_URL": config.database_url,
            "REDIS_URL": config.redis_url,
            "CELERY_BROKER_URL": config.redis_url,
            "CELERY_QUEUE": config.queue,
            "CHANNELS_PREFIX": config.channels_prefix,
            "PUBLIC_BASE_URL": console_url,
            "TWILIO_API_BASE_URL": sandbox_url,
            "TWILIO_ACCOUNT_SID": config.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": config.twilio_auth_token,
            "TWILIO_PHONE_NUMBER": config.line_number,
            "PYTHONUNBUFFERED": "1",
            **config.extra_env,
        }
    )
    if config.embedded:
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CHANNELS_PREFIX"):
            env.pop(name, None)
        env["DATA_DIR"] = str(embedded_dir(config))
    return env


def embedded_dir(config: StackConfig) -> Path:
    return config.log_dir / "data"


def embedded_database_url(config: StackConfig) -> str:
    return f"sqlite:///{embedded_dir(config) / 'nors.sqlite3'}"


def _start_daphne(procs: Processes, env: dict[str, str], port: int, workers: int) -> None:
    # The console's own launcher: `workers` daphne processes sharing one socket.
    command = [PYTHON, "-m", "nors.serve", "--port", str(port), "--workers", str(workers)]
    proc = procs.start("daphne", command, env)
    procs.wait_ready("daphne", proc, lambda: http_ok(f"http://127.0.0.1:{port}/healthz/"))


def _start_sandbox(
    procs: Processes, env: dict[str, str], config: StackConfig, port: int, console_url: str
) -> None:
    command = [
        PYTHON,
        "-m",
        "sandbox",
        "--port",
        str(port),
        "--console-url",
        console_url,
        "--delay-ms",
        "0",
        "--account-sid",
        config.twilio_account_sid,
        "--auth-token",
        config.twilio_auth_token,
        "--line-number",
        config.line_number,
    ]
    proc = procs.start("sandbox", command, env)
    procs.wait_ready("sandbox", proc, lambda: http_ok(f"http://127.0.0.1:{port}/"))


def _start_worker(
    procs: Processes, env: dict[str, str], config: StackConfig, name: str = "worker"
) -> None:
    command = [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "nors",
        "worker",
        "--concurrency",
        str(config.worker_concurrency),
        "-Q",
        config.queue,
        "-n",
        f"{config.queue}-{os.getpid()}@%h",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    proc = procs.start(name, command, env)
    procs.wait_ready(name, proc, lambda: " ready." in procs.log_tail(name, 100_000))


def _start_beat(procs: Processes, env: dict[str, str], log_dir: Path) -> None:
    schedule = log_dir / "beat-schedule"
    command = [PYTHON, "-m", "celery", "-A", "nors", "beat", "--loglevel", "INFO"]
    proc = procs.start("beat", [*command, "--schedule", str(schedule)], env)
    procs.wait_ready("beat", proc, lambda: "beat: Starting" in procs.log_tail("beat", 100_000))


def _start_redis(procs: Processes, port: int) -> None:
    server = shutil.which("redis-server")
    if server is None:
        raise StackError("own_redis needs redis-server on the PATH")
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    proc = procs.start("redis", [*command, "no"], dict(os.environ))
    procs.wait_ready("redis", proc, lambda: port_open(port), timeout_s=15)


def _parts(stack: Stack) -> tuple[Processes, StackConfig]:
    if stack.processes is None or stack.config is None:
        raise StackError("this stack was not started by console_stack")
    return stack.processes, stack.config


def worker_kill(stack: Stack) -> None:
    """SIGKILL the worker and its pool processes; the tasks they held are lost with them."""
    procs, _config = _parts(stack)
    for name in [n for n, _ in procs.started if n.startswith("worker")]:
        procs.kill(name)


def worker_start(stack: Stack, name: str = "worker") -> None:
    """Another worker; give it a name of its own to keep each one's log."""
    procs, config = _parts(stack)
    _start_worker(procs, stack.env, config, name)


def redis_restart(stack: Stack) -> None:
    """Kills the stack's own Redis and starts it again, empty, on the same port."""
    procs, config = _parts(stack)
    if config.embedded or not config.own_redis:
        raise StackError("only a stack with own_redis may restart Redis")
    procs.kill("redis")
    _start_redis(procs, urlsplit(config.redis_url).port or 6379)


@contextmanager
def console_stack(config: StackConfig) -> Iterator[Stack]:
    config.log_dir.mkdir(parents=True, exist_ok=True)
    console_port, sandbox_port = free_port(), free_port()
    if config.own_redis:
        config = replace(config, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    console_url = f"http://127.0.0.1:{console_port}"
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env = console_env(config, console_url=console_url, sandbox_url=sandbox_url)
    say(f"logs in {config.log_dir}")
    if config.embedded:
        embedded_dir(config).mkdir(parents=True, exist_ok=True)
        reader = embedded_database_url(config)
    else:
        database_recreate(config)
        reader = reader_url(config)
    procs = Processes(config.log_dir)
    try:
        if config.own_redis and not config.embedded:
            _start_redis(procs, urlsplit(config.redis_url).port or 6379)
        if not config.embedded:
            queue_purge(config.redis_url, config.queue)
            channels_purge(config.redis_url, config.channels_prefix)
        say("migrating the benchmark database")
        migrate(env, config.log_dir)
        _start_daphne(procs, env, console_port, config.web_workers)
        if config.sandbox:
            _start_sandbox(procs, env, config, sandbox_port, console_url)
        if config.worker:
            _start_worker(procs, env, config)
        if config.beat:
            _start_beat(procs, env, config.log_dir)
        sandbox = sandbox_url if config.sandbox else None
        stack = Stack(console_url, sandbox, env, config.log_dir, reader)
        yield replace(stack, processes=procs, config=config)
    finally:
        procs.stop_all()


# -- what every benchmark's command line and main share ---------------------------------------


def stack_options(parser: argparse.ArgumentParser, *, database: str, queue: str) -> None:
    """The options of the stack a benchmark runs: its own database and role, a Redis, a queue."""
    parser.add_argument(
        "--web-workers", type=int, default=2, help="daphne processes (python -m nors.serve)"
    )
    parser.add_argument(
        "--database-url",
        default=f"postgres://nors_bench@127.0.0.1:5432/{database}",
        help="the console's database and role, both named *bench*; the database is dropped "
        "and created again",
    )
    parser.add_argument(
        "--admin-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="a superuser, to create the role and database and to set up and read the results",
    )
    parser.add_argument(
        "--db-connection-limit",
        type=int,
        default=40,
        help="connections the console may hold, so it cannot starve a shared server (40)",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/0",
        help="a shared Redis, whose other data is left alone",
    )
    parser.add_argument("--queue", default=queue, help="Celery queue and channels prefix")


def defaults_apply(
    args: argparse.Namespace, defaults: Mapping[str, Any], quick: Mapping[str, Any]
) -> None:
    """Options left unset take the benchmark's defaults, or its smoke run's with --quick."""
    for name, default in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick[name] if args.quick else default)


def _interrupt_on_sigterm(signum: int, frame: Any) -> None:
    # Turns SIGTERM into an exception so the finally blocks stop the children we started.
    raise KeyboardInterrupt


def benchmark_main(
    name: str,
    config: Callable[[], StackConfig],
    benchmark: Callable[[Stack], dict[str, Any]],
) -> int:
    """Runs a benchmark on its stack. Whatever goes wrong, the children are stopped and the
    last line on stdout is still one JSON object."""
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    log_dir: Path | None = None
    try:
        stack_config = config()
        log_dir = stack_config.log_dir
        with console_stack(stack_config) as stack:
            result = benchmark(stack)
    except Exception as exc:
        say(f"failed: {traceback.format_exc()}")
        print(json.dumps({"benchmark": name, "error": str(exc), "logs": str(log_dir)}))
        return 1
    except KeyboardInterrupt:
        say("interrupted; the processes it started are stopped")
        print(json.dumps({"benchmark": name, "error": "interrupted", "logs": str(log_dir)}))
        return 130
    say(f"done in {time.monotonic() - STARTED:.0f}s; logs in {log_dir}")
    print(json.dumps(result))
    return 0
