"""Checks behind /health/: can we reach the database and the broker, and are worker and beat alive?"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from clinic.celery import app
from clinic.models import Heartbeat


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str
    age_seconds: float | None = None


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return Check(False, f"database unreachable ({type(error).__name__})")
    return Check(True, "database answers")


def check_broker(timeout: int = 2) -> Check:
    url: str = app.conf.broker_url or ""
    if url.startswith("filesystem://"):
        folder = Path(app.conf.broker_transport_options.get("data_folder_in", ""))
        if folder.is_dir() and os.access(folder, os.W_OK):
            return Check(True, "filesystem queue is writable")
        return Check(False, "filesystem queue folder is missing or read-only")
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    except Exception as error:
        return Check(False, f"broker unreachable ({type(error).__name__})")
    return Check(True, "broker answers")


def check_heartbeats(now: datetime) -> dict[str, Check]:
    seen = dict(Heartbeat.objects.filter(name__in=["worker", "beat"]).values_list("name", "last_seen"))
    checks = {}
    for name in ("worker", "beat"):
        last = seen.get(name)
        if last is None:
            checks[name] = Check(False, f"{name} has never reported")
            continue
        age = (now - last).total_seconds()
        fresh = age <= settings.HEARTBEAT_STALE_SECONDS
        checks[name] = Check(fresh, f"{name} last seen {round(age)} s ago", round(age, 1))
    return checks


def health_report(now: datetime) -> tuple[bool, dict[str, Any]]:
    checks = {"database": check_database(), "broker": check_broker()}
    checks.update(check_heartbeats(now) if checks["database"].ok else {})
    healthy = all(c.ok for c in checks.values()) and len(checks) == 4
    return healthy, {
        "status": "ok" if healthy else "unhealthy",
        "checks": {name: asdict(check) for name, check in checks.items()},
    }
