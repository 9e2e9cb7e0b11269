"""Calendar, appointments and "Needs attention" tried as a therapist, a teammate, the front desk, a manager
and an outsider; query counts stay flat as the clinic fills up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from careplans.models import CarePlan
from clinic.models import Patient
from scheduling import services
from scheduling.models import Appointment
from tests.helpers import as_user

pytestmark = pytest.mark.django_db
MONDAY, WEDNESDAY = 0, 2


@pytest.fixture
def day(
    bookable: dict[str, Any], make_patient: Callable[..., Patient], therapist_user: User, teammate_user: User,
    at: Callable[..., datetime], make_plan: Callable[..., CarePlan],
) -> dict[str, Any]:  # fmt: skip
    """Dana sees Alicia (her patient, on a PT plan) at 10:00; Marcus sees Brenda (his) at 11:00."""
    alicia = make_patient(therapist_user.therapist, first_name="Alicia", preferred_name="Ali")
    brenda = make_patient(teammate_user.therapist, first_name="Brenda")
    plan = make_plan(
        "Fibromyalgia, PT-led",
        therapist_user,
        patient=alicia,
        start=at(MONDAY, 9).date() - timedelta(weeks=3),
    )
    item = plan.phases.get(order=0).items.get()
    ours = services.appointment_book(patient=alicia, therapist=bookable["dana"], service=bookable["pt"],
                                     location=bookable["location"], starts_at=at(MONDAY, 10), booked_by=None,
                                     cadence_item=item)  # fmt: skip
    theirs = services.appointment_book(patient=brenda, therapist=bookable["marcus"], service=bookable["pt"],
                                       location=bookable["location"], starts_at=at(MONDAY, 11), booked_by=None)  # fmt: skip
    calendar = (
        reverse("admin:scheduling_calendar")
        + f"?location={bookable['location'].pk}&date={at(MONDAY, 9).date()}"
    )
    return {"ours": ours, "theirs": theirs, "plan": plan, "calendar": calendar, **bookable}


def test_the_week_calendar_shows_each_appointment_in_local_time_with_a_link(
    day: dict[str, Any], manager_user: User
) -> None:
    body = as_user(manager_user).get(day["calendar"]).content.decode()
    assert "10:00 Ali" in body
    assert "11:00 Brenda" in body
    assert reverse("admin:scheduling_appointment_change", args=[day["ours"].pk]) in body
    assert "Times in America/New_York" in body


def test_the_day_calendar_has_a_column_per_therapist(day: dict[str, Any], manager_user: User) -> None:
    body = as_user(manager_user).get(day["calendar"] + "&view=day").content.decode()
    assert body.count('class="cal-head"') == 2
    assert "Dana Tester" in body
    assert "Marcus Tester" in body


def test_a_therapist_sees_only_their_own_sessions_on_the_calendar(
    day: dict[str, Any], therapist_user: User
) -> None:
    body = as_user(therapist_user).get(day["calendar"]).content.decode()
    assert "10:00 Ali" in body
    assert "Brenda" not in body


def test_the_front_desk_sees_every_booking(day: dict[str, Any], front_desk_user: User) -> None:
    body = as_user(front_desk_user).get(day["calendar"]).content.decode()
    assert "10:00 Ali" in body
    assert "11:00 Brenda" in body


@pytest.mark.parametrize("page", ["calendar", "needs attention", "appointments"])
def test_a_user_with_no_role_is_refused_every_scheduling_page(
    day: dict[str, Any], outsider_user: User, page: str
) -> None:
    url = {"calendar": day["calendar"], "needs attention": reverse("admin:scheduling_needs_attention"),
           "appointments": reverse("admin:scheduling_appointment_changelist")}[page]  # fmt: skip
    assert as_user(outsider_user).get(url).status_code == 403


def test_a_therapist_cannot_open_a_teammates_appointment(day: dict[str, Any], therapist_user: User) -> None:
    client = as_user(therapist_user)
    assert (
        client.get(reverse("admin:scheduling_appointment_change", args=[day["ours"].pk])).status_code == 200
    )
    assert (
        client.get(reverse("admin:scheduling_appointment_change", args=[day["theirs"].pk])).status_code == 404
    )


def test_a_bad_calendar_date_is_explained_not_a_crash(day: dict[str, Any], manager_user: User) -> None:
    response = as_user(manager_user).get(reverse("admin:scheduling_calendar") + "?date=next-tuesday")
    assert response.status_code == 200
    assert "is not a date (use YYYY-MM-DD)" in response.content.decode()
    assert (
        as_user(manager_user).get(reverse("admin:scheduling_calendar") + "?location=999").status_code == 404
    )


def test_needs_attention_lists_the_unbooked_and_hides_the_diagnosis_from_the_front_desk(
    day: dict[str, Any], front_desk_user: User, therapist_user: User, make_plan: Callable[..., CarePlan],
    make_patient: Callable[..., Patient],
) -> None:  # fmt: skip
    lapsed = make_patient(therapist_user.therapist, first_name="Carmen")
    make_plan("Fibromyalgia, massage", therapist_user, patient=lapsed,
              start=day["ours"].starts_at.date() - timedelta(weeks=4))  # fmt: skip
    url = reverse("admin:scheduling_needs_attention")
    desk = as_user(front_desk_user).get(url).content.decode()
    assert "Carmen" in desk
    assert "Overdue" in desk
    assert "Fibromyalgia" not in desk  # the plan's title names the condition
    therapist = as_user(therapist_user).get(url).content.decode()
    assert "Fibromyalgia, massage" in therapist


def count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", ["calendar", "appointments", "needs attention"])
def test_scheduling_pages_cost_the_same_queries_however_full_the_week(
    day: dict[str, Any], manager_user: User, make_patient: Callable[..., Patient], at: Callable[..., datetime],
    make_plan: Callable[..., CarePlan], therapist_user: User, page: str, django_assert_num_queries: Any,
) -> None:  # fmt: skip
    url = {"calendar": day["calendar"], "appointments": reverse("admin:scheduling_appointment_changelist"),
           "needs attention": reverse("admin:scheduling_needs_attention")}[page]  # fmt: skip
    client = as_user(manager_user)
    few = count(client, url)
    for hour in (13, 14, 15, 16):
        patient = make_patient(therapist_user.therapist)
        make_plan(
            "Fibromyalgia, massage",
            therapist_user,
            patient=patient,
            start=at(MONDAY, 9).date() - timedelta(weeks=5),
        )
        services.appointment_book(patient=patient, therapist=day["dana"], service=day["massage"],
                                  location=day["location"], starts_at=at(WEDNESDAY, hour), booked_by=None)  # fmt: skip
    with django_assert_num_queries(few):
        client.get(url)


def test_booking_a_clash_in_the_admin_shows_the_clash_and_saves_nothing(day: dict[str, Any], manager_user: User,
                                                                       make_patient: Callable[..., Patient]) -> None:  # fmt: skip
    patient = make_patient()
    start = day["ours"].local_start()
    form = {"patient": patient.pk, "therapist": day["dana"].pk, "service": day["pt"].pk,
            "location": day["location"].pk, "starts_at_0": start.strftime("%Y-%m-%d"),
            "starts_at_1": start.strftime("%H:%M:%S"), "cadence_item": "", "override_reason": ""}  # fmt: skip
    response = as_user(manager_user).post(reverse("admin:scheduling_appointment_add"), form, follow=True)
    assert response.status_code == 200
    assert "Dana Tester is already seeing Ali" in response.content.decode()
    assert Appointment.objects.filter(patient=patient).count() == 0


def test_needs_attention_shows_when_a_lapsed_item_is_next_booked(
    day: dict[str, Any], manager_user: User, at: Callable[..., datetime]
) -> None:
    body = as_user(manager_user).get(reverse("admin:scheduling_needs_attention")).content.decode()
    assert "Ali" in body  # three weeks into the plan with nothing held: overdue
    assert at(MONDAY, 10).strftime("%a %-d %b") in body  # ...but already rebooked for Monday


def test_sessions_at_the_same_time_sit_side_by_side_on_the_calendar(day: dict[str, Any], manager_user: User,
                                                                     make_patient: Callable[..., Patient],
                                                                     at: Callable[..., datetime]) -> None:  # fmt: skip
    services.appointment_book(patient=make_patient(first_name="Carmen"), therapist=day["marcus"],
                              service=day["pt"], location=day["location"], starts_at=at(MONDAY, 10, 15),
                              booked_by=None)  # fmt: skip
    body = as_user(manager_user).get(day["calendar"]).content.decode()
    assert "left: 0.0%; width: 50.0%" in body
    assert "left: 50.0%; width: 50.0%" in body
    assert body.count("width: 100.0%") == 1  # Brenda at 11:00 overlaps Carmen until 11:00 only


def test_the_care_plan_page_counts_a_booked_session_as_on_track(
    day: dict[str, Any], therapist_user: User, make_patient: Callable[..., Patient],
    make_plan: Callable[..., CarePlan],
) -> None:  # fmt: skip
    from careplans.services import careplan_record_held_session

    patient = make_patient(therapist_user.therapist, first_name="Carmen")
    today = timezone.now().astimezone(patient.zone).date()
    plan = make_plan(
        "Fibromyalgia, massage", therapist_user, patient=patient, start=today - timedelta(days=10)
    )
    item = plan.phases.get(order=0).items.get()
    careplan_record_held_session(item=item, held_on=today - timedelta(days=3))  # next due in 4 to 11 days
    page = reverse("admin:careplans_careplan_change", args=[plan.pk])
    assert "Unscheduled" in as_user(therapist_user).get(page).content.decode()
    visit = next(today + timedelta(days=n) for n in range(4, 12) if (today + timedelta(days=n)).weekday() < 5)
    services.appointment_book(patient=patient, therapist=day["dana"], service=item.service, location=day["location"],
                              starts_at=datetime.combine(visit, time(10), tzinfo=day["location"].zone),
                              booked_by=None, cadence_item=item)  # fmt: skip
    assert "On track" in as_user(therapist_user).get(page).content.decode()


def test_a_time_the_clocks_skip_is_refused_in_the_booking_form(day: dict[str, Any], manager_user: User,
                                                               make_patient: Callable[..., Patient]) -> None:  # fmt: skip
    patient = make_patient()
    form = {"patient": patient.pk, "therapist": day["dana"].pk, "service": day["pt"].pk,
            "location": day["location"].pk, "starts_at_0": "2027-03-14", "starts_at_1": "02:30:00",
            "cadence_item": "", "override_reason": ""}  # fmt: skip  # New York springs forward at 02:00 that night
    response = as_user(manager_user).post(reverse("admin:scheduling_appointment_add"), form)
    assert response.status_code == 200
    assert (
        "02:30 does not exist on 14 March in America/New_York: the clocks go forward then."
        in response.content.decode()
    )
    assert not Appointment.objects.filter(patient=patient).exists()


def test_proposals_with_many_misses_cost_the_same_queries_to_show(
    day: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    from careplans.cadence import DueWindow
    from scheduling import planner, planning

    item = day["plan"].phases.get(order=0).items.get()
    start = day["ours"].starts_at
    window = DueWindow(start.date(), start.date(), start.date())

    def misses(count: int) -> list[planner.Miss]:
        alternative = planner.Proposal(item.pk, day["ours"].patient_id, day["dana"].pk, day["location"].pk,
                                       start, start + timedelta(minutes=45), window)  # fmt: skip
        return [planner.Miss(item.pk, day["ours"].patient_id, window, "full", (alternative,) * 3)] * count

    with django_assert_max_num_queries(6):
        described = planning.describe_misses(misses(40))
    assert len(described) == 40
    assert all(len(row["alternatives"]) == 3 for row in described)
