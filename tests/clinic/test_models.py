"""The clinic's people: bad input gets a plain-words error and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinic import services
from clinic.models import AuditEvent, Location, Patient

pytestmark = pytest.mark.django_db


def errors_of(patient: Patient) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        patient.full_clean()
    return caught.value.message_dict


def test_an_unknown_time_zone_is_refused_in_plain_words(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    patient.time_zone = "America/Springfield"
    assert errors_of(patient)["time_zone"] == [
        "“America/Springfield” is not a time zone we know. Use a region and city, such as America/New_York."
    ]


def test_a_daily_limit_above_the_weekly_limit_is_refused(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    patient.max_sessions_per_day, patient.max_sessions_per_week = 3, 2
    assert "cannot fit inside at most 2 a week" in errors_of(patient)["max_sessions_per_day"][0]


def test_a_preferred_time_window_that_ends_before_it_starts_is_refused(
    make_patient: Callable[..., Patient],
) -> None:
    patient = make_patient()
    patient.preferred_earliest_time, patient.preferred_latest_time = time(15), time(9)
    assert errors_of(patient)["preferred_latest_time"] == [
        "The latest preferred time (09:00) must be after the earliest (15:00)."
    ]


@pytest.mark.parametrize("address", ["jo@clinic.invalid", "jo@localhost", "jo@mail.test"])
def test_an_email_that_cannot_be_delivered_to_is_refused(
    make_patient: Callable[..., Patient], address: str
) -> None:
    patient = make_patient()
    patient.email = address
    assert errors_of(patient)["email"][0].startswith(f"We cannot send email to “{address}”")


def test_email_consent_without_an_address_is_refused(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient(email="")
    patient.email_consent = True
    assert errors_of(patient)["email"] == [
        "The patient agreed to email, but there is no address to send it to."
    ]


def test_preferred_weekdays_must_be_days_of_the_week(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    patient.preferred_weekdays = [1, 9]
    assert "days of the week" in errors_of(patient)["preferred_weekdays"][0]


def test_a_phone_number_must_look_like_one(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    patient.phone = "call me maybe"
    assert "does not look like a phone number" in errors_of(patient)["phone"][0]


def test_the_database_itself_refuses_impossible_pacing(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(max_sessions_per_day=5, max_sessions_per_week=3)
    patient.refresh_from_db()
    assert (patient.max_sessions_per_day, patient.max_sessions_per_week) == (1, 3)


def test_a_refused_patient_save_writes_nothing(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient(first_name="Ana")
    patient.first_name, patient.time_zone = "Anabel", "Nowhere/Land"
    with pytest.raises(ValidationError):
        services.patient_save(patient=patient, changed_by=None, changed_fields=["first_name", "time_zone"])
    assert Patient.objects.get(pk=patient.pk).first_name == "Ana"
    assert not AuditEvent.objects.filter(record_id=str(patient.pk)).exists()


def test_time_zones_round_trip_and_local_wall_time_survives_storage(
    make_patient: Callable[..., Patient],
) -> None:
    location = Location.objects.create(name="Thameside", address="14 Bankside", phone="+44 20 7946 0321",
                                       time_zone="Europe/London")  # fmt: skip
    london = ZoneInfo("Europe/London")
    patient = make_patient(time_zone="Europe/London", email_consent=True)
    # 10:00 on the morning the clocks went forward in London.
    patient.email_consent_at = datetime(2026, 3, 29, 10, 0, tzinfo=london)
    patient.save()
    patient.refresh_from_db()
    location.refresh_from_db()
    assert location.zone == london
    assert patient.zone == london
    assert patient.email_consent_at.utcoffset() == timedelta(0)  # stored and read back in UTC
    assert patient.email_consent_at.astimezone(london).hour == 10


def test_consent_is_time_stamped_when_given_and_cleared_when_withdrawn(
    make_patient: Callable[..., Patient], front_desk_user: object
) -> None:
    patient = make_patient()
    patient.email_consent = True
    services.patient_save(patient=patient, changed_by=front_desk_user, changed_fields=["email_consent"])
    assert patient.email_consent_at is not None
    assert patient.may_receive_email
    patient.email_consent = False
    services.patient_save(patient=patient, changed_by=front_desk_user, changed_fields=["email_consent"])
    assert patient.email_consent_at is None
    assert not patient.may_receive_email
    trail = AuditEvent.objects.filter(record_id=str(patient.pk), action="change")
    assert [(e.actor, e.changed_fields) for e in trail] == [(front_desk_user, ["email_consent"])] * 2


def test_an_opted_out_patient_may_not_receive_email(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient(email_consent=True)
    patient.reminders_opted_out = True
    services.patient_save(patient=patient, changed_by=None)
    assert patient.reminders_opted_out_at is not None
    assert not patient.may_receive_email
    assert patient.display_name == patient.first_name
