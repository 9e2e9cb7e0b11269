"""/health/ tells an operator whether the database, broker, worker and beat are all alive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from clinic.celery import app
from clinic.services import heartbeat_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_heartbeats() -> None:
    heartbeat_record(name="worker")
    heartbeat_record(name="beat")


@pytest.fixture
def unreachable_broker() -> Iterator[None]:
    # Nothing listens on port 1: a real connection attempt to a broker that is down. Configured as with
    # REDIS_URL, which names no transport of its own (the embedded default names the filesystem one).
    saved = app.conf.broker_url, app.conf.broker_transport
    app.conf["broker_url"], app.conf["broker_transport"] = "redis://127.0.0.1:1/0", None
    try:
        yield
    finally:
        app.conf["broker_url"], app.conf["broker_transport"] = saved


def test_health_is_ok_when_everything_answers(fresh_heartbeats: None) -> None:
    response = Client().get("/health/")
    assert response.status_code == 200, response.json()
    report = response.json()
    assert report["status"] == "ok"
    assert set(report["checks"]) == {"database", "broker", "worker", "beat"}


def test_health_reports_503_when_the_broker_is_unreachable(
    fresh_heartbeats: None, unreachable_broker: None
) -> None:
    response = Client().get("/health/")
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["ok"] is False
    assert broker["detail"].startswith("broker unreachable")


def test_health_reports_503_when_the_worker_has_gone_quiet(fresh_heartbeats: None) -> None:
    heartbeat_record(name="worker", at=timezone.now() - timedelta(minutes=10))
    response = Client().get("/health/")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["worker"]["ok"] is False
    assert checks["worker"]["age_seconds"] >= 599
    assert checks["beat"]["ok"] is True


def test_health_reports_503_before_beat_has_ever_run() -> None:
    heartbeat_record(name="worker")
    response = Client().get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"]["detail"] == "beat has never reported"


def test_health_only_answers_get() -> None:
    assert Client().post("/health/").status_code == 405
