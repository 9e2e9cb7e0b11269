"""Shared fixtures: the clinic's roles as real users, and patients owned by different therapists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from careplans import services as careplan_services
from careplans.models import CarePlan, CarePlanTemplate
from clinic import native
from clinic.models import Location, Patient, Service, Therapist
from clinic.roles import Role
from scheduling.models import Appointment, WorkingHours


def pytest_sessionstart(session: pytest.Session) -> None:
    native.check_fresh()  # the planner's tests must test today's sources, not an older compiled build


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Hashing strength is not under test; PBKDF2 would make every login take a third of a second.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def location(db: None) -> Location:
    return Location.objects.create(
        name="Riverside Clinic",
        address="120 Riverside Ave",
        phone="+1 718 555 0142",
        time_zone="America/New_York",
    )


@pytest.fixture
def physical_therapy(db: None) -> Service:
    return Service.objects.create(
        name="Physical therapy", discipline="physical_therapy", default_duration_minutes=45, is_demanding=True
    )


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(username: str, role: Role | None, *, therapist: bool = False) -> User:
        user = User.objects.create_user(
            username, password="pw", first_name=username.title(), last_name="Tester", is_staff=True
        )
        if role is not None:
            user.groups.add(Group.objects.get(name=role.value))
        if therapist:
            Therapist.objects.create(user=user)
        return user

    return make


@pytest.fixture
def therapist_user(make_user: Callable[..., User]) -> User:
    return make_user("dana", Role.THERAPIST, therapist=True)


@pytest.fixture
def teammate_user(make_user: Callable[..., User]) -> User:
    return make_user("marcus", Role.THERAPIST, therapist=True)


@pytest.fixture
def front_desk_user(make_user: Callable[..., User]) -> User:
    return make_user("frankie", Role.FRONT_DESK)


@pytest.fixture
def manager_user(make_user: Callable[..., User]) -> User:
    return make_user("morgan", Role.MANAGER)


@pytest.fixture
def outsider_user(make_user: Callable[..., User]) -> User:
    """Staff, signed in, but given no clinic role: must see nothing."""
    return make_user("oscar", None)


@pytest.fixture
def make_patient(db: None) -> Callable[..., Patient]:
    counter = iter(range(1, 10_000))

    def make(therapist: Therapist | None = None, **fields: Any) -> Patient:
        n = next(counter)
        values: dict[str, Any] = {
            "first_name": f"Patient{n}",
            "last_name": "Example",
            "date_of_birth": date(1970, 1, 1),
            "email": f"patient{n}@example.com",
            "time_zone": "America/New_York",
            "primary_therapist": therapist,
        }
        values.update(fields)
        patient = Patient(**values)
        patient.full_clean()
        patient.save()
        return patient

    return make


def _post_value(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "pk"):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_post_value(v) for v in value]
    return value


@pytest.fixture
def admin_form_data() -> Callable[[Any], dict[str, Any]]:
    """What a browser would post back unchanged from an admin change page (main form and every inline)."""

    def collect(response: Any) -> dict[str, Any]:
        data: dict[str, Any] = {}

        def add(form: Any) -> None:
            for name, field in form.fields.items():
                value = form.initial.get(name, field.initial)
                if callable(value):
                    value = value()
                if value is False or (value is None and name == "DELETE"):
                    continue
                data[form.add_prefix(name)] = "on" if value is True else _post_value(value)

        form = response.context["adminform"].form
        add(form)
        for name in form.fields:  # read-only fields are not posted
            if name in response.context["adminform"].readonly_fields:
                data.pop(name, None)
        for inline in response.context["inline_admin_formsets"]:
            formset = inline.formset
            for key, value in formset.management_form.initial.items():
                data[f"{formset.prefix}-{key}"] = value
            for subform in formset.forms:
                add(subform)
        return data

    return collect


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
    careplan_services.templates_load()
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
        plan = careplan_services.careplan_create_from_template(
            patient=patient,
            template=CarePlanTemplate.objects.get(name=template),
            therapist=therapist_user.therapist,
            start=start,
        )
        if activate:
            plan = careplan_services.careplan_activate(plan=plan)
        return plan

    return make


def next_weekday(weekday: int, *, weeks_ahead: int = 1) -> date:
    """The weekday of the first whole week starting at least ``weeks_ahead`` weeks from today, so that the
    days of one test's week keep their order whatever today is (Monday before Tuesday)."""
    earliest = timezone.now().date() + timedelta(weeks=weeks_ahead)
    monday = earliest + timedelta(days=-earliest.weekday() % 7)
    return monday + timedelta(days=weekday)


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
def booked(
    bookable: dict[str, Any], make_patient: Callable[..., Patient], at: Callable[..., datetime]
) -> Appointment:
    """Ali, who agreed to email, booked with Dana in two weeks: the appointment patients act on from links."""
    from scheduling import services as scheduling_services

    patient = make_patient(first_name="Alicia", preferred_name="Ali", email_consent=True)
    return scheduling_services.appointment_book(patient=patient, therapist=bookable["dana"], service=bookable["pt"],
                                                location=bookable["location"], starts_at=at(2, 14, weeks_ahead=2),
                                                booked_by=None)  # fmt: skip


@pytest.fixture
def patient(make_patient: Callable[..., Patient], therapist_user: User) -> Patient:
    return make_patient(therapist_user.therapist, first_name="Alicia", preferred_name="Ali",
                        max_sessions_per_day=1, max_sessions_per_week=3, min_rest_days_between_demanding=1)  # fmt: skip
