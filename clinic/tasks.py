"""Background tasks of the clinic core. Thin: ids in, a service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from clinic.messaging import sweep
from clinic.services import heartbeat_record


@shared_task(name="clinic.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    heartbeat_record(name="worker")


@shared_task(name="clinic.tasks.echo")
def echo(text: str) -> str:
    """Round-trips a value through the broker and a worker; used to check the pipeline end to end."""
    if not isinstance(text, str) or len(text) > 1000:
        raise ValueError("echo takes a text of at most 1000 characters.")
    return text


@shared_task(name="clinic.tasks.send_due_messages")
def send_due_messages() -> dict[str, int]:
    """The outbox sweeper (beat, every minute). Safe to run many at once: claims never overlap."""
    report = sweep(on_backlog=send_due_messages.delay)
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}
