"""Booking, moving, cancelling and finishing appointments; nobody is ever double-booked."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from careplans.models import CarePlan, HeldSession
from clinic.models import Patient
from scheduling import services
from scheduling.models import Appointment, ClinicClosure
from scheduling.services import BookingClash, BookingError

pytestmark = pytest.mark.django_db

MONDAY, TUESDAY, WEDNESDAY = 0, 1, 2


def book(clinic: dict[str, Any], patient: Patient, starts_at: datetime, **extra: Any) -> Appointment:
    values = {
        "therapist": clinic["dana"],
        "service": clinic["pt"],
        "location": clinic["location"],
        "booked_by": None,
    }
    values.update(extra)
    return services.appointment_book(patient=patient, starts_at=starts_at, **values)


def test_a_booking_inside_working_hours_is_stored_in_utc_and_shown_in_local_time(
    bookable: dict[str, Any], patient: Patient, at: Callable[..., datetime]
) -> None:
    appointment = book(bookable, patient, at(MONDAY, 10))
    appointment.refresh_from_db()
    assert appointment.starts_at.utcoffset() == timedelta(0)
    assert appointment.local_start().hour == 10
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=45)


def test_a_clash_names_the_appointment_in_the_way(
    bookable: dict[str, Any],
    patient: Patient,
    make_patient: Callable[..., Patient],
    at: Callable[..., datetime],
) -> None:
    first = book(bookable, patient, at(MONDAY, 10))
    other = make_patient(first_name="Brenda")
    with pytest.raises(
        BookingClash,
        match=f"Dana Tester is already seeing Ali on .* 10:00–10:45 \\(appointment #{first.pk}\\)",
    ) as caught:
        book(bookable, other, at(MONDAY, 10, 30))
    assert caught.value.conflict == first
    assert Appointment.objects.count() == 1


def test_a_patient_cannot_be_in_two_places_at_once(
    bookable: dict[str, Any], patient: Patient, at: Callable[..., datetime]
) -> None:
    book(bookable, patient, at(MONDAY, 10))
    with pytest.raises(BookingClash, match="Ali already has an appointment with Dana Tester"):
        book(bookable, patient, at(MONDAY, 10, 15), therapist=bookable["marcus"], service=bookable["massage"])


def test_a_cancelled_appointment_frees_its_slot(
    bookable: dict[str, Any],
    patient: Patient,
    make_patient: Callable[..., Patient],
    at: Callable[..., datetime],
) -> None:
    first = book(bookable, patient, at(MONDAY, 10))
    services.appointment_cancel(appointment=first, by_patient=True, reason="feeling unwell")
    assert book(bookable, make_patient(), at(MONDAY, 10)).status == Appointment.Status.BOOKED


@pytest.mark.parametrize(
    ("when", "says"),
    [((MONDAY, 7), "does not work at Riverside Clinic at 07:00"), ((MONDAY, 17, 30), "does not work at")],
)
def test_a_booking_outside_working_hours_is_refused(
    bookable: dict[str, Any], patient: Patient, at: Callable[..., datetime], when: tuple[int, ...], says: str
) -> None:
    with pytest.raises(BookingError, match=says):
        book(bookable, patient, at(*when))
    assert not Appointment.objects.exists()


def test_a_booking_in_time_off_or_on_a_closure_is_refused(
    bookable: dict[str, Any], patient: Patient, at: Callable[..., datetime]
) -> None:
    services.time_off_record(therapist=bookable["dana"], starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 12),
                             reason="training")  # fmt: skip
    with pytest.raises(BookingError, match="Dana Tester is away then \\(training\\)"):
        book(bookable, patient, at(MONDAY, 10))
    ClinicClosure.objects.create(location=bookable["location"], date=at(TUESDAY, 9).date(), reason="holiday")
    with pytest.raises(BookingError, match=r"Riverside Clinic is closed on .* \(holiday\)"):
        book(bookable, patient, at(TUESDAY, 10))


def test_only_a_manager_may_override_working_hours_and_must_say_why(
    bookable: dict[str, Any], patient: Patient, at: Callable[..., datetime], manager_user: User,
    front_desk_user: User,
) -> None:  # fmt: skip
    with pytest.raises(BookingError, match="Only a clinic manager may override"):
        book(
            bookable, patient, at(MONDAY, 19), booked_by=front_desk_user, override_reason="patient works late"
        )
    appointment = book(
        bookable, patient, at(MONDAY, 19), booked_by=manager_user, override_reason="patient works late"
    )
    assert appointment.override_reason == "patient works late"
    assert appointment.booked_by == manager_user


def test_pacing_limits_refuse_a_second_session_the_same_day_or_the_next(
    bookable: dict[str, Any], patient: Patient, at: Callable[..., datetime]
) -> None:
    book(bookable, patient, at(MONDAY, 10))
    with pytest.raises(BookingError, match="paces at most 1 session\\(s\\) a day"):
        book(bookable, patient, at(MONDAY, 15), therapist=bookable["marcus"])
    with pytest.raises(BookingError, match="needs 1 rest day\\(s\\) between demanding sessions"):
        book(bookable, patient, at(TUESDAY, 10))
    assert book(bookable, patient, at(TUESDAY, 10), service=bookable["massage"])  # massage is not demanding
    assert book(bookable, patient, at(WEDNESDAY, 10))


def test_a_time_in_the_past_or_without_a_zone_is_refused(bookable: dict[str, Any], patient: Patient) -> None:
    with pytest.raises(BookingError, match="already passed"):
        book(bookable, patient, datetime(2020, 1, 6, 10, tzinfo=bookable["location"].zone))
    with pytest.raises(BookingError, match="needs a time zone"):
        book(bookable, patient, datetime(2030, 1, 7, 10))  # noqa: DTZ001 - the bad input under test


def test_rescheduling_checks_the_new_time_and_ignores_the_old_one(
    bookable: dict[str, Any],
    patient: Patient,
    make_patient: Callable[..., Patient],
    at: Callable[..., datetime],
) -> None:
    appointment = book(bookable, patient, at(MONDAY, 10))
    services.appointment_confirm(appointment=appointment)
    moved = services.appointment_reschedule(appointment=appointment, starts_at=at(MONDAY, 10, 15), by=None)
    assert moved.local_start().minute == 15
    assert moved.status == Appointment.Status.BOOKED  # to be confirmed again
    other = book(bookable, make_patient(), at(MONDAY, 11, 30))
    with pytest.raises(BookingClash, match=f"appointment #{other.pk}"):
        services.appointment_reschedule(appointment=moved, starts_at=at(MONDAY, 11), by=None)
    moved.refresh_from_db()
    assert moved.local_start().minute == 15


def test_cancelling_twice_is_harmless_and_a_completed_session_cannot_be_cancelled(
    bookable: dict[str, Any], patient: Patient, at: Callable[..., datetime]
) -> None:
    appointment = book(bookable, patient, at(MONDAY, 10))
    services.appointment_cancel(appointment=appointment, by_patient=True)
    again = services.appointment_cancel(appointment=appointment, by_patient=False)
    assert again.status == Appointment.Status.CANCELLED_BY_PATIENT
    past = Appointment.objects.create(patient=patient, therapist=bookable["dana"], service=bookable["pt"],
                                      location=bookable["location"], starts_at=at(MONDAY, 10, weeks_ahead=-2),
                                      ends_at=at(MONDAY, 11, weeks_ahead=-2))  # fmt: skip
    services.appointment_mark_completed(appointment=past)
    with pytest.raises(BookingError, match="A completed appointment cannot be cancelled"):
        services.appointment_cancel(appointment=past, by_patient=True)


def test_completing_a_plan_session_adds_it_to_the_cadence_history(
    bookable: dict[str, Any], patient: Patient, at: Callable[..., datetime], make_plan: Callable[..., CarePlan],
    therapist_user: User,
) -> None:  # fmt: skip
    plan = make_plan("Fibromyalgia, PT-led", therapist_user, patient=patient)
    item = plan.phases.get(order=0).items.get()
    past = Appointment.objects.create(patient=patient, therapist=bookable["dana"], service=item.service,
                                      location=bookable["location"], starts_at=at(MONDAY, 10, weeks_ahead=-1),
                                      ends_at=at(MONDAY, 11, weeks_ahead=-1), cadence_item=item)  # fmt: skip
    services.appointment_mark_completed(appointment=past)
    services.appointment_mark_completed(appointment=past)
    assert list(HeldSession.objects.values_list("held_on", flat=True)) == [
        at(MONDAY, 10, weeks_ahead=-1).date()
    ]


def test_a_session_that_has_not_started_cannot_be_marked_completed(
    bookable: dict[str, Any], patient: Patient, at: Callable[..., datetime]
) -> None:
    appointment = book(bookable, patient, at(MONDAY, 10))
    with pytest.raises(BookingError, match="has not started yet"):
        services.appointment_mark_completed(appointment=appointment)


def test_cancelling_a_care_plan_cancels_its_upcoming_bookings(
    bookable: dict[str, Any], patient: Patient, at: Callable[..., datetime], make_plan: Callable[..., CarePlan],
    therapist_user: User,
) -> None:  # fmt: skip
    from careplans.services import careplan_cancel

    plan = make_plan("Fibromyalgia, PT-led", therapist_user, patient=patient)
    item = plan.phases.get(order=0).items.get()
    planned = book(bookable, patient, at(MONDAY, 10), cadence_item=item)
    unrelated = book(bookable, patient, at(WEDNESDAY, 10))
    careplan_cancel(plan=plan)
    planned.refresh_from_db()
    unrelated.refresh_from_db()
    assert planned.status == Appointment.Status.CANCELLED_BY_CLINIC
    assert planned.cancellation_reason == "Care plan cancelled"
    assert unrelated.status == Appointment.Status.BOOKED


def test_time_off_lists_the_appointments_it_affects(
    bookable: dict[str, Any],
    patient: Patient,
    make_patient: Callable[..., Patient],
    at: Callable[..., datetime],
) -> None:
    inside = book(bookable, patient, at(MONDAY, 10))
    outside = book(bookable, make_patient(), at(WEDNESDAY, 10))
    _, affected = services.time_off_record(
        therapist=bookable["dana"], starts_at=at(MONDAY, 8), ends_at=at(TUESDAY, 18)
    )
    assert affected == [inside]
    assert outside not in affected


@pytest.mark.django_db(transaction=True)
def test_fifty_people_booking_one_slot_at_once_give_exactly_one_appointment(
    bookable: dict[str, Any], make_patient: Callable[..., Patient], at: Callable[..., datetime]
) -> None:
    patients = [make_patient(first_name=f"Racer{n}") for n in range(50)]
    start = at(MONDAY, 10)
    gate = threading.Barrier(50)
    outcomes: list[str] = []

    def attempt(patient: Patient) -> None:
        gate.wait()
        try:
            book(bookable, patient, start)
            outcomes.append("booked")
        except BookingClash as clash:
            outcomes.append(
                "clash"
                if "Dana Tester is already seeing" in str(clash) or "taken" in str(clash)
                else str(clash)
            )
        except Exception as error:  # anything else is a failure the test must show
            outcomes.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(set(outcomes)) == ["booked", "clash"], outcomes
    assert outcomes.count("booked") == 1
    assert Appointment.objects.filter(therapist=bookable["dana"], starts_at=start).count() == 1


def test_the_database_itself_refuses_a_double_booking_that_skips_the_service(
    bookable: dict[str, Any],
    patient: Patient,
    make_patient: Callable[..., Patient],
    at: Callable[..., datetime],
) -> None:
    from django.db import IntegrityError, transaction

    first = book(bookable, patient, at(MONDAY, 10))
    raw = Appointment(patient=make_patient(), therapist=first.therapist, service=first.service,
                      location=first.location, starts_at=at(MONDAY, 10, 30), ends_at=at(MONDAY, 11, 15))  # fmt: skip
    if connection.vendor == "postgresql":
        with (
            pytest.raises(IntegrityError, match="appointment_no_therapist_double_booking"),
            transaction.atomic(),
        ):
            raw.save()
        raw.status = Appointment.Status.CANCELLED_BY_CLINIC  # cancelled rows do not hold the slot
        raw.save()
    else:
        # SQLite has no exclusion constraints: the guarantee is the service checking inside a transaction
        # that takes the write lock at BEGIN.
        assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
        with pytest.raises(BookingClash):
            services.save_without_clash(raw)
    assert Appointment.objects.filter(status__in=Appointment.ACTIVE).count() == 1
