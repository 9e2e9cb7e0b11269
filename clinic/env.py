"""Read configuration from the environment; a malformed value stops start-up naming its variable.

Every parser takes the variable's name so that its error says which variable is wrong and what a good
value looks like. Parsers are pure functions of the mapping they are given, which keeps them testable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
HOST_PATTERN = re.compile(r"^(\*|\.?[A-Za-z0-9*]([A-Za-z0-9\-.*]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$")


def bad(name: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}: {problem}")


def read_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise bad(name, f"{raw!r} is not a yes/no value; use true or false.")


def read_hosts(env: Mapping[str, str], name: str, default: list[str]) -> list[str]:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    hosts = [h.strip() for h in raw.split(",") if h.strip()]
    for host in hosts:
        if not HOST_PATTERN.match(host):
            raise bad(name, f"{host!r} is not a host name; give bare names such as clinic.example.org.")
    return hosts


def read_time_zone(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad(name, f"{raw!r} is not an IANA time zone such as Europe/London.") from None
    return raw


def read_int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(name, f"{raw!r} is not a whole number.") from None
    if not low <= value <= high:
        raise bad(name, f"{value} is outside {low}..{high}.")
    return value


def read_database(env: Mapping[str, str], name: str, var_dir: Path) -> dict[str, Any]:
    """DATABASE_URL: postgres://user:password@host:port/name, or sqlite:///absolute/path.sqlite3.

    Without it the clinic runs on SQLite in var/: WAL so readers do not block the writer, and IMMEDIATE
    transactions so two writers queue for the lock instead of failing half-way with "database is locked".
    """
    raw = env.get(name, "").strip()
    if not raw:
        return sqlite_database(var_dir / "clinic.sqlite3")
    parts = urlsplit(raw)
    if parts.scheme in {"postgres", "postgresql"}:
        db_name = unquote(parts.path.lstrip("/"))
        if not db_name:
            raise bad(name, "the PostgreSQL URL names no database; use postgres://user@host:5432/clinic.")
        try:
            port = parts.port
        except ValueError:
            raise bad(name, "the port is not a number.") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": db_name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": dict(parse_qsl(parts.query)),
        }
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if not path or path == "/":
            raise bad(name, "the SQLite URL names no file; use sqlite:////absolute/path/clinic.sqlite3.")
        return sqlite_database(Path(path))
    raise bad(name, f"scheme {parts.scheme or '(none)'!r} is not supported; use postgres:// or sqlite:///.")


def sqlite_database(path: Path) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # Tests use a file too (not memory): threads then share one database and really queue for its lock.
        "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def read_redis_url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise bad(name, f"{raw!r} is not a Redis URL; use redis://host:6379/0.")
    try:
        parts.port  # noqa: B018 - raises on a non-numeric port
    except ValueError:
        raise bad(name, "the port is not a number.") from None
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise bad(name, f"database {db!r} is not a number; use redis://host:6379/0.")
    return raw


def read_email(env: Mapping[str, str], name: str, var_dir: Path) -> dict[str, Any]:
    """EMAIL_URL: smtp://user:pass@host:port (smtp+tls://, smtp+ssl://), console://, or file:///folder.

    The default writes each email to a file in var/mail/, where a person can read it.
    """
    raw = env.get(name, "").strip()
    if not raw:
        return file_email(var_dir / "mail")
    parts = urlsplit(raw)
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "file":
        if not parts.path or parts.path == "/":
            raise bad(name, "the file URL names no folder; use file:///absolute/folder.")
        return file_email(Path(unquote(parts.path)))
    if parts.scheme in {"smtp", "smtp+tls", "smtp+ssl"}:
        if not parts.hostname:
            raise bad(name, "the SMTP URL names no host; use smtp://host:25.")
        try:
            port = parts.port
        except ValueError:
            raise bad(name, "the port is not a number.") from None
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname,
            "EMAIL_PORT": port or (465 if parts.scheme == "smtp+ssl" else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_TLS": parts.scheme == "smtp+tls",
            "EMAIL_USE_SSL": parts.scheme == "smtp+ssl",
            "EMAIL_TIMEOUT": 20,
        }
    raise bad(
        name, f"scheme {parts.scheme or '(none)'!r} is not supported; use smtp://, console:// or file:///."
    )


def file_email(folder: Path) -> dict[str, Any]:
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(folder),
    }


def read_url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = (env.get(name, "").strip() or default).rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise bad(name, f"{raw!r} is not a web address; use https://clinic.example.org.")
    return raw
