"""Every write to the calendar: book, reschedule, cancel, complete, no-show, time off.

A booking that would double-book a therapist or a patient raises ``BookingClash`` naming the appointment in
the way; any other refusal raises ``BookingError`` with the reason in the clinic's words.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from careplans.models import CadenceItem, CarePlan
from careplans.services import careplan_record_held_session
from clinic.models import Location, Patient, Service, Therapist
from clinic.roles import Role, role_of
from scheduling.availability import availability_problems, overlapping, pacing_problems
from scheduling.models import Appointment, TimeOff
from scheduling.reminders import cancellation_notice, reminders_sync, too_late_to_cancel_online


class BookingError(Exception):
    """A booking the clinic's rules refuse; the message says why."""


class TooLateToCancel(BookingError):
    """Inside the late-cancellation window: the patient is asked to phone the clinic instead."""


class BookingClash(BookingError):
    def __init__(self, conflict: Appointment | None, message: str) -> None:
        super().__init__(message)
        self.conflict = conflict


def clash_message(conflict: Appointment, *, therapist: Therapist, patient: Patient) -> str:
    local = conflict.starts_at.astimezone(conflict.location.zone)
    end = conflict.ends_at.astimezone(conflict.location.zone)
    who = (
        f"{therapist.display_name} is already seeing {conflict.patient.display_name}"
        if conflict.therapist_id == therapist.pk
        else f"{patient.display_name} already has an appointment with {conflict.therapist.display_name}"
    )
    return f"{who} on {local:%a %d %b} {local:%H:%M}–{end:%H:%M} (appointment #{conflict.pk})."


def save_without_clash(appointment: Appointment) -> None:
    """Insert or update unless it overlaps another active appointment of the therapist or the patient.

    The first check gives a clear message in the usual case. Two bookings racing for one slot both pass
    it; PostgreSQL's exclusion constraint then refuses the second, and SQLite never lets them race because
    its IMMEDIATE transactions take the write lock at BEGIN.
    """
    ignore = appointment if appointment.pk else None
    therapist, patient = appointment.therapist, appointment.patient
    refuse_clash(
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        ignore=ignore,
        therapist=therapist,
        patient=patient,
    )
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError as error:
        if "double_booking" not in str(error):
            raise
        conflict = overlapping(
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            ignore=ignore,
            therapist=therapist,
            patient=patient,
        )
        if conflict is None:
            raise BookingClash(None, "That time was taken a moment ago; please choose another.") from error
        raise BookingClash(conflict, clash_message(conflict, therapist=therapist, patient=patient)) from error


def refuse_clash(
    *,
    therapist: Therapist,
    patient: Patient,
    starts_at: datetime,
    ends_at: datetime,
    ignore: Appointment | None,
) -> None:
    conflict = overlapping(
        therapist=therapist, patient=patient, starts_at=starts_at, ends_at=ends_at, ignore=ignore
    )
    if conflict:
        raise BookingClash(conflict, clash_message(conflict, therapist=therapist, patient=patient))


def refuse_unless_overridden(problems: list[str], *, override_reason: str, by: Any) -> None:
    if not problems:
        return
    if not override_reason.strip():
        raise BookingError(" ".join(problems))
    if role_of(by) is not Role.MANAGER:
        raise BookingError("Only a clinic manager may override: " + " ".join(problems))


@transaction.atomic
def appointment_book(
    *,
    patient: Patient,
    therapist: Therapist,
    service: Service,
    location: Location,
    starts_at: datetime,
    booked_by: Any,
    minutes: int | None = None,
    cadence_item: CadenceItem | None = None,
    source: str = Appointment.Source.MANUAL,
    override_reason: str = "",
) -> Appointment:
    if timezone.is_naive(starts_at):
        raise BookingError("The start time needs a time zone.")
    if starts_at < timezone.now():
        raise BookingError("That time has already passed.")
    if cadence_item is not None and cadence_item.phase.care_plan.patient_id != patient.pk:
        raise BookingError("That care-plan item belongs to another patient.")
    minutes = minutes or (cadence_item.session_minutes if cadence_item else service.default_duration_minutes)
    ends_at = starts_at + timedelta(minutes=minutes)
    refuse_clash(therapist=therapist, patient=patient, starts_at=starts_at, ends_at=ends_at, ignore=None)
    problems = availability_problems(
        therapist=therapist, location=location, service=service, starts_at=starts_at, ends_at=ends_at
    ) + pacing_problems(patient=patient, service=service, starts_at=starts_at)
    refuse_unless_overridden(problems, override_reason=override_reason, by=booked_by)
    appointment = Appointment(
        patient=patient,
        therapist=therapist,
        service=service,
        location=location,
        starts_at=starts_at,
        ends_at=ends_at,
        cadence_item=cadence_item,
        source=source,
        booked_by=booked_by if getattr(booked_by, "is_authenticated", False) else None,
        override_reason=override_reason.strip() if problems else "",
    )
    try:
        appointment.full_clean()
    except ValidationError as error:
        raise BookingError(" ".join(error.messages)) from error
    save_without_clash(appointment)
    reminders_sync(appointment)
    return appointment


def locked(appointment: Appointment) -> Appointment:
    related = ("patient", "therapist__user", "service", "location", "cadence_item")
    return Appointment.objects.select_for_update(of=("self",)).select_related(*related).get(pk=appointment.pk)


@transaction.atomic
def appointment_reschedule(
    *, appointment: Appointment, starts_at: datetime, by: Any, override_reason: str = ""
) -> Appointment:
    appointment = locked(appointment)
    if appointment.status not in Appointment.UPCOMING:
        raise BookingError(f"A {appointment.get_status_display().lower()} appointment cannot be moved.")
    if starts_at < timezone.now():
        raise BookingError("That time has already passed.")
    ends_at = starts_at + (appointment.ends_at - appointment.starts_at)
    therapist, patient = appointment.therapist, appointment.patient
    refuse_clash(
        starts_at=starts_at, ends_at=ends_at, ignore=appointment, therapist=therapist, patient=patient
    )
    problems = availability_problems(
        therapist=appointment.therapist,
        location=appointment.location,
        service=appointment.service,
        starts_at=starts_at,
        ends_at=ends_at,
    ) + pacing_problems(
        patient=appointment.patient, service=appointment.service, starts_at=starts_at, ignore=appointment
    )
    refuse_unless_overridden(problems, override_reason=override_reason, by=by)
    appointment.starts_at, appointment.ends_at = starts_at, ends_at
    appointment.status = Appointment.Status.BOOKED  # a moved appointment needs confirming again
    appointment.calendar_sequence += 1
    save_without_clash(appointment)
    reminders_sync(appointment)  # the old reminders are replaced, in this same transaction
    return appointment


@transaction.atomic
def appointment_cancel(*, appointment: Appointment, by_patient: bool, reason: str = "") -> Appointment:
    """Cancel; cancelling an already cancelled appointment changes nothing (a double click, a resent link)."""
    appointment = locked(appointment)
    if appointment.status in (
        Appointment.Status.CANCELLED_BY_PATIENT,
        Appointment.Status.CANCELLED_BY_CLINIC,
    ):
        return appointment
    if appointment.status not in Appointment.UPCOMING:
        raise BookingError(f"A {appointment.get_status_display().lower()} appointment cannot be cancelled.")
    appointment.status = (
        Appointment.Status.CANCELLED_BY_PATIENT if by_patient else Appointment.Status.CANCELLED_BY_CLINIC
    )
    appointment.cancellation_reason = reason.strip()[:200]
    appointment.calendar_sequence += 1
    appointment.save(update_fields=["status", "cancellation_reason", "calendar_sequence", "updated_at"])
    cancellation_notice(appointment)
    return appointment


@transaction.atomic
def appointment_cancel_by_patient(*, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """A patient cancelling from their email link: allowed only outside the late-cancellation window."""
    appointment = locked(appointment)
    if appointment.status in Appointment.UPCOMING and too_late_to_cancel_online(
        appointment, now=now or timezone.now()
    ):
        raise TooLateToCancel(f"Less than a day to go: please phone {appointment.location.phone} to cancel.")
    return appointment_cancel(
        appointment=appointment, by_patient=True, reason="Cancelled from the email link"
    )


@transaction.atomic
def appointment_confirm(*, appointment: Appointment) -> Appointment:
    appointment = locked(appointment)
    if appointment.status == Appointment.Status.CONFIRMED:
        return appointment
    if appointment.status != Appointment.Status.BOOKED:
        raise BookingError(f"A {appointment.get_status_display().lower()} appointment cannot be confirmed.")
    appointment.status = Appointment.Status.CONFIRMED
    appointment.save(update_fields=["status", "updated_at"])
    return appointment


def _finish(appointment: Appointment, *, to: str) -> Appointment:
    appointment = locked(appointment)
    if appointment.status == to:
        return appointment
    if appointment.status not in Appointment.UPCOMING:
        raise BookingError(f"A {appointment.get_status_display().lower()} appointment cannot be marked so.")
    if appointment.starts_at > timezone.now():
        raise BookingError("This appointment has not started yet.")
    appointment.status = to
    appointment.save(update_fields=["status", "updated_at"])
    return appointment


@transaction.atomic
def appointment_mark_completed(*, appointment: Appointment) -> Appointment:
    """Completed sessions feed the patient's cadence history (and phase rules that count sessions)."""
    appointment = _finish(appointment, to=Appointment.Status.COMPLETED)
    if appointment.cadence_item is not None:
        careplan_record_held_session(
            item=appointment.cadence_item,
            held_on=appointment.starts_at.astimezone(appointment.patient.zone).date(),
            appointment_ref=str(appointment.pk),
        )
    return appointment


@transaction.atomic
def appointment_mark_no_show(*, appointment: Appointment) -> Appointment:
    return _finish(appointment, to=Appointment.Status.NO_SHOW)


@transaction.atomic
def time_off_record(
    *, therapist: Therapist, starts_at: datetime, ends_at: datetime, reason: str = ""
) -> tuple[TimeOff, list[Appointment]]:
    """Record time off and return the upcoming appointments it affects (they stay booked until moved)."""
    time_off = TimeOff(therapist=therapist, starts_at=starts_at, ends_at=ends_at, reason=reason.strip())
    try:
        time_off.full_clean()
    except ValidationError as error:
        raise BookingError(" ".join(error.messages)) from error
    time_off.save()
    affected = list(
        Appointment.objects.filter(
            therapist=therapist, status__in=Appointment.UPCOMING, starts_at__lt=ends_at, ends_at__gt=starts_at
        ).select_related("patient", "service", "location", "cadence_item")
    )
    return time_off, affected


@transaction.atomic
def careplan_cancel_with_bookings(*, plan: CarePlan) -> list[Appointment]:
    """Cancel the upcoming appointments booked for a cancelled care plan's items (called on its signal)."""
    upcoming = Appointment.objects.filter(
        cadence_item__phase__care_plan=plan, status__in=Appointment.UPCOMING, starts_at__gt=timezone.now()
    )
    cancelled = []
    for appointment in upcoming:
        cancelled.append(
            appointment_cancel(appointment=appointment, by_patient=False, reason="Care plan cancelled")
        )
    return cancelled
