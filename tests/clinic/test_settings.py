"""Settings come from the environment; a bad value stops start-up and names its variable."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "clinic" / "settings.py"
READ_VARIABLES = (
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "TIME_ZONE", "SITE_URL", "DATABASE_URL", "REDIS_URL", "EMAIL_URL",
    "CELERY_TASK_TIME_LIMIT", "HEARTBEAT_STALE_SECONDS", "LOG_LEVEL", "CLINIC_NAME", "DEFAULT_FROM_EMAIL",
)  # fmt: skip


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Run clinic/settings.py afresh with exactly the given variables (nothing inherited from CI)."""

    def run(**variables: str) -> dict[str, Any]:
        for name in READ_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("CLINIC_VAR_DIR", str(tmp_path))
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS))

    return run


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("DEBUG", "maybe", "not a yes/no value"),
        ("ALLOWED_HOSTS", "https://clinic.example.org", "not a host name"),
        ("TIME_ZONE", "Mars/Olympus_Mons", "not an IANA time zone"),
        ("DATABASE_URL", "mysql://root@localhost/clinic", "not supported"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/", "names no database"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:port/clinic", "port is not a number"),
        ("REDIS_URL", "http://127.0.0.1:6379", "not a Redis URL"),
        ("REDIS_URL", "redis://127.0.0.1:6379/zero", "is not a number"),
        ("EMAIL_URL", "pigeon://loft", "not supported"),
        ("EMAIL_URL", "smtp://", "names no host"),
        ("SITE_URL", "clinic.example.org", "not a web address"),
        ("CELERY_TASK_TIME_LIMIT", "soon", "not a whole number"),
        ("HEARTBEAT_STALE_SECONDS", "5", "outside 30..86400"),
        ("LOG_LEVEL", "LOUD", "is not one of"),
    ],
)
def test_a_malformed_variable_stops_start_up_naming_it(
    load: Any, variable: str, value: str, says: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"^{variable}: .*{says}"):
        load(**{variable: value})


def test_production_mode_refuses_the_development_secret_key(load: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY: production mode"):
        load(DEBUG="false")
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY: "):
        load(DEBUG="false", SECRET_KEY="short")


def test_production_mode_starts_with_a_real_secret_key(load: Any) -> None:
    loaded = load(DEBUG="false", SECRET_KEY="k" * 50, ALLOWED_HOSTS="clinic.example.org")
    assert loaded["DEBUG"] is False
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["ALLOWED_HOSTS"] == ["clinic.example.org"]


def test_with_no_variables_the_clinic_runs_embedded_on_sqlite_and_the_filesystem(
    load: Any, tmp_path: Path
) -> None:
    loaded = load()
    database = loaded["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(tmp_path / "clinic.sqlite3")
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert loaded["CELERY_BROKER_URL"] == "filesystem://"
    assert Path(loaded["CELERY_BROKER_TRANSPORT_OPTIONS"]["data_folder_in"]).is_dir()
    assert loaded["EMAIL_BACKEND"].endswith("filebased.EmailBackend")
    assert loaded["EMAIL_FILE_PATH"] == str(tmp_path / "mail")
    assert loaded["DEBUG"] is True


def test_the_url_forms_select_postgresql_redis_and_smtp(load: Any) -> None:
    loaded = load(
        DEBUG="true",
        DATABASE_URL="postgres://clinic:s%40cret@db.internal:6543/cadence?sslmode=require",
        REDIS_URL="redis://cache.internal:6380/2",
        EMAIL_URL="smtp+tls://mailer:p%3Ass@smtp.internal:587",
    )
    database = loaded["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["NAME"], database["USER"], database["PASSWORD"]) == ("cadence", "clinic", "s@cret")
    assert (database["HOST"], database["PORT"]) == ("db.internal", "6543")
    assert database["OPTIONS"] == {"sslmode": "require"}
    assert loaded["CELERY_BROKER_URL"] == "redis://cache.internal:6380/2"
    assert loaded["CACHES"]["default"]["BACKEND"].endswith("RedisCache")
    assert (loaded["EMAIL_HOST"], loaded["EMAIL_PORT"], loaded["EMAIL_USE_TLS"]) == (
        "smtp.internal",
        587,
        True,
    )
    assert loaded["EMAIL_HOST_PASSWORD"] == "p:ss"


def test_manage_py_refuses_to_start_and_prints_the_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in READ_VARIABLES}
    env.update(CLINIC_VAR_DIR=str(tmp_path), TIME_ZONE="Europe/Atlantis")
    run = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert "TIME_ZONE: 'Europe/Atlantis' is not an IANA time zone" in run.stderr


def test_the_embedded_database_really_runs_in_wal_mode(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in READ_VARIABLES}
    env["CLINIC_VAR_DIR"] = str(tmp_path)
    code = (
        "from django.db import connection\n"
        "with connection.cursor() as c:\n c.execute('PRAGMA journal_mode')\n print(c.fetchone()[0])"
    )
    run = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "wal"


def test_a_server_database_means_production_mode_unless_debug_is_asked_for(load: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY: production mode"):
        load(DATABASE_URL="postgres://clinic@db.internal:5432/cadence")
    assert (
        load(DATABASE_URL="postgres://clinic@db.internal:5432/cadence", SECRET_KEY="k" * 40)["DEBUG"] is False
    )
    assert load(DATABASE_URL="postgres://clinic@db.internal:5432/cadence", DEBUG="true")["DEBUG"] is True
