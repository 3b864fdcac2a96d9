from __future__ import annotations

import os
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


def _start(**env: str) -> subprocess.CompletedProcess[str]:
    data_dir = tempfile.mkdtemp(prefix="nors-settings-")
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DEBUG"}
    }
    clean |= {"DJANGO_SETTINGS_MODULE": "nors.settings", "DATA_DIR": data_dir}
    return subprocess.run(
        [sys.executable, "-c", CHECK],
        env=clean | env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


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
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DEBUG": "false", "SECRET_KEY": "s" * 50}, "TWILIO_AUTH_TOKEN"),
        (
            {"DEBUG": "false", "SECRET_KEY": "s" * 50, "TWILIO_AUTH_TOKEN": "t"},
            "FIELD_ENCRYPTION_KEYS",
        ),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(env: dict[str, str], name: str) -> None:
    result = _start(**env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and name in last_line, result.stderr


def test_a_sqlite_url_waits_for_locks_like_the_embedded_default(tmp_path: Path) -> None:
    env = environ.Env()
    for url in ("", f"sqlite:///{tmp_path}/other.sqlite3"):
        os.environ["DATABASE_URL"] = url
        try:
            options = config.database(env, tmp_path / "nors.sqlite3")["OPTIONS"]
        finally:
            del os.environ["DATABASE_URL"]
        assert options["transaction_mode"] == "IMMEDIATE" and options["timeout"] == 20
