"""Is a time slot bookable? Working hours, time off, closures and the patient's pacing, in plain words.

Shared by the booking services (one slot at a time) and by how the planner's input is built.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Q

from clinic.models import Location, Patient, Service, Therapist
from scheduling.models import Appointment, ClinicClosure, TimeOff, WorkingHours


def hours_on(therapist: Therapist, location: Location, day: date) -> list[WorkingHours]:
    return [
        hours
        for hours in WorkingHours.objects.filter(
            therapist=therapist, location=location, weekday=day.weekday()
        )
        if hours.effective_from <= day and (hours.effective_to is None or day <= hours.effective_to)
    ]


def availability_problems(
    *, therapist: Therapist, location: Location, service: Service, starts_at: datetime, ends_at: datetime
) -> list[str]:
    """Why the therapist cannot see a patient then and there ([] when they can)."""
    problems = []
    name = therapist.display_name
    if not therapist.is_active:
        problems.append(f"{name} is not taking appointments.")
    if not therapist.services.filter(pk=service.pk).exists():
        problems.append(f"{name} does not provide {service.name}.")
    if not therapist.locations.filter(pk=location.pk).exists():
        problems.append(f"{name} does not work at {location.name}.")
    local_start, local_end = starts_at.astimezone(location.zone), ends_at.astimezone(location.zone)
    day = local_start.date()
    if local_end.date() != day:
        problems.append("An appointment must start and end on the same day.")
    inside = any(
        h.starts_at <= local_start.time() and local_end.time() <= h.ends_at
        for h in hours_on(therapist, location, day)
    )
    if not inside:
        problems.append(
            f"{name} does not work at {location.name} at {local_start:%H:%M} on {local_start:%A %d %B}."
        )
    away = TimeOff.objects.filter(therapist=therapist, starts_at__lt=ends_at, ends_at__gt=starts_at).first()
    if away:
        problems.append(f"{name} is away then ({away.reason or 'time off'}).")
    closure = ClinicClosure.objects.filter(location=location, date=day).first()
    if closure:
        problems.append(f"{location.name} is closed on {day:%A %d %B} ({closure.reason or 'closure'}).")
    return problems


def pacing_problems(
    *, patient: Patient, service: Service, starts_at: datetime, ignore: Appointment | None = None
) -> list[str]:
    """Which of the patient's pacing limits this session would break, counting their other bookings."""
    zone = patient.zone
    day = starts_at.astimezone(zone).date()
    week_start = day - timedelta(days=day.weekday())
    reach = max(patient.min_rest_days_between_demanding, 7)
    nearby = (
        Appointment.objects.filter(patient=patient, status__in=Appointment.ACTIVE)
        .filter(
            starts_at__gte=starts_at - timedelta(days=reach + 1),
            starts_at__lte=starts_at + timedelta(days=reach + 1),
        )
        .exclude(pk=ignore.pk if ignore else -1)
        .select_related("service")
    )
    days = [(a.starts_at.astimezone(zone).date(), a.service.is_demanding) for a in nearby]
    problems = []
    if sum(1 for d, _ in days if d == day) + 1 > patient.max_sessions_per_day:
        problems.append(
            f"{patient.display_name} paces at most {patient.max_sessions_per_day} session(s) a day."
        )
    in_week = sum(1 for d, _ in days if week_start <= d < week_start + timedelta(days=7))
    if in_week + 1 > patient.max_sessions_per_week:
        problems.append(
            f"{patient.display_name} paces at most {patient.max_sessions_per_week} session(s) a week."
        )
    rest = patient.min_rest_days_between_demanding
    if service.is_demanding and rest:
        close = [d for d, demanding in days if demanding and d != day and abs((d - day).days) <= rest]
        if close:
            problems.append(
                f"{patient.display_name} needs {rest} rest day(s) between demanding sessions; "
                f"there is one on {close[0]:%A %d %B}."
            )
    return problems


def overlapping(
    *,
    therapist: Therapist,
    patient: Patient,
    starts_at: datetime,
    ends_at: datetime,
    ignore: Appointment | None,
) -> Appointment | None:
    clash = Appointment.objects.filter(
        Q(therapist=therapist) | Q(patient=patient),
        status__in=Appointment.ACTIVE,
        starts_at__lt=ends_at,
        ends_at__gt=starts_at,
    )
    if ignore is not None:
        clash = clash.exclude(pk=ignore.pk)
    return clash.select_related("patient", "therapist__user", "service", "location").first()
