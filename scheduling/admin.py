from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from clinic.admin_scoping import ClinicScopedAdmin
from scheduling.models import WorkingHours


@admin.register(WorkingHours)
class WorkingHoursAdmin(ClinicScopedAdmin):
    patient_path = None
    list_display = (
        "therapist",
        "location",
        "weekday",
        "starts_at",
        "ends_at",
        "effective_from",
        "effective_to",
    )
    list_filter = ("location", "weekday", "therapist")
    list_select_related = ("therapist__user", "location")

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("therapist__user", "location")
