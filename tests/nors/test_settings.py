from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import environ
import pytest

from nors.lib import config
from tests.support import ROOT

CHECK = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, "
    "s.CHANNEL_LAYERS['default']['BACKEND'])"
)


# Everything production needs, valid. Each bad case below changes one variable of it.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "tests-only-2Kq9vXw7LmP4rT8yZc3NbF6hJd1GsA5eU0oRiWy",
    "TWILIO_AUTH_TOKEN": "0f6b1c2d3e4a5b6c7d8e9f0a1b2c3d4e",
    "FIELD_ENCRYPTION_KEYS": "SsMjnDsOKJFo4mIed9O4JKsN89cpPv1qvsfqwhNFFKU=",
    "BLIND_INDEX_KEY": "tests-only-blind-index-7Hk2Qm9Xv4",
    "PUBLIC_BASE_URL": "https://line.example.org",
    "TWILIO_ACCOUNT_SID": "AC" + "5a" * 16,
    "TWILIO_PHONE_NUMBER": "+15145550100",
}


def _env(**env: str | None) -> dict[str, str]:
    """The test's environment minus anything that would decide for the child; None unsets."""
    data_dir = tempfile.mkdtemp(prefix="nors-settings-")
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"} | PRODUCTION.keys()
    }
    clean |= {"DJANGO_SETTINGS_MODULE": "nors.settings", "DATA_DIR": data_dir}
    merged = clean | env
    return {k: v for k, v in merged.items() if v is not None}


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Runs to its end; one that starts despite the bad setting is stopped, children and all."""
    proc = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def _start(**env: str | None) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-c", CHECK], _env(**env))


def _stopped_naming(result: subprocess.CompletedProcess[str], name: str) -> bool:
    lines = result.stderr.splitlines()
    named = any("ImproperlyConfigured" in line and f"{name}:" in line for line in lines)
    return result.returncode != 0 and named


def test_it_runs_on_embedded_defaults_with_nothing_set() -> None:
    result = _start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "filesystem://",
        "channels.layers.InMemoryChannelLayer",
    ]


def test_it_uses_postgres_and_redis_when_their_urls_are_set() -> None:
    result = _start(DATABASE_URL="postgres://u@db:5432/nors", REDIS_URL="redis://cache:6379/0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "nors.lib.pgpool",
        "redis://cache:6379/0",
        "channels_redis.core.RedisChannelLayer",
    ]


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysq1://x/y"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL"),
        ({"CELERY_BROKER_URL": "amqp:/broken"}, "CELERY_BROKER_URL"),
        ({"PUBLIC_BASE_URL": "line.example.org"}, "PUBLIC_BASE_URL"),
        ({"TWILIO_API_BASE_URL": "ftp://x"}, "TWILIO_API_BASE_URL"),
        ({"TWILIO_PHONE_NUMBER": "555-0100"}, "TWILIO_PHONE_NUMBER"),
        ({"TWILIO_ACCOUNT_SID": "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}, "TWILIO_ACCOUNT_SID"),
        ({"FIELD_ENCRYPTION_KEYS": "replace-with-a-generated-fernet-key"}, "FIELD_ENCRYPTION_KEYS"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "false"}, "SECRET_KEY"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(env: dict[str, str], name: str) -> None:
    result = _start(**env)
    assert _stopped_naming(result, name), result.stderr


def test_it_starts_in_production_with_every_required_setting() -> None:
    result = _start(**PRODUCTION)
    assert result.returncode == 0, result.stderr


BROKEN_KEY = "SsMjnDsOKJFo4mIed9O4JKsN89cpPv1qvsfqwhNFFK="  # one character short
PRODUCTION_MISTAKES = [
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"TWILIO_AUTH_TOKEN": None}, "TWILIO_AUTH_TOKEN"),
    ({"FIELD_ENCRYPTION_KEYS": None}, "FIELD_ENCRYPTION_KEYS"),
    ({"BLIND_INDEX_KEY": None}, "BLIND_INDEX_KEY"),
    # Unset, every webhook's signature is checked against http://127.0.0.1:8000 and fails.
    ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL"),
    ({"TWILIO_ACCOUNT_SID": None}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_PHONE_NUMBER": None}, "TWILIO_PHONE_NUMBER"),
    ({"FIELD_ENCRYPTION_KEYS": "not-a-key"}, "FIELD_ENCRYPTION_KEYS"),
    (
        {"FIELD_ENCRYPTION_KEYS": f"{PRODUCTION['FIELD_ENCRYPTION_KEYS']},{BROKEN_KEY}"},
        "FIELD_ENCRYPTION_KEYS",
    ),
    ({"SECRET_KEY": PRODUCTION["SECRET_KEY"][:49]}, "SECRET_KEY"),
    ({"SECRET_KEY": "x" * 64}, "SECRET_KEY"),
    ({"BLIND_INDEX_KEY": PRODUCTION["BLIND_INDEX_KEY"][:31]}, "BLIND_INDEX_KEY"),
    ({"BLIND_INDEX_KEY": "ab" * 20}, "BLIND_INDEX_KEY"),
]


@pytest.mark.parametrize(("change", "name"), PRODUCTION_MISTAKES)
def test_a_production_mistake_stops_start_up_naming_the_variable(
    change: dict[str, str | None], name: str
) -> None:
    result = _start(**(PRODUCTION | change))
    assert _stopped_naming(result, name), result.stderr


def test_it_never_echoes_a_secret_it_refuses() -> None:
    short = PRODUCTION["BLIND_INDEX_KEY"][:31]
    result = _start(**(PRODUCTION | {"BLIND_INDEX_KEY": short}))
    assert _stopped_naming(result, "BLIND_INDEX_KEY") and short not in result.stderr


# Every process the console runs loads the settings first, so each refuses to start.
PROCESSES = {
    "manage.py check": ["manage.py", "check"],
    "daphne": ["-m", "daphne", "-p", "0", "nors.asgi:application"],
    "nors.serve": ["-m", "nors.serve", "--port", "0"],
    "worker": ["-m", "celery", "-A", "nors", "worker", "--pool", "solo", "--loglevel", "INFO"],
    "beat": ["-m", "celery", "-A", "nors", "beat", "--loglevel", "INFO"],
    "watchdog": ["manage.py", "timer_watchdog"],
}
PROCESS_MISTAKES = [
    ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL"),
    ({"FIELD_ENCRYPTION_KEYS": "not-a-key"}, "FIELD_ENCRYPTION_KEYS"),
    ({"TWILIO_ACCOUNT_SID": None}, "TWILIO_ACCOUNT_SID"),
    ({"SECRET_KEY": "short-but-otherwise-fine-0123456789"}, "SECRET_KEY"),
]


@pytest.mark.parametrize("process", PROCESSES)
@pytest.mark.parametrize(("change", "name"), PROCESS_MISTAKES)
def test_every_process_refuses_to_start_on_a_mistake(
    process: str, change: dict[str, str | None], name: str
) -> None:
    result = _run([sys.executable, *PROCESSES[process]], _env(**(PRODUCTION | change)))
    assert _stopped_naming(result, name), result.stderr[-3000:]


def test_it_still_starts_with_short_explicit_keys_for_local_use() -> None:
    result = _start(SECRET_KEY="local", BLIND_INDEX_KEY="local")
    assert result.returncode == 0, result.stderr


def test_a_sqlite_url_waits_for_locks_like_the_embedded_default(tmp_path: Path) -> None:
    env = environ.Env()
    for url in ("", f"sqlite:///{tmp_path}/other.sqlite3"):
        os.environ["DATABASE_URL"] = url
        try:
            options = config.database(env, tmp_path / "nors.sqlite3")["OPTIONS"]
        finally:
            del os.environ["DATABASE_URL"]
        assert options["transaction_mode"] == "IMMEDIATE" and options["timeout"] == 20
