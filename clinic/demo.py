"""The demo clinic's people: two locations, four services, six therapists, forty patients.

Everything is keyed by a natural key and created only when missing, so loading twice changes nothing.
Names and numbers are fake (555 numbers in New York, Ofcom's drama range in London).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time

from django.contrib.auth.models import Group, User
from django.db import transaction

from clinic import services
from clinic.models import Discipline, Location, Patient, Service, Therapist
from clinic.roles import Role

LOCATIONS = [
    ("Riverside Clinic", "120 Riverside Ave\nBrooklyn, NY 11201", "+1 718 555 0142", "America/New_York"),
    ("Thameside Clinic", "14 Bankside Walk\nLondon SE1 9TG", "+44 20 7946 0321", "Europe/London"),
]

SERVICES = [
    ("Physical therapy", Discipline.PHYSICAL_THERAPY, 45, True),
    ("Therapeutic massage", Discipline.MASSAGE, 30, False),
    ("Acupuncture", Discipline.ACUPUNCTURE, 45, False),
    ("Exercise therapy", Discipline.EXERCISE_THERAPY, 60, True),
]


@dataclass(frozen=True)
class DemoTherapist:
    username: str
    first_name: str
    last_name: str
    services: tuple[str, ...]
    locations: tuple[str, ...]


THERAPISTS = [
    DemoTherapist("dana.lee", "Dana", "Lee", ("Physical therapy",), ("Riverside Clinic",)),
    DemoTherapist("priya.raman", "Priya", "Raman", ("Therapeutic massage",), ("Riverside Clinic",)),
    DemoTherapist("mei.chen", "Mei", "Chen", ("Acupuncture", "Therapeutic massage"), ("Riverside Clinic",)),
    DemoTherapist(
        "marcus.osei", "Marcus", "Osei", ("Physical therapy", "Exercise therapy"), ("Thameside Clinic",)
    ),
    DemoTherapist("sophie.walsh", "Sophie", "Walsh", ("Exercise therapy",), ("Thameside Clinic",)),
    DemoTherapist(
        "tomas.herrera",
        "Tomás",
        "Herrera",
        ("Therapeutic massage", "Acupuncture"),
        ("Thameside Clinic", "Riverside Clinic"),
    ),
]

FIRST_NAMES = [
    "Alicia",
    "Brenda",
    "Carmen",
    "Deborah",
    "Elena",
    "Fatima",
    "Grace",
    "Hannah",
    "Irene",
    "Joanna",
    "Karen",
    "Linda",
    "Maria",
    "Nadia",
    "Olivia",
    "Patricia",
    "Rachel",
    "Sandra",
    "Teresa",
    "Valerie",
    "Wendy",
    "Yvonne",
    "Zoe",
    "Anthony",
    "Brian",
    "Daniel",
    "Edward",
    "George",
    "Kevin",
    "Michael",
]
LAST_NAMES = [
    "Adams",
    "Baker",
    "Castillo",
    "Dawson",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ibrahim",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Murphy",
    "Nguyen",
    "O'Brien",
    "Patel",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Turner",
]
NICKNAMES = {"Patricia": "Pat", "Deborah": "Debbie", "Michael": "Mike", "Anthony": "Tony", "Elena": "Lena"}
PATIENT_COUNT = 40
DEMO_SEED = 2026


def load_people(*, password: str, progress: Callable[[int], object] = lambda _: None) -> dict[str, int]:
    """Create what is missing of the demo clinic's people; returns how many rows of each kind were created."""
    created = {"locations": 0, "services": 0, "therapists": 0, "patients": 0}
    with transaction.atomic():
        locations = {}
        for name, address, phone, zone in LOCATIONS:
            locations[name], made = Location.objects.get_or_create(
                name=name, defaults={"address": address, "phone": phone, "time_zone": zone}
            )
            created["locations"] += made
        services = {}
        for name, discipline, minutes, demanding in SERVICES:
            services[name], made = Service.objects.get_or_create(
                name=name,
                defaults={
                    "discipline": discipline,
                    "default_duration_minutes": minutes,
                    "is_demanding": demanding,
                },
            )
            created["services"] += made
        therapist_group = Group.objects.get(name=Role.THERAPIST.value)
        therapists = []
        for spec in THERAPISTS:
            user = demo_user(spec.username, spec.first_name, spec.last_name, password, therapist_group)
            therapist, made = Therapist.objects.get_or_create(user=user)
            if made:
                therapist.services.set([services[s] for s in spec.services])
                therapist.locations.set([locations[loc] for loc in spec.locations])
            therapists.append(therapist)
            created["therapists"] += made
        progress(len(LOCATIONS) + len(SERVICES) + len(THERAPISTS))
    rng = random.Random(DEMO_SEED)
    for number in range(PATIENT_COUNT):
        with transaction.atomic():
            created["patients"] += demo_patient(rng, number, therapists, locations)
        progress(1)
    return created


def demo_user(username: str, first: str, last: str, password: str, group: Group) -> User:
    user, made = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "is_staff": True,
            "email": f"{username}@example.com",
        },
    )
    if made:
        user.set_password(password)
        user.save(update_fields=["password"])
        user.groups.add(group)
    return user


def demo_patient(
    rng: random.Random, number: int, therapists: list[Therapist], locations: dict[str, Location]
) -> bool:
    """One seeded patient. Every random draw happens whether or not the row exists, so the sequence
    (and so every later patient) is the same on every run."""
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number * 7) % len(LAST_NAMES)]
    therapist = therapists[number % len(therapists)]
    location = therapist.locations.order_by("name").first() or next(iter(locations.values()))
    in_london = location.time_zone == "Europe/London"
    born = date(rng.randint(1952, 2001), rng.randint(1, 12), rng.randint(1, 28))
    phone = f"+44 7700 900{rng.randint(100, 999)}" if in_london else f"+1 347 555 0{rng.randint(100, 199)}"
    per_week = rng.choice([2, 2, 3, 3, 4])
    per_day = rng.choice([1, 1, 1, 2])
    rest_days = rng.choice([0, 1, 1, 2])
    weekdays = sorted(rng.sample(range(5), k=rng.randint(2, 4)))
    window = rng.choice([(time(8), time(12)), (time(10), time(15)), (time(13), time(18)), (None, None)])
    consent = rng.random() < 0.85
    opted_out = rng.random() < 0.08
    if Patient.objects.filter(first_name=first, last_name=last, date_of_birth=born).exists():
        return False
    consent_given = datetime(2026, 1, 5, 12, 0, tzinfo=location.zone)
    patient = Patient(
        first_name=first,
        last_name=last,
        date_of_birth=born,
        preferred_name=NICKNAMES.get(first, ""),
        email=f"{first}.{last}".lower().replace("'", "") + "@example.com",
        phone=phone,
        time_zone=location.time_zone,
        email_consent=consent,
        email_consent_at=consent_given if consent else None,
        reminders_opted_out=opted_out,
        reminders_opted_out_at=consent_given if opted_out else None,
        primary_therapist=therapist,
        preferred_weekdays=weekdays,
        preferred_earliest_time=window[0],
        preferred_latest_time=window[1],
        max_sessions_per_day=per_day,
        min_rest_days_between_demanding=rest_days,
        max_sessions_per_week=max(per_week, per_day),
    )
    services.patient_save(patient=patient, changed_by=None)
    return True
