"""Planning the whole clinic runs on a real Celery worker while the page reports its progress."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from careplans.models import CarePlan
from clinic.models import Patient
from scheduling.models import Appointment, PlanningRun

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_whole_clinic_is_planned_by_a_worker_and_booked_from_the_review_page(
    worker: Any, bookable: dict[str, Any], make_plan: Callable[..., CarePlan], make_patient: Callable[..., Patient],
    therapist_user: User, front_desk_user: User,
) -> None:  # fmt: skip
    for n in range(3):
        patient = make_patient(therapist_user.therapist, first_name=f"Planned{n}")
        make_plan("Fibromyalgia, massage", therapist_user, patient=patient,
                  start=timezone.now().date() - timedelta(days=7))  # fmt: skip
    client = Client()
    client.force_login(front_desk_user)
    response = client.post(reverse("admin:scheduling_plan_clinic"))
    run = PlanningRun.objects.get()
    assert response["Location"] == reverse("admin:scheduling_planning_run", args=[run.pk])
    status_url = reverse("admin:scheduling_planning_run_status", args=[run.pk])
    seen = []
    deadline = time.monotonic() + 60
    while (status := client.get(status_url).json())["status"] not in ("done", "failed"):
        seen.append(status["progress"])
        assert time.monotonic() < deadline, f"the run never finished: {status}"
        time.sleep(0.05)
    assert status["status"] == "done", status
    assert status["progress"] == 100
    assert seen == sorted(seen)  # progress only moves forward
    assert status["summary"]["proposals"] >= 3
    page = client.get(reverse("admin:scheduling_planning_run", args=[run.pk])).content.decode()
    assert "Book all" in page
    token = PlanningRun.objects.get().proposals_token
    client.post(reverse("admin:scheduling_accept"), {"token": token})
    assert (
        Appointment.objects.filter(source=Appointment.Source.PLANNER).count()
        == status["summary"]["proposals"]
    )


def test_a_redelivered_planning_task_does_nothing_the_second_time(bookable: dict[str, Any]) -> None:
    from scheduling.planning import planning_run_execute

    run = PlanningRun.objects.create()
    planning_run_execute(run_id=run.pk)
    finished = PlanningRun.objects.get(pk=run.pk)
    planning_run_execute(run_id=run.pk)
    again = PlanningRun.objects.get(pk=run.pk)
    assert (again.status, again.finished_at) == (PlanningRun.Status.DONE, finished.finished_at)


def test_the_front_desk_may_plan_but_a_therapist_may_not(
    bookable: dict[str, Any], front_desk_user: User, therapist_user: User
) -> None:
    therapist = Client()
    therapist.force_login(therapist_user)
    assert therapist.get(reverse("admin:scheduling_plan_clinic")).status_code == 403
    desk = Client()
    desk.force_login(front_desk_user)
    assert desk.get(reverse("admin:scheduling_plan_clinic")).status_code == 200
