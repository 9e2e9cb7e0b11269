"""Reads the calendar and compliance pages reuse, each in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from careplans import cadence
from careplans.models import CadenceItem, CarePlan
from careplans.selectors import cadence_summary, item_statuses, with_plan_detail
from clinic.models import Patient
from clinic.roles import Role, role_of, scope_for, therapist_of
from scheduling.models import Appointment

COMPLIANCE_LABELS = {
    cadence.CadenceStatus.ON_TRACK: "On track",
    cadence.CadenceStatus.DUE: "Due soon, not booked",
    cadence.CadenceStatus.OVERDUE: "Overdue",
    cadence.CadenceStatus.UNSCHEDULED: "Unscheduled",
}


@dataclass(frozen=True)
class ItemCompliance:
    plan: CarePlan
    item: CadenceItem
    patient: Patient
    state: cadence.CadenceState
    summary: str
    next_booked: date | None = None

    @property
    def label(self) -> str:
        return COMPLIANCE_LABELS[self.state.status]

    @property
    def needs_attention(self) -> bool:
        return self.state.status != cadence.CadenceStatus.ON_TRACK


def appointments_for(user: Any, appointments: QuerySet[Appointment] | None = None) -> QuerySet[Appointment]:
    """Appointments the user may see: a therapist sees their own sessions and their own patients'."""
    base = appointments if appointments is not None else Appointment.objects.all()
    scoped = scope_for(base, user, patient_path="patient")
    if role_of(user) is Role.THERAPIST and (me := therapist_of(user)) is not None:
        scoped = base.filter(Q(pk__in=scoped.values("pk")) | Q(therapist=me))
    return scoped.select_related("patient", "therapist__user", "service", "location")


def booked_dates(plans: list[CarePlan], now: datetime) -> dict[int, list[date]]:
    """Upcoming booked dates per cadence item, in each patient's own calendar (one query)."""
    upcoming = Appointment.objects.filter(
        cadence_item__phase__care_plan__in=plans, status__in=Appointment.UPCOMING, ends_at__gte=now
    ).select_related("patient")
    dates: dict[int, list[date]] = defaultdict(list)
    for appointment in upcoming:
        if appointment.cadence_item_id is not None:
            dates[appointment.cadence_item_id].append(
                appointment.starts_at.astimezone(appointment.patient.zone).date()
            )
    return dates


def compliance(user: Any, *, now: datetime, plans: QuerySet[CarePlan] | None = None) -> list[ItemCompliance]:
    """Every active plan item the user may see, with its cadence status counting real bookings."""
    base = plans if plans is not None else CarePlan.objects.all()
    scoped = scope_for(base.filter(status=CarePlan.Status.ACTIVE), user, patient_path="patient")
    loaded = list(with_plan_detail(scoped))
    booked = booked_dates(loaded, now)
    rows = []
    for plan in loaded:
        today = now.astimezone(plan.patient.zone).date()
        for status in item_statuses(plan, today=today, booked=booked):
            summary = cadence_summary(status.item, rule=status.rule, in_flare=status.in_flare)
            upcoming = [d for d in booked.get(status.item.pk, []) if d >= today]
            next_booked = min(upcoming) if upcoming else None
            rows.append(ItemCompliance(plan, status.item, plan.patient, status.state, summary, next_booked))
    return rows


def needs_attention(user: Any, *, now: datetime) -> list[ItemCompliance]:
    """Overdue, due-and-unbooked and unscheduled items, most urgent (nearest window edge) first."""
    rows = [row for row in compliance(user, now=now) if row.needs_attention]
    urgency = {
        cadence.CadenceStatus.OVERDUE: 0,
        cadence.CadenceStatus.DUE: 1,
        cadence.CadenceStatus.UNSCHEDULED: 2,
    }
    return sorted(
        rows, key=lambda r: (urgency[r.state.status], r.state.window.latest, r.patient.pk, r.item.pk)
    )


def week_of(day: date) -> list[date]:
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=n) for n in range(7)]
