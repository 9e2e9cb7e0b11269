"""Benchmark: reminders sent per second end to end, against raw Celery no-op tasks per second.

Both go through the same real worker (``celery -A clinic worker``: 1 worker process, prefork concurrency 2)
on real Redis, so the ratio says how close the outbox comes to the broker's own speed:

(a) no-op tasks/s: N tasks that do nothing but count themselves (one Redis INCR, so the last completion
    can be seen), timed from the first send to the last completion;
(b) reminders/s: N due outbox rows for real booked appointments; beat-style ``send_due_messages`` ticks
    make the worker claim, render (templates, .ics, signed links), send over SMTP to a local sink and
    mark each row sent; timed from the first tick to the last row marked sent.

Three rounds of (a) then (b) are run, and the ratio is that of their medians. The sink is the minimal SMTP
server in ``bench/_smtp_sink.py`` (its docstring says why); the same rounds are then run with aiosmtpd, the
tests' SMTP server, and printed for comparison.

The worker gets a throwaway SQLite database (migrated in a temporary folder) and its own queue on
``REDIS_URL`` (default ``redis://127.0.0.1:6379/15``); the clinic's own database and broker are not
touched. Benchmarks are not tests: the target (≥ 1×) and goal (≥ 2×) are printed, met or not.

``python -m bench.reminders`` runs it alone; ``python -m bench.reminders seed N`` is what the benchmark
itself calls (in a subprocess pointed at the throwaway database) to book N appointments with reminders due.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import redis
from celery import Celery, shared_task

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
NOOP_TASKS = int(os.environ.get("BENCH_NOOP_TASKS", "2000"))
REMINDERS = int(os.environ.get("BENCH_REMINDERS", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WARM_UP_REMINDERS = 40
CONCURRENCY = 2
TARGET, GOAL = 1.0, 2.0

_counter: redis.Redis | None = None


@shared_task(name="bench.reminders.noop", ignore_result=True)
def noop(counter_key: str) -> None:
    """Does nothing but count itself, so the benchmark can tell when the last one is done."""
    global _counter
    if _counter is None:  # one client per worker child, made on first use (after the fork)
        _counter = redis.Redis.from_url(os.environ["REDIS_URL"])
    _counter.incr(counter_key)


# -- the throwaway database (seeded in a subprocess that uses it as its only database) ----------------------


def seed(count: int) -> None:
    """Book ``count`` appointments a few days ahead, each with a reminder due now (Django is set up)."""
    from datetime import date, timedelta

    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from clinic import messaging
    from clinic.models import Location, Patient, Service, Therapist
    from scheduling.models import Appointment
    from scheduling.reminders import REMINDER

    tag = uuid.uuid4().hex[:8]
    now = timezone.now()
    with transaction.atomic():
        location, _ = Location.objects.get_or_create(
            name="Bench Clinic",
            defaults={"address": "1 Bench St", "phone": "+1 555 0100", "time_zone": "UTC"},
        )
        service, _ = Service.objects.get_or_create(
            name="Physical therapy",
            defaults={"discipline": "physical_therapy", "default_duration_minutes": 45},
        )
        # A therapist of its own per seeding, so its appointments never overlap an earlier seeding's.
        therapist = Therapist.objects.create(user=User.objects.create_user(f"bench-{tag}"))
        patients = Patient.objects.bulk_create(
            Patient(first_name=f"Bench{n}", last_name="Patient", date_of_birth=date(1970, 1, 1),
                    email=f"bench-{tag}-{n}@example.com", email_consent=True, time_zone="America/New_York")
            for n in range(count)
        )  # fmt: skip
        first = (now + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
        appointments = Appointment.objects.bulk_create(
            Appointment(patient=patient, therapist=therapist, service=service, location=location,
                        starts_at=first + timedelta(hours=n), ends_at=first + timedelta(hours=n, minutes=45))
            for n, patient in enumerate(patients)
        )  # fmt: skip
        for appointment in appointments:
            messaging.enqueue(kind=REMINDER, patient=appointment.patient, subject=f"appointment:{appointment.pk}",
                              due_at=now, dedupe_key=f"bench:{appointment.pk}")  # fmt: skip


def sent_rows(database: Path) -> int:
    # Plain sqlite3, read-only: the benchmark process keeps its own Django database out of this.
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=20) as db:
        return int(db.execute("SELECT count(*) FROM clinic_message WHERE status = 'sent'").fetchone()[0])


# -- processes --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    redis_url: str
    queue: str
    folder: Path

    @property
    def database(self) -> Path:
        return self.folder / "bench.sqlite3"

    @property
    def log(self) -> Path:
        return self.folder / "worker.log"

    def environment(self, email_url: str = "") -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "EMAIL_URL"}}
        env.update(
            DJANGO_SETTINGS_MODULE="clinic.settings",
            DATABASE_URL=f"sqlite:///{self.database}",
            REDIS_URL=self.redis_url,
            CLINIC_VAR_DIR=str(self.folder / "var"),
            LOG_LEVEL="WARNING",
        )
        if email_url:
            env["EMAIL_URL"] = email_url
        return env


def run_django(setup: Setup, *args: str) -> None:
    subprocess.run(
        [sys.executable, *args], cwd=PROJECT, env=setup.environment(), check=True, capture_output=True
    )


WORKER_OPTIONS = ["--pool=prefork", f"--concurrency={CONCURRENCY}", "--loglevel=WARNING", "--without-gossip",
                  "--without-mingle", "--without-heartbeat"]  # fmt: skip


@contextmanager
def worker(setup: Setup, email_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """The clinic's worker as deployed (``-A clinic``), also importing this module for the no-op task."""
    celery = str(PROJECT / ".venv" / "bin" / "celery")
    command = [celery, "-A", "clinic", "worker", "--include", "bench.reminders", "-Q", setup.queue,
               f"--hostname=bench-{uuid.uuid4().hex[:6]}@%h", *WORKER_OPTIONS]  # fmt: skip
    with setup.log.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT, env=setup.environment(email_url), stdout=log, stderr=log
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class Run:
    """What both measurements share: where to publish, where to count, and the worker doing the work."""

    setup: Setup
    publisher: Celery
    counter: redis.Redis
    process: subprocess.Popen[bytes]

    def publish(self, task: str, *args: Any, producer: Any = None) -> None:
        # ignore_result: nobody reads them, and the publisher has no result backend to subscribe to.
        self.publisher.send_task(
            task, args=args, queue=self.setup.queue, producer=producer, ignore_result=True
        )

    def wait_for(
        self, condition: Callable[[], bool], *, seconds: float, what: str, every: float = 0.005
    ) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if self.process.poll() is not None:
                tail = self.setup.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(
                    f"the worker exited ({self.process.returncode}) while waiting for {what}:\n{tail}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up after {seconds:.0f} s waiting for {what}")
            time.sleep(every)


# -- the two measurements -----------------------------------------------------------------------------------


def noop_rate(run: Run, count: int) -> tuple[float, float]:
    """No-op tasks per second from the first send to the last completion, and the seconds that took."""
    key = f"bench:noop:{uuid.uuid4().hex}"
    try:
        started = time.perf_counter()
        with run.publisher.producer_or_acquire() as producer:
            for _ in range(count):
                run.publish(noop.name, key, producer=producer)
        run.wait_for(
            lambda: int(run.counter.get(key) or 0) >= count, seconds=300, what=f"{count} no-op tasks"
        )
        elapsed = time.perf_counter() - started
    finally:
        run.counter.delete(key)
    return count / elapsed, elapsed


def sweep_until_sent(run: Run, total: int) -> float:
    """Tick like beat (one sweep per worker child at once, then again every 5 s) until ``total`` rows are sent."""
    started = time.perf_counter()
    next_tick = started

    def all_sent() -> bool:
        nonlocal next_tick
        if time.perf_counter() >= next_tick:
            for _ in range(CONCURRENCY):
                run.publish("clinic.tasks.send_due_messages")
            next_tick = time.perf_counter() + 5.0
        return sent_rows(run.setup.database) >= total

    # Polled every 50 ms: counting rows steals CPU from the worker on a small machine; 50 ms is < 1% here.
    run.wait_for(all_sent, seconds=600, what=f"{total} reminders sent", every=0.05)
    return time.perf_counter() - started


def reminder_rate(run: Run, count: int) -> tuple[float, float]:
    already = sent_rows(run.setup.database)
    run_django(run.setup, "-m", "bench.reminders", "seed", str(count))  # while the worker is idle: not timed
    elapsed = sweep_until_sent(run, already + count)
    return count / elapsed, elapsed


def forget_queue(publisher: Celery, queue: str) -> None:
    """Leave nothing behind on the shared Redis: the queue, any leftover ticks, and its binding."""
    from kombu import Exchange, Queue

    with publisher.connection_for_write() as conn:
        bound = Queue(queue, Exchange(queue), routing_key=queue).bind(conn.default_channel)
        bound.declare()  # on this connection, so that delete() knows the binding and removes it too
        bound.purge()
        bound.delete()


@dataclass(frozen=True)
class Round:
    noops: float
    noop_seconds: float
    reminders: float
    reminder_seconds: float


@dataclass(frozen=True)
class Figures:
    rounds: list[Round]
    delivered: int
    duplicates: int

    @property
    def noops(self) -> float:
        return statistics.median(r.noops for r in self.rounds)

    @property
    def reminders(self) -> float:
        return statistics.median(r.reminders for r in self.rounds)

    @property
    def ratio(self) -> float:
        return self.reminders / self.noops


class Sink(Protocol):
    @property
    def url(self) -> str: ...

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def total(self) -> int: ...
    def duplicates(self) -> int: ...


def measure(setup: Setup, counter: redis.Redis, sink: Sink) -> Figures:
    # A publisher of its own on the bench broker, so the clinic app's configured broker is left alone.
    publisher = Celery("bench-publisher", broker=setup.redis_url, set_as_current=False)
    publisher.conf.update(task_serializer="json", accept_content=["json"])
    sink.start()
    try:
        with worker(setup, sink.url) as process:
            run = Run(setup, publisher, counter, process)
            # Warm up both children (imports, Django, connections, templates) before anything is timed.
            noop_rate(run, 20)
            reminder_rate(run, WARM_UP_REMINDERS)
            # Alternating rounds, compared by their medians: a burst of other work on a small machine
            # then slows one round of each kind, not the whole comparison.
            rounds = [
                Round(*noop_rate(run, NOOP_TASKS), *reminder_rate(run, REMINDERS)) for _ in range(ROUNDS)
            ]
        return Figures(rounds, sink.total(), sink.duplicates())
    finally:
        sink.stop()
        forget_queue(publisher, setup.queue)
        publisher.close()


def verdict(ratio: float, bar: float) -> str:
    return f"{'met' if ratio >= bar else 'NOT met'} (≥ {bar:g}×)"


def report(figures: Figures, reference: Figures) -> None:
    f = figures
    print(
        f"   One worker process, prefork concurrency {CONCURRENCY}, Redis broker, throwaway SQLite database;"
    )
    print("   the SMTP sink is the minimal server in bench/_smtp_sink.py (why: its docstring)")
    for n, r in enumerate(f.rounds, 1):
        print(f"   round {n}: (a) no-op Celery tasks {NOOP_TASKS} in {r.noop_seconds:5.2f} s = {r.noops:6.1f}/s;"
              f" (b) reminders end to end {REMINDERS} in {r.reminder_seconds:5.2f} s = {r.reminders:6.1f}/s")  # fmt: skip
    print(f"   Medians: (a) {f.noops:.1f} no-op tasks/s, (b) {f.reminders:.1f} reminders/s"
          " (claim, render, SMTP to the local sink, mark sent)")  # fmt: skip
    print(f"   SMTP sink accepted {f.delivered} emails ({f.duplicates} duplicates; warm-up included)")
    print(f"   Ratio reminders/s ÷ no-op tasks/s = {f.ratio:.3f}×: target {verdict(f.ratio, TARGET)}, "
          f"goal {verdict(f.ratio, GOAL)}")  # fmt: skip
    print(f"   For comparison, with aiosmtpd as the sink (the tests' SMTP server): (a) {reference.noops:.1f}/s,"
          f" (b) {reference.reminders:.1f}/s, ratio {reference.ratio:.3f}×; {reference.duplicates} duplicates")  # fmt: skip


def main() -> None:
    from bench._smtp_sink import MinimalSmtpSink
    from tests.integration.smtp_sink import SmtpSink

    redis_url = os.environ.get("REDIS_URL", "").strip() or DEFAULT_REDIS_URL
    counter = redis.Redis.from_url(redis_url)
    try:
        counter.ping()
    except redis.RedisError as error:
        print(f"   Skipped: this benchmark needs Redis at {redis_url} ({error}).")
        return
    with tempfile.TemporaryDirectory(prefix="bench-reminders-") as folder:
        queue = f"bench-reminders-{uuid.uuid4().hex[:8]}"
        setup = Setup(redis_url=redis_url, queue=queue, folder=Path(folder))
        run_django(setup, "manage.py", "migrate", "--noinput")
        figures = measure(setup, counter, MinimalSmtpSink())
        reference = measure(setup, counter, SmtpSink())
        report(figures, reference)


def _command_line() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    django.setup()
    if sys.argv[1:2] == ["seed"]:
        seed(int(sys.argv[2]))
    else:
        main()


if __name__ == "__main__":
    _command_line()
