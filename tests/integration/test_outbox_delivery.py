"""The outbox delivers over real SMTP: each due row exactly once, through workers, crashes, refusals and races.

Every email carries ``X-Outbox-Id``; the SMTP sink (tests/integration/smtp_sink.py) counts deliveries per id.
Runs on the embedded default (SQLite file + Celery's filesystem transport) and on PostgreSQL + Redis.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from kombu import Exchange, Queue

from clinic import messaging
from clinic.celery import app
from clinic.models import Message, Patient
from clinic.tasks import send_due_messages
from scheduling.models import Appointment
from scheduling.reminders import CANCELLATION, REMINDER
from scheduling.services import appointment_cancel
from tests.integration import smtp_sink as sink_helpers
from tests.integration.smtp_sink import SmtpSink, Stage

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    # Celery's Redis result backend calls redis-py's deprecated setex once per task: noise, not ours.
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]

smtp_sink = sink_helpers.smtp_sink  # the fixture: a module attribute is all pytest needs to find it

PROJECT = Path(__file__).resolve().parents[2]
CELERY = PROJECT / ".venv" / "bin" / "celery"


# -- data: real appointments with reminders due now ------------------------------------------------------


def book_reminders(
    count: int, *, clinic: dict[str, Any], now: datetime, emails: Callable[[int], str] | None = None
) -> list[Message]:
    """``count`` patients, each with one booked future appointment and one reminder due ``now``.

    Rows are bulk-created (2,000 through the booking service would take minutes) but the reminders go
    through ``messaging.enqueue``, the same door booking uses.
    """
    tag = uuid.uuid4().hex[:6]
    address = emails or (lambda n: f"outbox-{tag}-{n}@example.com")
    patients = Patient.objects.bulk_create(
        Patient(first_name=f"Outbox{n}", last_name="Example", date_of_birth=date(1970, 1, 1),
                email=address(n), email_consent=True, time_zone="America/New_York")
        for n in range(count)
    )  # fmt: skip
    therapists = [clinic["dana"], clinic["marcus"]]
    first = (now + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    # One hour apart per therapist, so neither the PostgreSQL exclusion constraint nor a reader sees a clash.
    appointments = Appointment.objects.bulk_create(
        Appointment(patient=patient, therapist=therapists[n % 2], service=clinic["pt"], location=clinic["location"],
                    starts_at=first + timedelta(hours=n // 2), ends_at=first + timedelta(hours=n // 2, minutes=45))
        for n, patient in enumerate(patients)
    )  # fmt: skip
    with transaction.atomic():
        messages = [
            messaging.enqueue(
                kind=REMINDER,
                patient=appointment.patient,
                subject=f"appointment:{appointment.pk}",
                due_at=now,
                dedupe_key=f"outbox-test:{appointment.pk}",
            )
            for appointment in appointments
        ]
    assert all(messages), "every patient consented, so every reminder should be queued"
    return [m for m in messages if m is not None]


def statuses(ids: list[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in Message.objects.filter(id__in=ids).values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def sent_count(ids: list[int]) -> int:
    return Message.objects.filter(id__in=ids, status=Message.Status.SENT).count()


def wait_until(condition: Callable[[], bool], *, seconds: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up after {seconds:.0f} s waiting for {what}"
        time.sleep(every)


# -- Celery: a queue of our own, and workers in this process or in another --------------------------------


@pytest.fixture
def outbox_queue() -> Iterator[str]:
    """A queue no other test run shares; emptied afterwards so no stray sweep is left on a shared broker."""
    name = f"outbox-test-{uuid.uuid4().hex[:10]}"
    yield name
    with app.connection_for_write() as conn:
        # Declared on this connection so that delete() knows its binding and removes that too.
        queue = Queue(name, Exchange(name), routing_key=name).bind(conn.default_channel)
        queue.declare()
        queue.purge()
        queue.delete()
    if not settings.REDIS_URL:  # the filesystem transport keeps the emptied binding table as a file
        control = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["control_folder"]))
        (control / f"{name}.exchange").unlink(missing_ok=True)


def tick(queue: str) -> None:
    """What beat does every minute: ask some worker to sweep."""
    send_due_messages.apply_async(queue=queue)


def database_url() -> str:
    """The TEST database this run uses, as DATABASE_URL for a worker in another process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"


def worker_environment(sink: SmtpSink) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "EMAIL_URL", "DATABASE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        DATABASE_URL=database_url(),
        EMAIL_URL=sink.url,
        # The filesystem transport's folders live under VAR_DIR: the worker must read where we write.
        CLINIC_VAR_DIR=str(settings.VAR_DIR),
        PYTHONUNBUFFERED="1",
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    return env


class WorkerProcess:
    """``celery -A clinic worker --pool=solo`` in its own process, which a test may kill -9 and restart."""

    def __init__(self, queue: str, sink: SmtpSink, log: Path) -> None:
        self.queue, self.env, self.log = queue, worker_environment(sink), log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(CELERY), "-A", "clinic", "worker", "--pool=solo", "--concurrency=1", "-Q", self.queue,
                   "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
                   f"--hostname=outbox-{uuid.uuid4().hex[:8]}@%h"]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=PROJECT, env=self.env, stdout=out, stderr=out)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL, then reap it: a zombie still answers kill(pid, 0), and would look alive to the sweeper."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture
def worker_process(outbox_queue: str, smtp_sink: SmtpSink, tmp_path: Path) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(outbox_queue, smtp_sink, tmp_path / "worker.log")
    try:
        yield worker
    finally:
        worker.stop()
        log = worker.log.read_text(errors="replace") if worker.log.exists() else ""
        if any(word in log for word in ("Traceback", "ERROR", "CRITICAL")):  # its banners are no news
            print(f"\n--- worker log (last 4000 characters)\n{log[-4000:]}", file=sys.stderr)


@pytest.fixture
def quiet_celery_logs() -> Iterator[None]:
    """An in-process worker logs two INFO lines per task; a tick every second would bury the test output."""
    loggers = [logging.getLogger(name) for name in ("celery.app.trace", "celery.worker.strategy")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


# -- the tests --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("quiet_celery_logs")
def test_two_thousand_due_reminders_reach_the_smtp_server_exactly_once_through_a_real_worker(
    bookable: dict[str, Any], smtp_sink: SmtpSink, outbox_queue: str
) -> None:
    messages = book_reminders(2000, clinic=bookable, now=timezone.now())
    ids = [m.pk for m in messages]
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[outbox_queue], shutdown_timeout=30):
        deadline = time.monotonic() + 90
        while sent_count(ids) < len(ids):
            assert time.monotonic() < deadline, f"not all sent in time: {statuses(ids)}"
            tick(outbox_queue)  # beat's every minute, sped up: a sweep already running just finds less to do
            time.sleep(1.0)
    assert statuses(ids) == {Message.Status.SENT: 2000}
    delivered = smtp_sink.deliveries()
    assert sorted(delivered) == sorted(ids)
    assert set(delivered.values()) == {1}, f"{smtp_sink.duplicates()} duplicates"


def test_a_worker_killed_ten_times_mid_batch_loses_nothing_and_duplicates_at_most_one_per_kill(
    bookable: dict[str, Any], smtp_sink: SmtpSink, outbox_queue: str, worker_process: WorkerProcess
) -> None:
    messages = book_reminders(1500, clinic=bookable, now=timezone.now())
    ids = [m.pk for m in messages]
    kills = mid_batch = 0
    for _ in range(10):
        worker_process.start()
        before = sent_count(ids)
        tick(outbox_queue)

        def sending(before: int = before) -> bool:
            return sent_count(ids) >= before + 40 or not worker_process.alive()

        # Kill only once this worker is sending, so it dies with a claimed batch half done.
        wait_until(sending, seconds=60, what="the restarted worker to send")
        assert worker_process.alive(), "the worker stopped by itself; see its log"
        killed = worker_process.pid
        worker_process.kill()
        kills += 1
        stuck = Message.objects.filter(
            id__in=ids,
            status=Message.Status.SENDING,
            claimed_by__contains=f":{killed}:",  # host:pid:thread
        )
        mid_batch += stuck.exists()
    worker_process.start()
    deadline = time.monotonic() + 90
    while sent_count(ids) < len(ids):
        assert time.monotonic() < deadline, f"not all sent after the last restart: {statuses(ids)}"
        tick(outbox_queue)
        time.sleep(1.0)
    delivered = smtp_sink.deliveries()
    duplicates = smtp_sink.duplicates()
    print(f"\n[kill -9] {kills} kills ({mid_batch} with a claimed batch half sent), {len(ids)} reminders, "
          f"{duplicates} duplicate deliveries")  # fmt: skip
    # Between two batches there is no claimed row to strand; the kills are timed to miss that moment.
    assert mid_batch >= kills // 2, f"only {mid_batch} of {kills} kills landed mid-batch"
    assert statuses(ids) == {Message.Status.SENT: len(ids)}
    # A stranded row is claimed again after reconcile_stuck requeues it: its attempts show both claims.
    requeued = Message.objects.filter(id__in=ids, attempts__gte=2)
    assert requeued.exists(), "the dead workers' claims should have come back through reconcile_stuck"
    assert not set(ids) - set(delivered), "a reminder was marked sent but never reached the SMTP server"
    assert set(delivered) <= set(ids)
    assert duplicates <= kills


def test_two_sweepers_at_once_send_each_row_exactly_once(
    bookable: dict[str, Any], smtp_sink: SmtpSink
) -> None:
    messages = book_reminders(300, clinic=bookable, now=timezone.now())
    ids = [m.pk for m in messages]
    start = threading.Barrier(2)
    reports: list[messaging.SweepReport] = []
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            start.wait()
            # Small batches: many claims each, so the two sweepers interleave claims rather than take turns.
            reports.append(messaging.sweep(batch_size=10))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()  # this thread's own connection; Django opens one per thread

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert statuses(ids) == {Message.Status.SENT: 300}
    assert sorted(smtp_sink.deliveries()) == sorted(ids)
    assert set(smtp_sink.deliveries().values()) == {1}
    assert sum(r.sent for r in reports) == 300
    assert all(r.claimed > 0 for r in reports), f"one sweeper got nothing: {reports}"


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_a_server_refusing_for_a_while_gets_every_row_later_with_backoff_and_exactly_once(
    bookable: dict[str, Any], smtp_sink: SmtpSink, stage: Stage
) -> None:
    now = timezone.now()
    messages = book_reminders(12, clinic=bookable, now=now)
    ids = [m.pk for m in messages]
    smtp_sink.refuse(stage)

    first = messaging.sweep(now=now)
    assert (first.claimed, first.retrying, first.sent) == (12, 12, 0)
    for row in Message.objects.filter(id__in=ids):
        assert (row.status, row.attempts) == (Message.Status.PENDING, 1)
        assert "451" in row.last_error
        assert "try again later" in row.last_error
        assert row.due_at == now + timedelta(seconds=30)
    assert messaging.sweep(now=now).claimed == 0, "nothing is retried before its backoff has passed"

    later = now + timedelta(seconds=31)
    second = messaging.sweep(now=later)
    assert second.retrying == 12
    assert {row.attempts for row in Message.objects.filter(id__in=ids)} == {2}
    assert {row.due_at for row in Message.objects.filter(id__in=ids)} == {later + timedelta(seconds=60)}
    assert smtp_sink.total() == 0

    smtp_sink.accept()
    third = messaging.sweep(now=later + timedelta(seconds=61))
    assert third.sent == 12
    assert statuses(ids) == {Message.Status.SENT: 12}
    assert smtp_sink.deliveries() == dict.fromkeys(ids, 1)


def test_a_server_refusing_for_a_few_seconds_delays_delivery_without_losing_or_repeating_anything(
    bookable: dict[str, Any], smtp_sink: SmtpSink
) -> None:
    now = timezone.now()
    ids = [m.pk for m in book_reminders(5, clinic=bookable, now=now)]
    smtp_sink.refuse("data", seconds=1.0)
    assert messaging.sweep(now=now).retrying == 5
    time.sleep(1.2)  # the refusal lifts on its own
    assert messaging.sweep(now=now + timedelta(minutes=1)).sent == 5
    assert smtp_sink.deliveries() == dict.fromkeys(ids, 1)


def test_a_permanently_refused_address_fails_its_row_with_the_error_and_the_admin_lists_it_as_failed(
    bookable: dict[str, Any], smtp_sink: SmtpSink, manager_user: User
) -> None:
    now = timezone.now()
    bad = "nobody@example.com"
    messages = book_reminders(
        3, clinic=bookable, now=now, emails=lambda n: bad if n == 1 else f"fine{n}@example.com"
    )
    refused, others = messages[1], [messages[0], messages[2]]
    smtp_sink.reject_address(bad)

    report = messaging.sweep(now=now)
    assert (report.sent, report.failed, report.retrying) == (2, 1, 0)
    refused.refresh_from_db()
    assert refused.status == Message.Status.FAILED
    assert "550" in refused.last_error
    assert "no such user" in refused.last_error
    assert refused.attempts == 1, "a permanent refusal is not retried"
    assert smtp_sink.received(refused.pk) == 0
    assert all(smtp_sink.received(m.pk) == 1 for m in others)
    assert messaging.sweep(now=now + timedelta(hours=2)).claimed == 0, "a failed row stays failed"

    client = Client()
    client.force_login(manager_user)
    response = client.get("/admin/clinic/message/", {"status__exact": "failed"})
    assert response.status_code == 200
    assert [m.pk for m in response.context["cl"].result_list] == [refused.pk]
    assert "no such user" in response.content.decode()


def test_an_appointment_cancelled_between_claim_and_send_never_gets_its_reminder(
    bookable: dict[str, Any], smtp_sink: SmtpSink
) -> None:
    now = timezone.now()
    messages = book_reminders(3, clinic=bookable, now=now)
    doomed = messages[0]
    ids = messaging.claim_batch(now=now)
    assert sorted(ids) == sorted(m.pk for m in messages)

    def cancel_first(message: Message) -> None:
        # Runs after the row is claimed and rendered, right before the SMTP call: the patient cancels.
        if message.pk == doomed.pk:
            appointment = Appointment.objects.get(pk=int(doomed.subject.partition(":")[2]))
            appointment_cancel(appointment=appointment, by_patient=True)

    report = messaging.SweepReport(claimed=len(ids))
    messaging.send_batch(ids, now=now, report=report, before_send=cancel_first)

    assert (report.cancelled, report.sent) == (1, 2)
    doomed.refresh_from_db()
    assert doomed.status == Message.Status.CANCELLED
    assert smtp_sink.received(doomed.pk) == 0
    assert all(smtp_sink.received(m.pk) == 1 for m in messages[1:])
    # The cancellation itself is news the patient does get: another row, another email.
    notice = Message.objects.get(subject=doomed.subject, kind=CANCELLATION)
    messaging.sweep()
    assert smtp_sink.received(notice.pk) == 1
    assert smtp_sink.received(doomed.pk) == 0
