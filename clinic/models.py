"""The clinic's people and places: locations, services, therapists and patients.

Care plans and appointments live in higher apps (careplans, scheduling) and point down at these rows.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from clinic.validators import validate_deliverable_email, validate_phone, validate_time_zone

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Location(models.Model):
    name = models.CharField(max_length=120, unique=True)
    address = models.TextField(help_text="As patients should read it in their reminders.")
    phone = models.CharField(max_length=32, validators=[validate_phone])
    time_zone = models.CharField(
        max_length=64,
        validators=[validate_time_zone],
        help_text="IANA name, such as America/New_York. Appointment times are shown in this zone.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class Discipline(models.TextChoices):
    PHYSICAL_THERAPY = "physical_therapy", "Physical therapy"
    MASSAGE = "massage", "Therapeutic massage"
    ACUPUNCTURE = "acupuncture", "Acupuncture"
    EXERCISE_THERAPY = "exercise_therapy", "Exercise therapy"


class Service(models.Model):
    name = models.CharField(max_length=120, unique=True)
    discipline = models.CharField(max_length=32, choices=Discipline.choices)
    default_duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(10), MaxValueValidator(240)],
        help_text="Between 10 and 240 minutes.",
    )
    is_demanding = models.BooleanField(
        default=True,
        help_text="Demanding sessions count against a patient's pacing limit on rest days.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_duration_minutes__gte=10, default_duration_minutes__lte=240),
                name="service_duration_10_to_240_minutes",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Therapist(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="therapist")
    services = models.ManyToManyField(Service, related_name="therapists")
    locations = models.ManyToManyField(Location, related_name="therapists")
    is_active = models.BooleanField(
        default=True, help_text="Inactive therapists are never offered for booking."
    )

    class Meta:
        ordering = ["user__last_name", "user__first_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class Patient(models.Model):
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    preferred_name = models.CharField(
        max_length=80, blank=True, help_text="What the patient likes to be called; used in every email."
    )
    date_of_birth = models.DateField()
    email = models.EmailField(blank=True, validators=[validate_deliverable_email])
    phone = models.CharField(max_length=32, blank=True, validators=[validate_phone])
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone], help_text="Reminders are timed in this zone."
    )
    email_consent = models.BooleanField(default=False, help_text="The patient agreed to receive email.")
    email_consent_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminders_opted_out = models.BooleanField(default=False, help_text="No reminder emails at all.")
    reminders_opted_out_at = models.DateTimeField(null=True, blank=True, editable=False)
    primary_therapist = models.ForeignKey(
        Therapist, null=True, blank=True, on_delete=models.PROTECT, related_name="primary_patients"
    )

    # Preferences the planner tries to honour; pacing limits it must never break.
    preferred_weekdays = models.JSONField(default=list, blank=True, help_text="Monday is 0, Sunday is 6.")
    preferred_earliest_time = models.TimeField(null=True, blank=True)
    preferred_latest_time = models.TimeField(null=True, blank=True)
    max_sessions_per_day = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    min_rest_days_between_demanding = models.PositiveSmallIntegerField(
        default=1,
        validators=[MaxValueValidator(6)],
        help_text="Days off between demanding sessions; overdoing it triggers flares.",
    )
    max_sessions_per_week = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(14)]
    )

    clinical_notes = models.TextField(blank=True, help_text="Clinical; never shown to the front desk.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_sessions_per_day__lte=models.F("max_sessions_per_week")),
                name="patient_daily_max_within_weekly_max",
            ),
            models.CheckConstraint(
                condition=Q(preferred_earliest_time__isnull=True)
                | Q(preferred_latest_time__isnull=True)
                | Q(preferred_earliest_time__lt=models.F("preferred_latest_time")),
                name="patient_preferred_times_in_order",
            ),
            models.CheckConstraint(
                condition=Q(email_consent=False) | ~Q(email=""),
                name="patient_email_consent_needs_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name}"

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.first_name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def may_receive_email(self) -> bool:
        return bool(self.email) and self.email_consent and not self.reminders_opted_out

    def clean(self) -> None:
        errors: dict[str, str] = {}
        per_day, per_week = self.max_sessions_per_day, self.max_sessions_per_week
        if per_day is not None and per_week is not None and per_day > per_week:
            errors["max_sessions_per_day"] = (
                f"At most {per_day} sessions a day cannot fit inside at most {per_week} a week; "
                "lower the daily limit or raise the weekly one."
            )
        earliest, latest = self.preferred_earliest_time, self.preferred_latest_time
        if earliest and latest and earliest >= latest:
            errors["preferred_latest_time"] = (
                f"The latest preferred time ({latest:%H:%M}) must be after the earliest ({earliest:%H:%M})."
            )
        if self.email_consent and not self.email:
            errors["email"] = "The patient agreed to email, but there is no address to send it to."
        bad_days = [d for d in self.preferred_weekdays or [] if not isinstance(d, int) or not 0 <= d <= 6]
        if bad_days or not isinstance(self.preferred_weekdays, list):
            errors["preferred_weekdays"] = "Preferred weekdays must be days of the week (Monday to Sunday)."
        if errors:
            raise ValidationError(errors)

    @property
    def preferred_weekday_names(self) -> list[str]:
        return [WEEKDAY_NAMES[d] for d in sorted(self.preferred_weekdays or [])]


class AuditEvent(models.Model):
    """Who read or changed which clinical record, and when: every clinical access is attributable."""

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        ADD = "add", "Added"
        CHANGE = "change", "Changed"
        DELETE = "delete", "Deleted"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    record_type = models.CharField(max_length=100)
    record_id = models.CharField(max_length=64)
    record_label = models.CharField(max_length=200)
    changed_fields = models.JSONField(default=list, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["record_type", "record_id"])]

    def __str__(self) -> str:
        return f"{self.actor} {self.get_action_display().lower()} {self.record_label}"


class Heartbeat(models.Model):
    """The last time each background process proved it was alive (read by /health/)."""

    name = models.CharField(max_length=20, primary_key=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.last_seen:%Y-%m-%d %H:%M:%S}"


class Message(models.Model):
    """The outbox: every email the clinic sends is first a row here, written in the same transaction as
    the change that causes it, then sent by the sweeper (``clinic.messaging``)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=40, db_index=True)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="messages")
    subject = models.CharField(
        max_length=64, db_index=True, help_text="What it is about, e.g. appointment:42."
    )
    due_at = models.DateTimeField(help_text="UTC; the sweeper sends it at or after this time.")
    dedupe_key = models.CharField(max_length=160, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=120, blank=True, help_text="host:pid of the sweeper sending it.")
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        indexes = [models.Index(fields=["status", "due_at"], name="outbox_due_rows")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="outbox_sent_rows_have_a_sent_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind_label} for {self.patient.display_name} due {self.due_at:%Y-%m-%d %H:%M} UTC"

    @property
    def kind_label(self) -> str:
        return self.kind.replace("_", " ").capitalize()
