"""Admin pages beyond model lists: the calendar and "Needs attention"."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clinic.models import Location, Therapist
from clinic.roles import Role, role_of
from scheduling import calendar, selectors
from scheduling.models import Appointment


def require_calendar_access(request: HttpRequest) -> None:
    if role_of(request.user) is None or not request.user.has_perm("scheduling.view_appointment"):
        raise PermissionDenied


def parse_day(raw: str | None, default: date) -> tuple[date, str]:
    if not raw:
        return default, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return default, f"“{raw}” is not a date (use YYYY-MM-DD); showing today instead."


def calendar_view(request: HttpRequest) -> HttpResponse:
    """Day or week, per location or per therapist, in the location's own time zone."""
    require_calendar_access(request)
    view = "day" if request.GET.get("view") == "day" else "week"
    locations = list(Location.objects.order_by("name"))
    therapists = list(
        Therapist.objects.filter(is_active=True).select_related("user").prefetch_related("locations")
    )
    therapist = location = None
    if therapist_id := request.GET.get("therapist"):
        therapist = next((t for t in therapists if str(t.pk) == therapist_id), None)
        if therapist is None:
            raise Http404("No such therapist.")
        location = min(therapist.locations.all(), key=lambda loc: loc.name, default=None)
    else:
        wanted = request.GET.get("location")
        location = next((loc for loc in locations if str(loc.pk) == wanted), None) if wanted else None
        if wanted and location is None:
            raise Http404("No such location.")
        location = location or (locations[0] if locations else None)
    if location is None:
        return render(
            request, "admin/scheduling/calendar.html", {**admin.site.each_context(request), "empty": True}
        )
    zone = location.zone
    day, problem = parse_day(request.GET.get("date"), timezone.now().astimezone(zone).date())
    days = [day] if view == "day" else selectors.week_of(day)
    start, end = calendar.local_day_bounds(days, zone)
    appointments = selectors.appointments_for(request.user).filter(starts_at__lt=end, ends_at__gt=start)
    appointments = (
        appointments.filter(therapist=therapist) if therapist else appointments.filter(location=location)
    )
    loaded = list(appointments.order_by("starts_at"))
    if view == "day" and therapist is None:
        here = [(t.pk, t.display_name) for t in therapists if location in t.locations.all()]
        columns = calendar.therapist_columns(day, here, loaded, zone)
    else:
        columns = calendar.day_columns(days, loaded, zone)
    step = timedelta(days=1 if view == "day" else 7)
    context = {
        **admin.site.each_context(request),
        "title": f"Calendar · {therapist.display_name if therapist else location.name}",
        "view": view,
        "day": day,
        "previous": day - step,
        "next": day + step,
        "columns": columns,
        "locations": locations,
        "therapists": therapists,
        "location": location,
        "therapist": therapist,
        "hours": calendar.hour_marks(),
        "grid_height": calendar.grid_height(),
        "problem": problem,
        "zone": location.time_zone,
        "statuses": Appointment.Status.choices,
        "colours": calendar.STATUS_COLOURS,
    }
    return render(request, "admin/scheduling/calendar.html", context)


def needs_attention_view(request: HttpRequest) -> HttpResponse:
    require_calendar_access(request)
    rows = selectors.needs_attention(request.user, now=timezone.now())
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "Needs attention",
        "rows": rows,
        "show_plan": role_of(request.user) is not Role.FRONT_DESK,
        "can_propose": request.user.has_perm("scheduling.add_appointment"),
    }
    return render(request, "admin/scheduling/needs_attention.html", context)
