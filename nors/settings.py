"""Settings come only from the environment (and an optional .env); see .env.example."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from nors.lib import config

BASE_DIR = Path(__file__).resolve().parent.parent
env = config.read_env(BASE_DIR)

DEBUG = config.flag(env, "DEBUG", default=True)
# Tests get their own Celery queue and channel prefix, so a console running beside them
# never picks up their work.
TESTING = "pytest" in sys.modules
_NAMESPACE = f"nors-test-{os.getpid()}" if TESTING else "nors"
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# It signs sessions and password-reset links: a short key can be guessed offline from one
# signed cookie. 50 is what Django's get_random_secret_key() makes and its deploy check asks for.
SECRET_KEY = config.secret(
    env,
    "SECRET_KEY",
    debug=DEBUG,
    dev_default="dev-only-insecure-secret-key-change-me-0123456789",
    min_length=50,
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    # The console's own apps, lowest layer first: each imports only those above it here.
    "telephony",
    "clients",
    "monitoring",
    "dispatch",
    "voice",
    "supervision",
    "followup",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "nors.lib.middleware.RunChainInOneThread",
]

ROOT_URLCONF = "nors.urls"
ASGI_APPLICATION = "nors.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # TIME_ZONE for every page: all times are shown in the line's zone, labelled.
                "django.template.context_processors.tz",
            ],
        },
    },
]

DATABASES = {
    "default": config.database(
        env, DATA_DIR / "nors.sqlite3", run_id=str(os.getpid()) if TESTING else ""
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = config.redis_url(env, "REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 times reads out after 5 s by default, exactly channels_redis'
                # blocking wait for the next event: idle dashboards were cut off every 5 s
                # (django/channels_redis#422). Longer, and still finite, so a dead Redis shows.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 10}],
                # A dashboard is sent every check-in of its operator's sessions: at the default
                # of 100 waiting events, a busy moment dropped alarms until the next resync.
                "capacity": 1000,
                "prefix": env.str("CHANNELS_PREFIX", default=_NAMESPACE),
            },
        }
    }
else:
    # One process only: events raised in the Celery worker do not reach the dashboard live,
    # which the dashboard's periodic resync from the database covers.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: a Redis broker in production, a folder on disk when nothing is configured.
CELERY_BROKER_URL = config.redis_url(env, "CELERY_BROKER_URL", default=REDIS_URL) or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = DATA_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport, writing each message whole (see nors/lib/broker.py).
    CELERY_BROKER_TRANSPORT = "nors.lib.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # kombu looks in the folder once a second by default, and with both pool processes busy
        # it waits a whole poll before taking the next task: each hop of the ladder (the
        # deadline, the re-prompt and call, the contact) waited up to a second, two tasks at a
        # time. A look costs a directory listing, so twenty a second is nothing.
        "polling_interval": 0.05,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# A worker killed with SIGKILL takes its countdown tasks with it: the on-disk broker handed them
# over for good, and Redis gives them back only after the visibility timeout. So a worker that
# starts queues these at once: every timer armed again from the database, and every waiting
# send queued again (nothing is done twice: each move is a compare-and-set).
WORKER_START_TASKS = ["monitoring.tasks.timers_rearm"]
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default=_NAMESPACE)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
OUTBOX_SWEEP_SECONDS = env.float("OUTBOX_SWEEP_SECONDS", default=5.0)
# Check-ins and the escalation ladder. Every deadline is a database row; a countdown task is
# the precise path and the sweeper, every TIMER_SWEEP_SECONDS, catches whatever it missed.
# Operators choose 1 to 30 minutes; tests and training may allow shorter intervals.
CHECKIN_MIN_INTERVAL_SECONDS = config.seconds(
    env, "CHECKIN_MIN_INTERVAL_SECONDS", default=60, low=1, high=1800
)
CHECKIN_MIN_GRACE_SECONDS = config.seconds(
    env, "CHECKIN_MIN_GRACE_SECONDS", default=10, low=1, high=600
)
CHECKIN_INTERVAL_SECONDS = config.seconds(
    env, "CHECKIN_INTERVAL_SECONDS", default=180, low=60, high=1800
)
CHECKIN_GRACE_SECONDS = config.seconds(env, "CHECKIN_GRACE_SECONDS", default=60, low=1, high=600)
# A prompt still waiting to leave when its grace period ends holds the deadline: the grace period
# counts from when the text left, for at most this much longer. Then the alarm goes out anyway.
CHECKIN_SEND_WAIT_SECONDS = config.seconds(
    env, "CHECKIN_SEND_WAIT_SECONDS", default=60, low=0, high=600
)
ESCALATION_RESPONSE_WAIT_SECONDS = config.seconds(
    env, "ESCALATION_RESPONSE_WAIT_SECONDS", default=60, low=0, high=900
)
ALARM_WIDEN_SECONDS = config.seconds(env, "ALARM_WIDEN_SECONDS", default=90, low=10, high=1800)
ESCALATION_CONTACT_AFTER_EMS_SECONDS = config.seconds(
    env, "ESCALATION_CONTACT_AFTER_EMS_SECONDS", default=120, low=0, high=1800
)
TIMER_SWEEP_SECONDS = config.seconds(env, "TIMER_SWEEP_SECONDS", default=2, low=0.2, high=60)
TIMER_STALE_SECONDS = config.seconds(env, "TIMER_STALE_SECONDS", default=30, low=2, high=3600)
SUPERVISOR_ON_CALL_PHONE = config.optional_phone_number(env, "SUPERVISOR_ON_CALL_PHONE")
CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {"task": "telephony.tasks.sweep_outbox", "schedule": OUTBOX_SWEEP_SECONDS},
    "sweep-timers": {"task": "monitoring.tasks.sweep_timers", "schedule": TIMER_SWEEP_SECONDS},
}

# Twilio. With nothing set, the console talks to the local Twilio sandbox.
# In production none of these may fall back: a local PUBLIC_BASE_URL fails every webhook's
# signature (403, and Twilio drops the text), and the sandbox's SID and number send nothing.
PUBLIC_BASE_URL = config.http_origin(
    env, "PUBLIC_BASE_URL", default="http://127.0.0.1:8000", required=not DEBUG
)
TWILIO_ACCOUNT_SID = config.account_sid(
    env, "TWILIO_ACCOUNT_SID", default="AC" + "0" * 32, required=not DEBUG
)
TWILIO_AUTH_TOKEN = config.secret(
    env, "TWILIO_AUTH_TOKEN", debug=DEBUG, dev_default="sandbox-auth-token"
)
TWILIO_PHONE_NUMBER = config.phone_number(
    env, "TWILIO_PHONE_NUMBER", default="+18005550100", required=not DEBUG
)
TWILIO_API_BASE_URL = config.http_origin(
    env,
    "TWILIO_API_BASE_URL",
    default="http://127.0.0.1:8001" if DEBUG else "https://api.twilio.com",
)
TWILIO_HTTP_TIMEOUT = env.float("TWILIO_HTTP_TIMEOUT", default=10.0)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=6)
# A send that started but never finished (worker killed mid-call) is not retried blindly:
# Twilio may have accepted it, so it is shown to the operator as unconfirmed instead.
OUTBOX_STUCK_SECONDS = env.float("OUTBOX_STUCK_SECONDS", default=120.0)

# Personal data at rest: Fernet keys (newest first) and the key of the phone blind index.
FIELD_ENCRYPTION_KEYS = config.key_list(
    env,
    "FIELD_ENCRYPTION_KEYS",
    debug=DEBUG,
    dev_default=["ZGV2LW9ubHktaW5zZWN1cmUtZmllbGQta2V5LTAwMDA="],
)
# Phone numbers are few enough to try them all: with a guessable key the index gives every
# number back. 32 characters, at least the HMAC-SHA256 output length RFC 2104 asks of a key.
BLIND_INDEX_KEY = config.secret(
    env,
    "BLIND_INDEX_KEY",
    debug=DEBUG,
    dev_default="dev-only-insecure-blind-index-key",
    min_length=32,
)
DEFAULT_PHONE_REGION = env.str("DEFAULT_PHONE_REGION", default="CA")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="America/Toronto")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Twilio never sends more than 1,600 characters; anything much larger is not a real webhook.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Masks phone numbers in every record, whatever the code that logged it forgot.
    "filters": {"phone_numbers": {"()": "nors.lib.redact.PhoneNumberFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["phone_numbers"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
