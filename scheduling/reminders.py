"""Reminder policy -> outbox messages, kept in step with every booking change.

The schedule (``reminder_schedule``) is pure: appointment time, zone, policy and "now" in; messages out.
1. Two reminders by default: "hours_before" before the start (a whole number of days keeps the wall-clock
   time: 48 h before a Tuesday 10:00 appointment is Sunday 10:00, even across a DST change), and on the
   day at ``day_of_time`` local, or ``early_hours_before`` before an appointment that starts before
   ``early_appointment_before``.
2. Quiet hours (patient's zone, [quiet_from, quiet_until)): a reminder that would fall inside them moves
   earlier, to 15 minutes before they begin; never later, and never into the past.
3. No reminder is due after the appointment starts; two reminders that land on the same minute send once.
4. A reminder whose time has already passed when the booking is made is not sent late; instead the patient
   gets one booking confirmation now (no burst of reminders for a late booking).
5. Nothing at all for a patient without email consent or who opted out (the outbox refuses those).
Rescheduling replaces the pending reminders (their dedupe keys carry the start time); cancelling cancels them
and sends one cancellation notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from clinic import messaging
from scheduling.models import Appointment, ReminderPolicy

REMINDER = "appointment_reminder"
CONFIRMATION = "booking_confirmation"
CANCELLATION = "cancellation_notice"
QUIET_MARGIN = timedelta(minutes=15)


@dataclass(frozen=True)
class PolicyValues:
    hours_before: int = 48
    day_of_time: time = time(8)
    early_appointment_before: time = time(10)
    early_hours_before: int = 2
    quiet_from: time = time(21)
    quiet_until: time = time(8)
    late_cancellation_hours: int = 24


@dataclass(frozen=True)
class PlannedMessage:
    kind: str
    due_at: datetime
    label: str  # which rule made it: "48h", "day-of", "confirmation"


def policy_for(appointment: Appointment) -> PolicyValues:
    return policies_for({appointment.location_id}).get(appointment.location_id, PolicyValues())


def too_late_to_cancel_online(
    appointment: Appointment, *, now: datetime, policy: PolicyValues | None = None
) -> bool:
    """Inside the location's late-cancellation window the clinic wants a phone call, not a click."""
    hours = (policy or policy_for(appointment)).late_cancellation_hours
    return appointment.starts_at - now < timedelta(hours=hours)


def policies_for(location_ids: set[int]) -> dict[int, PolicyValues]:
    """Each location's reminder policy (the defaults where it has none), in one query."""
    found = {p.location_id: values_of(p) for p in ReminderPolicy.objects.filter(location_id__in=location_ids)}
    return {pk: found.get(pk, PolicyValues()) for pk in location_ids}


def values_of(policy: ReminderPolicy) -> PolicyValues:
    return PolicyValues(
        policy.hours_before,
        policy.day_of_time,
        policy.early_appointment_before,
        policy.early_hours_before,
        policy.quiet_from,
        policy.quiet_until,
        policy.late_cancellation_hours,
    )


def local(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in ``zone``. A time the clocks skip (spring forward) becomes the same moment read
    after the jump, i.e. moved forward by the gap (02:30 -> 03:30); a repeated time (fall back) means its
    first occurrence (fold=0)."""
    aware = naive.replace(tzinfo=zone)
    settled = aware.astimezone(UTC).astimezone(zone)
    return settled if settled.replace(tzinfo=None) != naive else aware


def typed_local_time(naive: datetime, zone: ZoneInfo) -> datetime:
    """A time staff typed as the location's wall clock. Unlike ``local`` it refuses a time the clocks skip:
    a person who typed 02:30 on the spring-forward night must choose, not be moved silently."""
    moment = local(naive, zone)
    if moment.replace(tzinfo=None) != naive:
        raise ValueError(
            f"{naive:%H:%M} does not exist on {naive:%d %B} in {zone.key}: the clocks go forward then."
        )
    return moment


def in_quiet_hours(moment: datetime, policy: PolicyValues) -> bool:
    clock = moment.time()
    if policy.quiet_from <= policy.quiet_until:
        return policy.quiet_from <= clock < policy.quiet_until
    return clock >= policy.quiet_from or clock < policy.quiet_until


def out_of_quiet_hours(moment: datetime, policy: PolicyValues) -> datetime:
    """Move a time inside quiet hours earlier, to just before they began."""
    if not in_quiet_hours(moment, policy):
        return moment
    day = moment.date() if moment.time() >= policy.quiet_from else moment.date() - timedelta(days=1)
    return local(datetime.combine(day, policy.quiet_from), moment.tzinfo) - QUIET_MARGIN  # type: ignore[arg-type]


def reminder_schedule(
    *, starts_at: datetime, zone: ZoneInfo, policy: PolicyValues, now: datetime
) -> list[PlannedMessage]:
    start = starts_at.astimezone(zone)
    days, hours = divmod(policy.hours_before, 24)
    first = local(datetime.combine(start.date() - timedelta(days=days), start.time()), zone) - timedelta(
        hours=hours
    )
    if start.time() < policy.early_appointment_before:
        second = start - timedelta(hours=policy.early_hours_before)
    else:
        second = local(datetime.combine(start.date(), policy.day_of_time), zone)
    planned, late = [], False
    seen: set[datetime] = set()
    for label, due in (("before", first), ("day-of", second)):
        due = out_of_quiet_hours(due.astimezone(zone), policy)
        if due >= start:
            continue
        if due <= now:
            late = True
            continue
        if due not in seen:
            seen.add(due)
            planned.append(PlannedMessage(REMINDER, due.astimezone(UTC), label))
    if late and now < start:
        planned.insert(0, PlannedMessage(CONFIRMATION, now.astimezone(UTC), "confirmation"))
    return planned


def subject_of(appointment: Appointment) -> str:
    return f"appointment:{appointment.pk}"


def reminders_sync(appointment: Appointment, *, now: datetime | None = None) -> list[PlannedMessage]:
    """Replace the appointment's unsent reminders with those its current time calls for (in the caller's
    transaction, so a booking and its reminders commit together or not at all)."""
    now = now or timezone.now()
    messaging.cancel_unsent(subject=subject_of(appointment), kinds=(REMINDER, CONFIRMATION))
    if appointment.status not in Appointment.UPCOMING:
        return []
    planned = reminder_schedule(
        starts_at=appointment.starts_at,
        zone=appointment.patient.zone,
        policy=policy_for(appointment),
        now=now,
    )
    stamp = int(appointment.starts_at.timestamp())
    for message in planned:
        messaging.enqueue(
            kind=message.kind,
            patient=appointment.patient,
            subject=subject_of(appointment),
            due_at=message.due_at,
            dedupe_key=f"{subject_of(appointment)}:{stamp}:{message.label}",
        )
    return planned


def cancellation_notice(appointment: Appointment, *, now: datetime | None = None) -> None:
    """Cancel everything unsent about the appointment and tell the patient once."""
    now = now or timezone.now()
    messaging.cancel_unsent(subject=subject_of(appointment))
    if appointment.starts_at > now:
        messaging.enqueue(
            kind=CANCELLATION,
            patient=appointment.patient,
            subject=subject_of(appointment),
            due_at=now,
            dedupe_key=f"{subject_of(appointment)}:cancelled",
        )
