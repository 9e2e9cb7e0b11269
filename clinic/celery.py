"""The Celery app and the beat schedule.

Beat only kicks idempotent sweepers on UTC intervals: no crontab in local time (it fires twice or not at
all around DST) and no long ETA/countdown tasks (Redis's visibility timeout would run them again).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, before_task_publish

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HEARTBEAT_TASK = "clinic.tasks.heartbeat"
SWEEPER_TASK = "clinic.tasks.send_due_messages"

app.conf.beat_schedule = {
    "heartbeat": {"task": HEARTBEAT_TASK, "schedule": 60.0},
    "send-due-messages": {"task": SWEEPER_TASK, "schedule": 60.0},
    "advance-care-plan-phases": {"task": "careplans.tasks.advance_due_phases", "schedule": 3600.0},
}

_running_beat = False


@beat_init.connect
def _mark_beat_process(**_: Any) -> None:
    global _running_beat
    _running_beat = True
    # Interval entries first fire one interval after start: without this, /health/ would call a freshly
    # started clinic unhealthy for a minute, and email due during the downtime would wait a minute more.
    for task in (HEARTBEAT_TASK, SWEEPER_TASK):
        app.send_task(task)


@before_task_publish.connect
def _beat_heartbeat(sender: str | None = None, **_: Any) -> None:
    """Beat records its own heartbeat when it sends one, so /health/ can tell beat and worker apart."""
    if not _running_beat or sender != HEARTBEAT_TASK:
        return
    import django

    django.setup()
    from clinic.services import heartbeat_record

    heartbeat_record(name="beat")
