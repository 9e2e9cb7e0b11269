from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.contrib.auth.models import User

from careplans import services
from careplans.models import CarePlan, CarePlanTemplate
from clinic.models import Patient, Service

# A Monday, so calendar weeks and plan weeks line up in the tables.
PLAN_START = date(2026, 1, 5)


@pytest.fixture
def clinic_services(db: None) -> dict[str, Service]:
    specs = [
        ("Physical therapy", "physical_therapy", 45, True),
        ("Therapeutic massage", "massage", 30, False),
        ("Acupuncture", "acupuncture", 45, False),
        ("Exercise therapy", "exercise_therapy", 60, True),
    ]
    services.templates_load()
    return {
        discipline: Service.objects.get_or_create(
            name=name,
            defaults={"discipline": discipline, "default_duration_minutes": minutes, "is_demanding": hard},
        )[0]
        for name, discipline, minutes, hard in specs
    }


@pytest.fixture
def make_plan(
    clinic_services: dict[str, Service], make_patient: Callable[..., Patient]
) -> Callable[..., CarePlan]:
    def make(template: str, therapist_user: User, *, start: date = PLAN_START, activate: bool = True,
             patient: Patient | None = None, zone: str = "America/New_York") -> CarePlan:  # fmt: skip
        patient = patient or make_patient(therapist_user.therapist, time_zone=zone)
        plan = services.careplan_create_from_template(
            patient=patient,
            template=CarePlanTemplate.objects.get(name=template),
            therapist=therapist_user.therapist,
            start=start,
        )
        if activate:
            plan = services.careplan_activate(plan=plan)
        return plan

    return make
