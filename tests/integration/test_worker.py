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


def test_a_backlog_of_email_is_shared_between_sweeps_and_each_is_sent_once(worker: Any) -> None:
    from datetime import date

    from django.core import mail
    from django.test import override_settings
    from django.utils import timezone

    from clinic import messaging
    from clinic.models import Message, Patient
    from clinic.tasks import send_due_messages

    def render(message: Message, batch: object) -> messaging.RenderedEmail:
        return messaging.RenderedEmail(subject=f"Note {message.pk}", text="Hello", html="<p>Hello</p>")

    messaging.register_renderer("test_note", render)
    patient = Patient.objects.create(first_name="Ana", last_name="Lima", date_of_birth=date(1980, 1, 1),
                                     email="ana@example.com", email_consent=True, time_zone="UTC")  # fmt: skip
    Message.objects.bulk_create(
        Message(
            kind="test_note", patient=patient, subject="note", due_at=timezone.now(), dedupe_key=f"note-{n}"
        )
        for n in range(250)
    )
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        send_due_messages.delay()
        deadline = time.monotonic() + 60
        while Message.objects.exclude(status=Message.Status.SENT).exists():
            assert time.monotonic() < deadline, "the backlog was never sent"
            time.sleep(0.1)
        ids = [int(m.extra_headers["X-Outbox-Id"]) for m in mail.outbox]
    assert sorted(ids) == sorted(Message.objects.values_list("pk", flat=True))  # each once, none twice


def test_a_clinic_just_started_is_healthy_within_seconds_not_after_beats_first_minute(worker: Any) -> None:
    from celery.signals import beat_init
    from django.test import Client

    from clinic import celery as clinic_celery

    try:
        beat_init.send(sender=None)  # what `celery beat` sends as it starts
        deadline = time.monotonic() + 30
        while Heartbeat.objects.filter(name__in=["beat", "worker"]).count() < 2:
            assert time.monotonic() < deadline, "beat and the worker did not both report at start"
            time.sleep(0.1)
    finally:
        clinic_celery._running_beat = False  # this test process is not beat
    assert Client().get("/health/").status_code == 200
