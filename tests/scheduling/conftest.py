from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from clinic.models import Location, Patient, Service, Therapist
from scheduling.models import WorkingHours


def next_weekday(weekday: int, *, weeks_ahead: int = 1) -> date:
    today = timezone.now().date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


@pytest.fixture
def at(location: Location) -> Callable[..., datetime]:
    """An aware time at the location: at(weekday, hour, minute=0, weeks_ahead=1)."""

    def make(weekday: int, hour: int, minute: int = 0, *, weeks_ahead: int = 1) -> datetime:
        return datetime.combine(
            next_weekday(weekday, weeks_ahead=weeks_ahead), time(hour, minute), tzinfo=location.zone
        )

    return make


@pytest.fixture
def bookable(
    location: Location, physical_therapy: Service, therapist_user: User, teammate_user: User
) -> dict[str, Any]:
    """Two PT therapists who work Monday to Friday 08:00-18:00 at Riverside."""
    massage = Service.objects.create(name="Therapeutic massage", discipline="massage", default_duration_minutes=30,
                                     is_demanding=False)  # fmt: skip
    therapists: list[Therapist] = []
    for user in (therapist_user, teammate_user):
        therapist = user.therapist
        therapist.services.add(physical_therapy, massage)
        therapist.locations.add(location)
        for weekday in range(5):
            WorkingHours.objects.create(therapist=therapist, location=location, weekday=weekday, starts_at=time(8),
                                        ends_at=time(18), effective_from=date(2026, 1, 1))  # fmt: skip
        therapists.append(therapist)
    return {"location": location, "pt": physical_therapy, "massage": massage, "dana": therapists[0],
            "marcus": therapists[1]}  # fmt: skip


@pytest.fixture
def patient(make_patient: Callable[..., Patient], therapist_user: User) -> Patient:
    return make_patient(therapist_user.therapist, first_name="Alicia", preferred_name="Ali",
                        max_sessions_per_day=1, max_sessions_per_week=3, min_rest_days_between_demanding=1)  # fmt: skip
