"""Therapists' availability (and, as the app grows, appointments)."""

from __future__ import annotations

from datetime import datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from careplans.models import CadenceItem
from clinic.models import WEEKDAY_NAMES, Location, Patient, Service, Therapist


class WorkingHours(models.Model):
    """A weekly block of local wall-clock time a therapist works at one location.

    Local, not UTC: "Tuesdays 08:00-16:00" stays 08:00-16:00 across daylight-saving changes.
    """

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=list(enumerate(WEEKDAY_NAMES)))
    starts_at = models.TimeField()
    ends_at = models.TimeField()
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Leave empty for no end date.")

    class Meta:
        verbose_name_plural = "working hours"
        ordering = ["therapist", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")), name="working_hours_start_before_end"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="working_hours_effective_dates_in_order",
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="working_hours_weekday_is_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.therapist} · {WEEKDAY_NAMES[self.weekday]} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.starts_at >= self.ends_at:
            raise ValidationError({"ends_at": "The working day must end after it starts."})
        if self.effective_to and self.effective_from and self.effective_to < self.effective_from:
            raise ValidationError({"effective_to": "These hours cannot stop before they start."})


class TimeOff(models.Model):
    """A stretch when a therapist is away (stored in UTC)."""

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        verbose_name_plural = "time off"
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="time_off_start_before_end")
        ]

    def __str__(self) -> str:
        return f"{self.therapist} away {self.starts_at:%Y-%m-%d}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.starts_at >= self.ends_at:
            raise ValidationError({"ends_at": "Time off must end after it starts."})


class ClinicClosure(models.Model):
    """A whole local day a location is closed (a public holiday, say)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["location", "date"], name="one_closure_per_location_day")
        ]

    def __str__(self) -> str:
        return f"{self.location} closed {self.date:%Y-%m-%d}"


class Appointment(models.Model):
    """A session on the calendar. Times are stored in UTC and shown in the location's zone.

    No therapist and no patient is ever in two active appointments at once: on PostgreSQL an exclusion
    constraint enforces it (migration 0003); on SQLite the booking service checks inside an IMMEDIATE
    transaction, which serialises writers.
    """

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed"
        COMPLETED = "completed", "Completed"
        CANCELLED_BY_PATIENT = "cancelled_by_patient", "Cancelled by patient"
        CANCELLED_BY_CLINIC = "cancelled_by_clinic", "Cancelled by clinic"
        NO_SHOW = "no_show", "No-show"

    ACTIVE = (Status.BOOKED, Status.CONFIRMED, Status.COMPLETED, Status.NO_SHOW)
    UPCOMING = (Status.BOOKED, Status.CONFIRMED)

    class Source(models.TextChoices):
        PLANNER = "planner", "Planner"
        MANUAL = "manual", "Manual"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="appointments")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.BOOKED, db_index=True)
    cadence_item = models.ForeignKey(
        CadenceItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override_reason = models.CharField(
        max_length=200,
        blank=True,
        help_text="Why a manager booked outside working hours, in time off or on a closure.",
    )
    cancellation_reason = models.CharField(max_length=200, blank=True)
    calendar_sequence = models.PositiveIntegerField(
        default=0, help_text="Bumped on every change so patients' calendars replace the entry."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")), name="appointment_start_before_end"
            )
        ]
        indexes = [
            models.Index(fields=["therapist", "starts_at"]),
            models.Index(fields=["patient", "starts_at"]),
        ]

    def __str__(self) -> str:
        local = self.starts_at.astimezone(self.location.zone)
        return f"{self.patient.display_name} · {self.service} · {local:%a %d %b %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def local_start(self) -> datetime:
        return self.starts_at.astimezone(self.location.zone)


class PlanningRun(models.Model):
    """One "plan the whole clinic" request: a worker fills it in while the page shows its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Planning"
        DONE = "done", "Ready to review"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    horizon_days = models.PositiveSmallIntegerField(default=84)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=80, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    proposals_token = models.TextField(blank=True, editable=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="planning_run_progress_0_to_100")
        ]

    def __str__(self) -> str:
        return f"Planning run {self.pk} ({self.get_status_display()})"


class ReminderPolicy(models.Model):
    """How a location reminds its patients. Every location without one uses these defaults."""

    location = models.OneToOneField(Location, on_delete=models.CASCADE, related_name="reminder_policy")
    hours_before = models.PositiveSmallIntegerField(
        default=48,
        help_text="First reminder. Whole days keep the wall-clock time (48 h = two days before, same time).",
    )
    day_of_time = models.TimeField(
        default=time(8), help_text="Second reminder, on the day, in the patient's zone."
    )
    early_appointment_before = models.TimeField(
        default=time(10),
        help_text="For appointments starting before this, remind a few hours before instead.",
    )
    early_hours_before = models.PositiveSmallIntegerField(default=2)
    quiet_from = models.TimeField(default=time(21), help_text="No reminder is sent from this time...")
    quiet_until = models.TimeField(default=time(8), help_text="...until this time (patient's zone).")
    late_cancellation_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Closer than this, the patient is asked to phone rather than cancel online."
    )

    class Meta:
        verbose_name_plural = "reminder policies"

    def __str__(self) -> str:
        return f"Reminders at {self.location}"
