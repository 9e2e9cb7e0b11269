"""A real Celery worker for the integration tests, on the configured broker (Redis in CI, the filesystem
transport embedded), consuming a queue of its own so nothing left on a shared broker can interfere."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker

from clinic.celery import app


@pytest.fixture
def worker() -> Iterator[Any]:
    queue = f"test-{uuid.uuid4().hex[:10]}"
    saved = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=10
        ) as w:
            yield w
    finally:
        app.conf.task_default_queue = saved
