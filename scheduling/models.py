"""Therapists' availability (and, as the app grows, appointments)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from clinic.models import WEEKDAY_NAMES, Location, Therapist


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
