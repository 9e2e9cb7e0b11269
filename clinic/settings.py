"""Settings for the clinic, read from the environment (see README "Configuration").

With no variables set this is the embedded default that `make run` uses: SQLite and Celery's filesystem
transport under var/, emails written to var/mail/. Set DATABASE_URL and REDIS_URL for PostgreSQL and Redis.
A malformed value raises ImproperlyConfigured naming the variable, so the clinic never starts half-configured.
"""

from __future__ import annotations

import os
from pathlib import Path

from clinic import env as environment

ENV = os.environ
BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(ENV.get("CLINIC_VAR_DIR", "").strip() or BASE_DIR / "var")

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-never-use-in-production"
DATABASES = {"default": environment.read_database(ENV, "DATABASE_URL", VAR_DIR)}
# SQLite (the embedded default) means a development machine; a database server means production unless
# DEBUG=true says otherwise, so a forgotten variable never serves debug pages or signs patient links with
# the public development key.
EMBEDDED = DATABASES["default"]["ENGINE"].endswith("sqlite3")
DEBUG = environment.read_bool(ENV, "DEBUG", default=EMBEDDED)
SECRET_KEY = ENV.get("SECRET_KEY", "").strip() or DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = environment.read_hosts(ENV, "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
TIME_ZONE = environment.read_time_zone(ENV, "TIME_ZONE", default="UTC")
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en-us"
SITE_URL = environment.read_url(ENV, "SITE_URL", default="http://127.0.0.1:8000")
CLINIC_NAME = ENV.get("CLINIC_NAME", "").strip() or "Cadence Clinic"
DEFAULT_FROM_EMAIL = ENV.get("DEFAULT_FROM_EMAIL", "").strip() or "Cadence Clinic <appointments@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "simple_history",
    "clinic",
    "careplans",
    "scheduling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"
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
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = environment.read_redis_url(ENV, "REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

globals().update(environment.read_email(ENV, "EMAIL_URL", VAR_DIR))

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = [SITE_URL]

# History is read-only: a change goes through the services (and their rules), never a revert button.
SIMPLE_HISTORY_REVERT_DISABLED = True

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
}

# Celery: JSON only (no pickle from a broker), bounded task time, acks after the work so a killed worker's
# task is redelivered; every task is written to be safe to run twice.
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_RESULT_BACKEND = REDIS_URL or f"file://{VAR_DIR / 'celery' / 'results'}"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if not REDIS_URL:
    CELERY_BROKER_TRANSPORT = "clinic.broker:Transport"  # kombu's filesystem transport, written atomically
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "celery" / "queue"),
        "data_folder_out": str(VAR_DIR / "celery" / "queue"),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_TIME_LIMIT = environment.read_int(ENV, "CELERY_TASK_TIME_LIMIT", 300, low=10, high=3600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# How old the last worker or beat heartbeat may be before /health/ reports 503.
HEARTBEAT_STALE_SECONDS = environment.read_int(ENV, "HEARTBEAT_STALE_SECONDS", 180, low=30, high=86400)

LOG_LEVEL = (ENV.get("LOG_LEVEL", "").strip() or "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise environment.bad("LOG_LEVEL", f"{LOG_LEVEL!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

for folder in (
    VAR_DIR / "mail",
    *(VAR_DIR / "celery" / sub for sub in ("queue", "processed", "results", "control")),
):
    folder.mkdir(parents=True, exist_ok=True)

# Checked last, so that a malformed variable above is reported by its own name first.
if not DEBUG and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 32):
    raise environment.bad(
        "SECRET_KEY",
        "production mode (DEBUG=false) needs a random secret key of at least 32 characters, "
        "not the development key.",
    )
