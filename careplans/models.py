"""Care plans: phases of cadence items, a home program, a check-in schedule, and templates from practice.

A cadence item's rule is stored as columns the database can check, and turned into the pure
``careplans.cadence`` value with ``as_cadence()``; all the date logic lives there.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from careplans import cadence
from clinic.models import Patient, Service, Therapist


class CadenceShape(models.TextChoices):
    PER_PERIOD = "per_period", "Sessions per period (e.g. 1–2 per week)"
    INTERVAL = "interval", "Days between sessions (e.g. every 2–4 weeks)"


def cadence_from(
    shape: str,
    min_sessions: int | None,
    max_sessions: int | None,
    period_days: int | None,
    min_days: int | None,
    max_days: int | None,
) -> cadence.Cadence | None:
    if shape == CadenceShape.PER_PERIOD and None not in (min_sessions, max_sessions, period_days):
        return cadence.CountPerPeriod(min_sessions or 0, max_sessions or 0, period_days or 0)
    if shape == CadenceShape.INTERVAL and None not in (min_days, max_days):
        return cadence.Interval(min_days or 0, max_days or 0)
    return None


def cadence_is_sound(prefix: str) -> Q:
    """The database's own check on a cadence rule's columns (``prefix`` is "" or "flare_")."""

    def field(name: str) -> str:
        return f"{prefix}{name}"

    per_period = Q(**{field("shape"): CadenceShape.PER_PERIOD}) & Q(
        **{
            f"{field('min_sessions')}__gte": 1,
            f"{field('max_sessions')}__gte": F(field("min_sessions")),
            f"{field('period_days')}__gte": F(field("max_sessions")),
            f"{field('period_days')}__lte": 366,
        }
    )
    interval = Q(**{field("shape"): CadenceShape.INTERVAL}) & Q(
        **{
            f"{field('min_days')}__gte": 1,
            f"{field('max_days')}__gte": F(field("min_days")),
            f"{field('max_days')}__lte": 366,
        }
    )
    return per_period | interval


class CarePlanTemplate(models.Model):
    """A plan as practised somewhere, shipped as data (``careplans.template_library``) and editable."""

    name = models.CharField(max_length=120, unique=True)
    condition = models.CharField(max_length=120)
    description = models.TextField(help_text="What the plan is for and the practice it comes from.")
    definition = models.JSONField(help_text="Phases, cadence items, home program and check-ins.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from careplans.template_library import definition_problems

        problems = definition_problems(self.definition)
        if problems:
            raise ValidationError({"definition": problems})


class CarePlan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_plans")
    lead_therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="led_care_plans")
    title = models.CharField(max_length=160)
    condition = models.CharField(max_length=160, blank=True)
    goals = models.TextField(blank=True)
    notes = models.TextField(blank=True, help_text="Clinical notes, including pacing advice.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    start_date = models.DateField()
    review_date = models.DateField(null=True, blank=True)
    in_flare_since = models.DateTimeField(
        null=True, blank=True, help_text="Set while the patient is in a flare: items use their flare variant."
    )
    template = models.ForeignKey(CarePlanTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(review_date__isnull=True) | Q(review_date__gte=F("start_date")),
                name="careplan_review_not_before_start",
            )
        ]

    def __str__(self) -> str:
        # Neutral on purpose: titles often name a diagnosis, and this label shows in headings, history and
        # audit trails the front desk can read. The title itself is a clinical field.
        return f"Care plan {self.pk} · {self.patient}"

    def clean(self) -> None:
        if self.review_date and self.start_date and self.review_date < self.start_date:
            raise ValidationError({"review_date": "The review cannot be before the plan starts."})

    @property
    def in_flare(self) -> bool:
        return self.in_flare_since is not None

    def current_phase(self) -> Phase | None:
        """The latest phase that has started; uses prefetched phases when they are there."""
        started = [p for p in self.phases.all() if p.started_on is not None]
        return max(started, key=lambda p: p.order) if started else None


class Phase(models.Model):
    class Starts(models.TextChoices):
        AT_PLAN_START = "plan_start", "At plan start"
        AFTER_WEEKS = "after_weeks", "After a number of weeks from plan start"
        AFTER_SESSIONS = "after_sessions", "After a number of sessions of one item"
        ON_REVIEW = "on_review", "When a therapist advances it"

    care_plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="phases")
    order = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=80)
    starts = models.CharField(max_length=16, choices=Starts.choices, default=Starts.AT_PLAN_START)
    after_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    after_sessions = models.PositiveSmallIntegerField(null=True, blank=True)
    after_sessions_of = models.ForeignKey(
        "CadenceItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The item (in an earlier phase) whose held sessions are counted.",
    )
    started_on = models.DateField(null=True, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["care_plan", "order"]
        constraints = [
            models.UniqueConstraint(fields=["care_plan", "order"], name="phase_order_unique_in_plan"),
            models.CheckConstraint(
                condition=~Q(starts="after_weeks") | Q(after_weeks__gte=1),
                name="phase_after_weeks_needs_weeks",
            ),
            models.CheckConstraint(
                condition=~Q(starts="after_sessions") | Q(after_sessions__gte=1),
                name="phase_after_sessions_needs_count",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.starts == self.Starts.AFTER_WEEKS and not self.after_weeks:
            raise ValidationError({"after_weeks": "Say after how many weeks this phase starts (1 or more)."})
        if self.starts == self.Starts.AFTER_SESSIONS:
            if not self.after_sessions:
                raise ValidationError({"after_sessions": "Say after how many sessions this phase starts."})
            item = self.after_sessions_of
            if item is None:
                raise ValidationError({"after_sessions_of": "Choose the item whose sessions are counted."})
            if item.phase.care_plan_id != self.care_plan_id or item.phase.order >= self.order:
                raise ValidationError(
                    {
                        "after_sessions_of": f"This phase could never start: “{item}” is not in an earlier "
                        "phase of this plan, so its sessions are never held before this phase begins."
                    }
                )


class CadenceItem(models.Model):
    """One modality in a phase with its cadence window, and optionally a gentler variant for flares."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="items")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    preferred_therapist = models.ForeignKey(
        Therapist, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    session_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(10), MaxValueValidator(240)]
    )
    is_optional = models.BooleanField(default=False, help_text="An add-on the patient may decline.")
    note = models.CharField(max_length=240, blank=True, help_text="Clinical focus of the sessions.")

    shape = models.CharField(max_length=12, choices=CadenceShape.choices)
    min_sessions = models.PositiveSmallIntegerField(null=True, blank=True)
    max_sessions = models.PositiveSmallIntegerField(null=True, blank=True)
    period_days = models.PositiveSmallIntegerField(null=True, blank=True, help_text="7 = a calendar week.")
    min_days = models.PositiveSmallIntegerField(null=True, blank=True)
    max_days = models.PositiveSmallIntegerField(null=True, blank=True)

    flare_shape = models.CharField(max_length=12, choices=CadenceShape.choices, blank=True)
    flare_min_sessions = models.PositiveSmallIntegerField(null=True, blank=True)
    flare_max_sessions = models.PositiveSmallIntegerField(null=True, blank=True)
    flare_period_days = models.PositiveSmallIntegerField(null=True, blank=True)
    flare_min_days = models.PositiveSmallIntegerField(null=True, blank=True)
    flare_max_days = models.PositiveSmallIntegerField(null=True, blank=True)
    flare_session_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(10), MaxValueValidator(240)]
    )
    flare_note = models.CharField(
        max_length=240, blank=True, help_text="e.g. gentle, relaxation and breathing"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["phase", "id"]
        constraints = [
            models.CheckConstraint(condition=cadence_is_sound(""), name="cadence_item_rule_is_sound"),
            models.CheckConstraint(
                condition=Q(flare_shape="") | cadence_is_sound("flare_"),
                name="cadence_item_flare_rule_is_sound",
            ),
            models.CheckConstraint(
                condition=Q(session_minutes__gte=10, session_minutes__lte=240),
                name="cadence_item_minutes_10_to_240",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} ({self.describe()})"

    def as_cadence(self) -> cadence.Cadence | None:
        return cadence_from(
            self.shape, self.min_sessions, self.max_sessions, self.period_days, self.min_days, self.max_days
        )

    def flare_cadence(self) -> cadence.Cadence | None:
        return cadence_from(
            self.flare_shape,
            self.flare_min_sessions,
            self.flare_max_sessions,
            self.flare_period_days,
            self.flare_min_days,
            self.flare_max_days,
        )

    def describe(self) -> str:
        rule = self.as_cadence()
        return cadence.describe(rule) if rule else "no cadence"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for prefix, label in (("", ""), ("flare_", "Flare variant: ")):
            shape = getattr(self, f"{prefix}shape")
            if not shape:
                continue
            rule = cadence_from(
                shape,
                *(
                    getattr(self, f"{prefix}{n}")
                    for n in ("min_sessions", "max_sessions", "period_days", "min_days", "max_days")
                ),
            )
            if rule is None:
                needed = (
                    "minimum, maximum and period"
                    if shape == CadenceShape.PER_PERIOD
                    else "minimum and maximum days"
                )
                errors.setdefault(f"{prefix}shape", []).append(f"{label}give the {needed} of the cadence.")
                continue
            for problem in cadence.validate_cadence(rule):
                errors.setdefault(f"{prefix}shape", []).append(f"{label}{problem}")
        if errors:
            raise ValidationError(errors)


class HeldSession(models.Model):
    """A session of a cadence item that took place: the history cadence windows and phase rules count.

    Scheduling writes these (through ``careplans.services``) when an appointment is marked completed.
    """

    item = models.ForeignKey(CadenceItem, on_delete=models.CASCADE, related_name="held_sessions")
    held_on = models.DateField()
    appointment_ref = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["item", "held_on"]
        constraints = [
            models.UniqueConstraint(fields=["item", "held_on"], name="one_held_session_per_item_day")
        ]

    def __str__(self) -> str:
        return f"{self.item.service} on {self.held_on:%Y-%m-%d}"


class Exercise(models.Model):
    class Category(models.TextChoices):
        STRETCHING = "stretching", "Stretching"
        STRENGTH = "strength", "Strength"
        AEROBIC = "aerobic", "Aerobic"
        BREATHING = "breathing", "Breathing / relaxation"
        HEAT_COLD = "heat_cold", "Heat / cold"
        BALANCE = "balance", "Balance"

    name = models.CharField(max_length=120, unique=True)
    category = models.CharField(max_length=16, choices=Category.choices)
    instructions = models.TextField(help_text="Written for the patient.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PrescribedExercise(models.Model):
    """One exercise in a plan's home program, with its dose and how it progresses."""

    care_plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="home_program")
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="+")
    sets = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(20)])
    reps = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(200)])
    hold_seconds = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(600)]
    )
    minutes = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(240)])
    times_per_day = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(12)]
    )
    days_per_week = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(7)]
    )
    progression_percent_per_week = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(50)],
        help_text="About 10% of baseline a week when tolerated.",
    )
    progression_cap_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Stop progressing at this share of the starting dose (e.g. 300)."
    )
    flare_dose_percent = models.PositiveSmallIntegerField(
        default=50, validators=[MaxValueValidator(100)], help_text="The lighter dose used during a flare."
    )
    notes = models.CharField(max_length=240, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["care_plan", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(days_per_week__gte=1, days_per_week__lte=7),
                name="home_exercise_days_per_week_1_to_7",
            ),
            models.CheckConstraint(
                condition=Q(progression_cap_percent__isnull=True) | Q(progression_cap_percent__gte=100),
                name="home_exercise_cap_at_least_starting_dose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exercise} ({self.dose()})"

    def dose(self) -> str:
        parts = []
        if self.sets and self.reps:
            parts.append(f"{self.sets}×{self.reps}")
        if self.hold_seconds:
            parts.append(f"hold {self.hold_seconds} s")
        if self.minutes:
            parts.append(f"{self.minutes} min")
        if self.times_per_day:
            parts.append(f"{self.times_per_day}× a day")
        parts.append("daily" if self.days_per_week == 7 else f"{self.days_per_week} days a week")
        return ", ".join(parts)

    def clean(self) -> None:
        if self.progression_cap_percent is not None and self.progression_cap_percent < 100:
            raise ValidationError(
                {"progression_cap_percent": "The cap is a share of the starting dose, so at least 100%."}
            )
        if not any([self.reps, self.hold_seconds, self.minutes]):
            raise ValidationError("Give a dose: repetitions, a hold time, or minutes.")


class CheckInSchedule(models.Model):
    care_plan = models.OneToOneField(CarePlan, on_delete=models.CASCADE, related_name="check_in_schedule")
    every_days = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(90)])
    local_time = models.TimeField(help_text="In the patient's time zone.")
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(every_days__gte=1, every_days__lte=90), name="check_in_every_1_to_90_days"
            )
        ]

    def __str__(self) -> str:
        return f"Check-in every {self.every_days} days at {self.local_time:%H:%M}"
