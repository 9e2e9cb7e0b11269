"""A real Celery worker on the configured broker (Redis in CI, the filesystem transport embedded)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from clinic.celery import app
from clinic.models import Heartbeat
from clinic.tasks import echo, heartbeat

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_task_travels_through_the_broker_to_a_worker_and_back(worker: Any) -> None:
    assert app.conf.task_serializer == "json"
    assert echo.delay("keep the cadence").get(timeout=30) == "keep the cadence"


def test_the_worker_runs_the_heartbeat_and_the_health_page_can_see_it(worker: Any) -> None:
    heartbeat.delay()
    deadline = time.monotonic() + 30
    while not Heartbeat.objects.filter(name="worker").exists():
        assert time.monotonic() < deadline, "the worker never recorded its heartbeat"
        time.sleep(0.1)


def test_a_task_given_bad_arguments_fails_with_a_clear_error(worker: Any) -> None:
    with pytest.raises(ValueError, match="at most 1000 characters"):
        echo.delay("x" * 5000).get(timeout=30)
