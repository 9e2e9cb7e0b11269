"""Scheduling background work: thin tasks over idempotent services."""

from __future__ import annotations

from celery import shared_task

from scheduling.planning import planning_run_execute


@shared_task(name="scheduling.tasks.plan_clinic", ignore_result=True)
def plan_clinic(run_id: int) -> None:
    """Fill in a planning run. A redelivered message finds the run finished (or running) and does nothing."""
    if not isinstance(run_id, int) or run_id < 1:
        raise ValueError("plan_clinic takes the id of a planning run.")
    planning_run_execute(run_id=run_id)
