"""The planner in the clinic's hands: propose from "Needs attention", book all or none, replace a
cancelled session inside its window, and move sessions out of a therapist's time off."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from careplans.models import CarePlan
from careplans.selectors import item_statuses, with_plan_detail
from clinic import native
from clinic.models import Patient
from scheduling import planning, services
from scheduling.models import Appointment
from tests.helpers import as_user, fake_build, tiny_project

pytestmark = pytest.mark.django_db
MONDAY = 0


def token_of(response: Any) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert match, "the proposals page offers nothing to book"
    return match.group(1)


@pytest.fixture
def massage_plan(
    bookable: dict[str, Any], make_plan: Callable[..., CarePlan], therapist_user: User, patient: Patient
) -> CarePlan:
    """Alicia's massage plan started a week ago: her first session is due now, nothing is booked."""
    return make_plan("Fibromyalgia, massage", therapist_user, patient=patient,
                     start=timezone.now().date() - timedelta(days=7))  # fmt: skip


def test_propose_then_book_all_keeps_every_session_inside_its_window(
    massage_plan: CarePlan, front_desk_user: User
) -> None:
    client = as_user(front_desk_user)
    page = client.post(reverse("admin:scheduling_propose", args=[massage_plan.pk]))
    assert page.status_code == 200
    assert "Book all" in page.content.decode()
    response = client.post(reverse("admin:scheduling_accept"), {"token": token_of(page)})
    assert response.status_code == 302
    booked = list(Appointment.objects.filter(patient=massage_plan.patient).order_by("starts_at"))
    assert len(booked) >= 3  # 12 weeks of a 7–14-day cadence
    assert {a.source for a in booked} == {Appointment.Source.PLANNER}
    gaps = [(b.starts_at - a.starts_at).days for a, b in pairwise(booked)]
    assert all(7 <= gap <= 28 for gap in gaps), gaps
    plan = with_plan_detail(CarePlan.objects.filter(pk=massage_plan.pk)).get()
    booked_dates = {massage_plan.phases.get(order=0).items.get().pk: [a.starts_at.date() for a in booked]}
    (status,) = item_statuses(plan, today=timezone.now().date(), booked=booked_dates)
    assert status.state.status == "on_track"


def test_accepting_is_all_or_none_and_names_the_slot_that_was_taken(
    massage_plan: CarePlan,
    front_desk_user: User,
    make_patient: Callable[..., Patient],
    bookable: dict[str, Any],
) -> None:
    client = as_user(front_desk_user)
    page = client.post(reverse("admin:scheduling_propose", args=[massage_plan.pk]))
    token = token_of(page)
    rows, _ = planning.unsign_proposals(token)
    _, _, therapist_id, _, start, _ = rows[-1]
    intruder = make_patient(first_name="Zoe")
    services.appointment_book(patient=intruder, therapist=bookable["dana"] if therapist_id == bookable["dana"].pk
                              else bookable["marcus"], service=bookable["massage"], location=bookable["location"],
                              starts_at=start, booked_by=None)  # fmt: skip
    response = client.post(reverse("admin:scheduling_accept"), {"token": token}, follow=True)
    assert "Nothing was booked" in response.content.decode()
    assert not Appointment.objects.filter(patient=massage_plan.patient).exists()


def test_altered_proposals_are_refused(massage_plan: CarePlan, front_desk_user: User) -> None:
    client = as_user(front_desk_user)
    token = token_of(client.post(reverse("admin:scheduling_propose", args=[massage_plan.pk])))
    response = client.post(reverse("admin:scheduling_accept"), {"token": token[:-3] + "xyz"}, follow=True)
    assert "were altered or are incomplete" in response.content.decode()
    assert not Appointment.objects.exists()


def test_cancelling_offers_a_replacement_inside_the_same_window(
    massage_plan: CarePlan, front_desk_user: User
) -> None:
    client = as_user(front_desk_user)
    client.post(reverse("admin:scheduling_accept"),
                {"token": token_of(client.post(reverse("admin:scheduling_propose", args=[massage_plan.pk])))})  # fmt: skip
    first = Appointment.objects.filter(patient=massage_plan.patient).order_by("starts_at").first()
    assert first is not None
    window_end = first.starts_at + timedelta(days=14)
    page = client.post(reverse("admin:scheduling_appointment_changelist"),
                       {"action": "cancel_by_clinic", "_selected_action": [first.pk]})  # fmt: skip
    first.refresh_from_db()
    assert first.status == Appointment.Status.CANCELLED_BY_CLINIC
    rows, _ = planning.unsign_proposals(token_of(page))
    replacement = min(rows, key=lambda r: r[4])
    assert replacement[4] != first.starts_at
    assert timezone.now() < replacement[4] <= window_end


def test_time_off_proposes_a_move_for_every_affected_session(
    massage_plan: CarePlan, manager_user: User, bookable: dict[str, Any], at: Callable[..., datetime]
) -> None:
    item = massage_plan.phases.get(order=0).items.get()
    affected = services.appointment_book(patient=massage_plan.patient, therapist=bookable["dana"],
                                         service=item.service, location=bookable["location"],
                                         starts_at=at(MONDAY, 10), booked_by=None, cadence_item=item)  # fmt: skip
    day = at(MONDAY, 10).strftime("%Y-%m-%d")
    form = {"therapist": bookable["dana"].pk, "starts_at_0": day, "starts_at_1": "00:00:00", "ends_at_0": day,
            "ends_at_1": "23:59:00", "reason": "course"}  # fmt: skip
    page = as_user(manager_user).post(reverse("admin:scheduling_timeoff_add"), form)
    assert "fall in this time off" in page.content.decode()
    rows, replaces = planning.unsign_proposals(token_of(page))
    assert replaces == [affected.pk]
    move = min(rows, key=lambda r: r[4])
    assert (
        move[4].astimezone(bookable["location"].zone).date() != at(MONDAY, 10).date()
        or move[2] != bookable["dana"].pk
    )
    as_user(manager_user).post(reverse("admin:scheduling_accept"), {"token": token_of(page)})
    affected.refresh_from_db()
    assert affected.status == Appointment.Status.CANCELLED_BY_CLINIC
    assert Appointment.objects.filter(patient=massage_plan.patient, status=Appointment.Status.BOOKED).exists()


def test_only_staff_who_may_book_can_propose(
    massage_plan: CarePlan, teammate_user: User, outsider_user: User
) -> None:
    assert (
        as_user(teammate_user).post(reverse("admin:scheduling_propose", args=[massage_plan.pk])).status_code
        == 404
    )
    assert (
        as_user(outsider_user).post(reverse("admin:scheduling_propose", args=[massage_plan.pk])).status_code
        == 404
    )


def test_a_clinic_planning_run_on_a_compiled_planner_older_than_its_sources_fails_and_says_why(
    bookable: dict[str, Any], front_desk_user: User, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A deploy that edits the planner but skips the build would plan with the old code: the run refuses,
    and its page tells the desk what to do instead of spinning."""
    root = tiny_project(tmp_path)
    fake_build(root)
    (root / "scheduling" / "planner.py").write_text("# edited after the build\n")
    monkeypatch.setattr(native, "ROOT", root)
    run = planning.planning_run_start(by=front_desk_user)
    with pytest.raises(native.StaleBuild):
        planning.planning_run_execute(run_id=run.pk)
    page = as_user(front_desk_user).get(reverse("admin:scheduling_planning_run", args=[run.pk]))
    assert (
        "The run failed: StaleBuild: The compiled planner was built from other sources"
        in page.content.decode()
    )
    assert "Run `make native`" in page.content.decode()
