"""Care-plan background work: thin tasks over idempotent services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from careplans.services import careplans_advance_due_phases


@shared_task(name="careplans.tasks.advance_due_phases", ignore_result=True)
def advance_due_phases() -> int:
    """Start every phase whose rule is met. Runs hourly (UTC) so each patient's midnight is caught soon after
    it passes in their own zone; a second run in the same day finds nothing to do."""
    return careplans_advance_due_phases(now=timezone.now())
