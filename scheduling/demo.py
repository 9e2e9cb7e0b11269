"""The demo clinic's weekly working hours (local wall-clock time at each location)."""

from __future__ import annotations

from datetime import date, datetime, time

from django.db import transaction

from careplans.models import CarePlan
from clinic.models import Therapist
from scheduling import planning
from scheduling.models import Appointment, WorkingHours

HOURS_FROM = date(2026, 1, 1)
SHIFTS = [(time(8), time(16)), (time(10), time(18))]


@transaction.atomic
def load_working_hours() -> int:
    """Monday to Friday for every therapist; one who works at two locations splits the week between them."""
    created = 0
    therapists = (
        Therapist.objects.select_related("user").prefetch_related("locations").order_by("user__username")
    )
    for index, therapist in enumerate(therapists):
        starts_at, ends_at = SHIFTS[index % len(SHIFTS)]
        locations = sorted(therapist.locations.all(), key=lambda loc: loc.name)
        for weekday in range(5):
            location = locations[0] if weekday < 3 or len(locations) == 1 else locations[1]
            _, made = WorkingHours.objects.get_or_create(
                therapist=therapist,
                weekday=weekday,
                effective_from=HOURS_FROM,
                defaults={"location": location, "starts_at": starts_at, "ends_at": ends_at},
            )
            created += made
    return created


def plan_demo_weeks(*, now: datetime, weeks: int = 8) -> int:
    """Book what the planner proposes for every active plan over the next weeks (once: a clinic that already
    has planner bookings is left alone)."""
    if Appointment.objects.filter(source=Appointment.Source.PLANNER).exists():
        return 0
    result = planning.propose(now=now, plans=CarePlan.objects.all(), horizon_days=weeks * 7)
    return len(planning.proposals_accept(token=planning.sign_proposals(result.proposals), by=None))
