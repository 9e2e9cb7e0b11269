"""Reminder policy: each appointment gets exactly its reminders, at the right wall time, and none it
should not (quiet hours, late bookings, opt-outs, DST nights)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from clinic.models import Message, Patient
from scheduling import services
from scheduling.models import ReminderPolicy
from scheduling.reminders import CONFIRMATION, REMINDER, PolicyValues, reminder_schedule

NEW_YORK, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")
POLICY = PolicyValues()


def wall(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")


def schedule(
    start: datetime, now: datetime, zone: ZoneInfo = NEW_YORK, policy: PolicyValues = POLICY
) -> list[tuple[str, str]]:
    return [
        (m.kind, wall(m.due_at, zone))
        for m in reminder_schedule(starts_at=start, zone=zone, policy=policy, now=now)
    ]


def moment(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def test_a_midday_appointment_gets_two_days_before_and_eight_on_the_day() -> None:
    start = moment(NEW_YORK, 2026, 12, 9, 14, 0)
    assert schedule(start, now=moment(NEW_YORK, 2026, 12, 1, 9)) == [
        (REMINDER, "Mon 2026-12-07 14:00"),
        (REMINDER, "Wed 2026-12-09 08:00"),
    ]


def test_an_early_appointment_is_reminded_the_evening_before_not_in_quiet_hours() -> None:
    # 09:00 start: "2 hours before" is 07:00, inside quiet hours, so it moves to 20:45 the evening before.
    start = moment(NEW_YORK, 2026, 12, 9, 9, 0)
    assert schedule(start, now=moment(NEW_YORK, 2026, 12, 1, 9)) == [
        (REMINDER, "Mon 2026-12-07 09:00"),
        (REMINDER, "Tue 2026-12-08 20:45"),
    ]


def test_a_reminder_that_would_fall_in_quiet_hours_moves_earlier() -> None:
    start = moment(
        NEW_YORK, 2026, 12, 9, 22, 30
    )  # an evening class: 48 h before is 22:30, inside quiet hours
    assert schedule(start, now=moment(NEW_YORK, 2026, 12, 1, 9))[0] == (REMINDER, "Mon 2026-12-07 20:45")


def test_a_late_booking_gets_one_confirmation_instead_of_a_burst_of_reminders() -> None:
    start = moment(NEW_YORK, 2026, 12, 9, 14, 0)
    booked_at = moment(NEW_YORK, 2026, 12, 8, 16, 0)  # the 48 h reminder is already in the past
    assert schedule(start, now=booked_at) == [
        (CONFIRMATION, "Tue 2026-12-08 16:00"),
        (REMINDER, "Wed 2026-12-09 08:00"),
    ]


def test_a_booking_made_an_hour_before_gets_only_a_confirmation() -> None:
    start = moment(NEW_YORK, 2026, 12, 9, 14, 0)
    assert schedule(start, now=moment(NEW_YORK, 2026, 12, 9, 13, 0)) == [
        (CONFIRMATION, "Wed 2026-12-09 13:00")
    ]


def test_no_reminder_is_ever_due_after_the_appointment_starts() -> None:
    policy = PolicyValues(day_of_time=time(18))  # a clinic that reminds at 18:00 on the day
    start = moment(NEW_YORK, 2026, 12, 9, 14, 0)
    due = reminder_schedule(
        starts_at=start, zone=NEW_YORK, policy=policy, now=moment(NEW_YORK, 2026, 12, 1, 9)
    )
    assert all(m.due_at < start for m in due)
    assert len(due) == 1


@pytest.mark.parametrize(
    ("zone", "night", "appointment_day"),
    [
        (NEW_YORK, "2026-03-08", (2026, 3, 9)),  # spring forward: Sunday 02:00 -> 03:00
        (NEW_YORK, "2026-11-01", (2026, 11, 2)),  # fall back: Sunday 02:00 -> 01:00
        (LONDON, "2026-03-29", (2026, 3, 30)),
        (LONDON, "2026-10-25", (2026, 10, 26)),
    ],
)
def test_reminders_keep_their_wall_time_across_a_dst_night(
    zone: ZoneInfo, night: str, appointment_day: tuple[int, int, int]
) -> None:
    start = moment(
        zone, *appointment_day, 10, 0
    )  # Monday 10:00, the night of the change is Saturday -> Sunday
    due = reminder_schedule(starts_at=start, zone=zone, policy=POLICY, now=start - timedelta(days=7))
    assert [wall(m.due_at, zone)[-5:] for m in due] == ["10:00", "08:00"]
    assert wall(due[0].due_at, zone).startswith("Sat")
    offsets = {m.due_at.astimezone(zone).utcoffset() for m in due} | {start.utcoffset()}
    assert len(offsets) == 2, f"the {night} change lies between the reminders and the appointment"


def test_a_reminder_time_skipped_by_the_clocks_moves_forward_not_back() -> None:
    # The first reminder is 2 days before at the appointment's own wall time: an appointment at 02:30 on a
    # Tuesday puts it at 02:30 on the spring-forward Sunday, which does not exist, so it becomes 03:30
    # (this clinic's quiet hours are set so they do not move it).
    start = moment(NEW_YORK, 2026, 3, 10, 2, 30)
    policy = PolicyValues(quiet_from=time(23), quiet_until=time(0))  # quiet hours off in practice
    due = reminder_schedule(starts_at=start, zone=NEW_YORK, policy=policy, now=start - timedelta(days=7))
    assert wall(due[0].due_at, NEW_YORK) == "Sun 2026-03-08 03:30"


pytestmark = pytest.mark.django_db


def book(clinic: dict[str, Any], patient: Patient, starts_at: datetime) -> Any:
    return services.appointment_book(patient=patient, therapist=clinic["dana"], service=clinic["pt"],
                                     location=clinic["location"], starts_at=starts_at, booked_by=None)  # fmt: skip


def unsent(patient: Patient) -> list[tuple[str, str]]:
    rows = Message.objects.filter(patient=patient, status=Message.Status.PENDING).order_by("due_at")
    return [(m.kind, wall(m.due_at, patient.zone)) for m in rows]


def test_booking_writes_its_reminders_and_rescheduling_replaces_them(
    bookable: dict[str, Any], make_patient: Callable[..., Patient], at: Callable[..., datetime]
) -> None:
    patient = make_patient(email_consent=True)
    appointment = book(bookable, patient, at(2, 14, weeks_ahead=2))
    first = unsent(patient)
    assert [kind for kind, _ in first] == [REMINDER, REMINDER]
    services.appointment_reschedule(appointment=appointment, starts_at=at(3, 15, weeks_ahead=2), by=None)
    moved = unsent(patient)
    assert moved != first
    assert moved[-1][1].endswith("08:00")
    assert Message.objects.filter(patient=patient, status=Message.Status.CANCELLED).count() == 2


def test_cancelling_cancels_the_reminders_and_sends_one_notice(
    bookable: dict[str, Any], make_patient: Callable[..., Patient], at: Callable[..., datetime]
) -> None:
    patient = make_patient(email_consent=True)
    appointment = book(bookable, patient, at(2, 14, weeks_ahead=2))
    services.appointment_cancel(appointment=appointment, by_patient=True)
    services.appointment_cancel(appointment=appointment, by_patient=True)
    assert [kind for kind, _ in unsent(patient)] == ["cancellation_notice"]


@pytest.mark.parametrize(
    "fields", [{"email_consent": False}, {"email_consent": True, "reminders_opted_out": True}]
)
def test_no_email_for_a_patient_without_consent_or_who_opted_out(
    bookable: dict[str, Any],
    make_patient: Callable[..., Patient],
    at: Callable[..., datetime],
    fields: dict[str, bool],
) -> None:
    patient = make_patient(**fields)
    appointment = book(bookable, patient, at(2, 14, weeks_ahead=2))
    services.appointment_cancel(appointment=appointment, by_patient=False)
    assert not Message.objects.filter(patient=patient).exists()


def test_a_locations_own_policy_is_used(bookable: dict[str, Any], make_patient: Callable[..., Patient],
                                        at: Callable[..., datetime]) -> None:  # fmt: skip
    ReminderPolicy.objects.create(location=bookable["location"], hours_before=24, day_of_time=time(9))
    patient = make_patient(email_consent=True)
    book(bookable, patient, at(2, 14, weeks_ahead=2))
    times = [when[-5:] for _, when in unsent(patient)]
    assert times == ["14:00", "09:00"]
    assert unsent(patient)[0][1].startswith("Tue")
