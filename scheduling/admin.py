"""Scheduling admin: appointments, availability, the calendar, "Needs attention" and planner proposals."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from careplans.admin import CarePlanAdmin
from careplans.models import CarePlan
from clinic.admin_scoping import ClinicScopedAdmin
from clinic.models import Message, Therapist
from clinic.roles import Role, role_of, scope_for, therapist_of
from scheduling import admin_views, planning, selectors, services
from scheduling.models import Appointment, ClinicClosure, PlanningRun, ReminderPolicy, TimeOff, WorkingHours
from scheduling.reminders import subject_of, typed_local_time
from scheduling.services import BookingError


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


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(ClinicScopedAdmin):
    patient_path = None
    list_display = (
        "location",
        "hours_before",
        "day_of_time",
        "quiet_from",
        "quiet_until",
        "late_cancellation_hours",
    )


@admin.register(ClinicClosure)
class ClinicClosureAdmin(ClinicScopedAdmin):
    patient_path = None
    list_display = ("location", "date", "reason")
    list_filter = ("location",)


@admin.register(TimeOff)
class TimeOffAdmin(ClinicScopedAdmin):
    patient_path = None
    list_display = ("therapist", "starts_at", "ends_at", "reason")
    list_select_related = ("therapist__user",)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A therapist records their own time off; the desk and managers record anyone's.
        if db_field.name == "therapist" and role_of(request.user) is Role.THERAPIST:
            me = therapist_of(request.user)
            kwargs["queryset"] = Therapist.objects.filter(pk=me.pk) if me else Therapist.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: TimeOff, form: Any, change: bool) -> None:
        if change:
            obj.save()
            return
        saved, affected = services.time_off_record(
            therapist=obj.therapist, starts_at=obj.starts_at, ends_at=obj.ends_at, reason=obj.reason
        )
        obj.pk = saved.pk
        request.affected_appointments = affected  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: TimeOff, post_url_continue: str | None = None
    ) -> HttpResponse:
        affected: list[Appointment] = getattr(request, "affected_appointments", [])
        if not affected:
            return super().response_add(request, obj, post_url_continue)
        manual = [a for a in affected if a.cadence_item_id is None]
        if manual:
            names = "; ".join(str(a) for a in manual)
            messages.warning(request, f"Not from a care plan, so move these by hand: {names}.")
        planned = [a for a in affected if a.cadence_item_id]
        plans = CarePlan.objects.filter(phases__items__in=[a.cadence_item_id for a in planned]).distinct()
        appointment_admin = AppointmentAdmin(Appointment, self.admin_site)
        return appointment_admin.proposals_page(
            request,
            plans,
            intro=f"{len(affected)} appointment(s) fall in this time off. Proposed moves (booking "
            "them cancels the originals):",
            only_items=[a.cadence_item_id for a in planned],
            ignore_appointments=[a.pk for a in planned],
            replaces=[a.pk for a in planned],
        )


class AppointmentForm(forms.ModelForm):
    """Staff type the time as the clock on the location's wall shows it, whatever the server's zone."""

    class Meta:
        model = Appointment
        fields = [
            "patient",
            "therapist",
            "service",
            "location",
            "starts_at",
            "cadence_item",
            "override_reason",
        ]
        help_texts = {"starts_at": "Local time at the location."}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts_at, location = cleaned.get("starts_at"), cleaned.get("location")
        if starts_at and location:
            wall = timezone.make_naive(starts_at, timezone.get_current_timezone())
            try:
                cleaned["starts_at"] = typed_local_time(wall, location.zone)
            except ValueError as error:
                self.add_error("starts_at", f"{error} Choose another time.")
        return cleaned


class PlanningRunPages:
    """ "Plan the whole clinic": start a run (a Celery task), watch its progress, review and book."""

    admin_site: Any
    has_add_permission: Any

    def planning_runs(self, request: HttpRequest) -> QuerySet[PlanningRun]:
        if not self.has_add_permission(request):
            raise PermissionDenied
        return PlanningRun.objects.all()

    def plan_clinic_view(self, request: HttpRequest) -> HttpResponse:
        runs = self.planning_runs(request)
        if request.method == "POST":
            run = planning.planning_run_start(by=request.user)
            return HttpResponseRedirect(reverse("admin:scheduling_planning_run", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Plan the whole clinic",
            "runs": runs[:10],
        }
        return render(request, "admin/scheduling/plan_clinic.html", context)

    def planning_run_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        run = get_object_or_404(self.planning_runs(request), pk=run_id)
        proposals = (
            planning.describe_signed(run.proposals_token) if run.status == PlanningRun.Status.DONE else []
        )
        age = timezone.now() - run.finished_at if run.finished_at else timedelta(0)
        stale = age > timedelta(seconds=planning.PROPOSALS_VALID_FOR)  # the calendar may have moved on since
        context = {
            **self.admin_site.each_context(request),
            "title": f"Planning run {run.pk}",
            "run": run,
            "proposals": proposals,
            "token": "" if stale else run.proposals_token,
            "stale": stale,
            "status_url": reverse("admin:scheduling_planning_run_status", args=[run.pk]),
        }
        return render(request, "admin/scheduling/planning_run.html", context)

    def planning_run_status(self, request: HttpRequest, run_id: int) -> JsonResponse:
        run = get_object_or_404(self.planning_runs(request), pk=run_id)
        return JsonResponse(
            {
                "status": run.status,
                "progress": run.progress,
                "stage": run.stage,
                "summary": run.summary,
                "error": run.error,
            }
        )


@admin.register(Appointment)
class AppointmentAdmin(PlanningRunPages, ClinicScopedAdmin):
    patient_path = "patient"
    list_display = ("local_time", "patient", "therapist", "service", "location", "status", "source")
    list_filter = ("status", "location", "therapist", "source")
    date_hierarchy = "starts_at"
    search_fields = ("patient__first_name", "patient__last_name", "patient__preferred_name")
    autocomplete_fields = ("patient",)
    readonly_fields = ("ends_at", "status", "source", "booked_by", "cancellation_reason", "created_at")
    actions = ["confirm", "mark_completed", "mark_no_show", "cancel_by_clinic"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Appointment]:
        return selectors.appointments_for(request.user, super(ClinicScopedAdmin, self).get_queryset(request))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = AppointmentForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return AppointmentForm.Meta.fields
        return [
            "patient",
            "therapist",
            "service",
            "location",
            "local_time",
            "status",
            "cadence_item",
            "source",
            "booked_by",
            "override_reason",
            "cancellation_reason",
            "created_at",
            "emails",
        ]

    @admin.display(description="When (local time)", ordering="starts_at")
    def local_time(self, appointment: Appointment) -> str:
        """In the location's own zone, the same clock the "Move" box and the add form use."""
        start, end = appointment.local_start(), appointment.ends_at.astimezone(appointment.location.zone)
        return f"{start:%a %d %b %Y %H:%M}–{end:%H:%M} ({appointment.location.time_zone})"

    @admin.display(description="Emails about this appointment")
    def emails(self, appointment: Appointment) -> SafeString:
        rows = Message.objects.filter(subject=subject_of(appointment)).order_by("due_at", "id")
        return render_to_string(
            "admin/scheduling/appointment_emails.html", {"rows": rows, "appointment": appointment}
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        # Times and people change only through "reschedule" and "cancel", which check the rules.
        return self.get_fields(request, obj)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except BookingError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def render_change_form(
        self,
        request: HttpRequest,
        context: Any,
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        if obj is not None:  # an appointment changes only through its actions and the "Move" form
            context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request: HttpRequest, obj: Appointment, form: Any, change: bool) -> None:
        if change:
            return  # every field is read-only: a posted "Save" must not book anything
        if not self.has_add_permission(request):
            raise PermissionDenied
        booked = services.appointment_book(
            patient=obj.patient,
            therapist=obj.therapist,
            service=obj.service,
            location=obj.location,
            starts_at=obj.starts_at,
            cadence_item=obj.cadence_item,
            booked_by=request.user,
            override_reason=obj.override_reason,
        )
        obj.pk, obj.ends_at = booked.pk, booked.ends_at

    def _each(
        self, request: HttpRequest, appointments: QuerySet[Appointment], done: str, action: Any
    ) -> None:
        for appointment in appointments:
            try:
                action(appointment)
            except BookingError as error:
                self.message_user(request, f"{appointment}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{appointment}: {done}.")

    @admin.action(description="Confirm", permissions=["change"])
    def confirm(self, request: HttpRequest, appointments: QuerySet[Appointment]) -> None:
        self._each(request, appointments, "confirmed", lambda a: services.appointment_confirm(appointment=a))

    @admin.action(description="Mark completed", permissions=["change"])
    def mark_completed(self, request: HttpRequest, appointments: QuerySet[Appointment]) -> None:
        self._each(
            request, appointments, "completed", lambda a: services.appointment_mark_completed(appointment=a)
        )

    @admin.action(description="Mark no-show", permissions=["change"])
    def mark_no_show(self, request: HttpRequest, appointments: QuerySet[Appointment]) -> None:
        self._each(
            request, appointments, "no-show", lambda a: services.appointment_mark_no_show(appointment=a)
        )

    @admin.action(description="Cancel (by the clinic) and propose a replacement", permissions=["change"])
    def cancel_by_clinic(
        self, request: HttpRequest, appointments: QuerySet[Appointment]
    ) -> HttpResponse | None:
        cancelled = []
        for appointment in appointments:
            try:
                cancelled.append(
                    services.appointment_cancel(
                        appointment=appointment, by_patient=False, reason="Cancelled by the clinic"
                    )
                )
            except BookingError as error:
                self.message_user(request, f"{appointment}: {error}", messages.ERROR)
        item_ids = [a.cadence_item_id for a in cancelled if a.cadence_item_id]
        if not item_ids:
            self.message_user(request, f"{len(cancelled)} appointment(s) cancelled.")
            return None
        plans = CarePlan.objects.filter(phases__items__in=item_ids).distinct()
        return self.proposals_page(
            request,
            plans,
            only_items=item_ids,
            avoid=cancelled,
            intro=f"{len(cancelled)} appointment(s) cancelled. Replacements inside the same cadence windows:",
        )

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("calendar/", wrap(admin_views.calendar_view), name="scheduling_calendar"),
            path(
                "needs-attention/", wrap(admin_views.needs_attention_view), name="scheduling_needs_attention"
            ),
            path("propose/<int:plan_id>/", wrap(require_POST(self.propose_view)), name="scheduling_propose"),
            path("accept/", wrap(require_POST(self.accept_view)), name="scheduling_accept"),
            path(
                "<int:pk>/reschedule/", wrap(require_POST(self.reschedule_view)), name="scheduling_reschedule"
            ),
            path("plan-clinic/", wrap(self.plan_clinic_view), name="scheduling_plan_clinic"),
            path("plan-clinic/<int:run_id>/", wrap(self.planning_run_view), name="scheduling_planning_run"),
            path(
                "plan-clinic/<int:run_id>/status/",
                wrap(self.planning_run_status),
                name="scheduling_planning_run_status",
            ),
            *super().get_urls(),
        ]

    def reschedule_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Move an appointment to a new local time at its location (reminders are replaced with it)."""
        appointment = self.get_object(request, str(pk))
        if appointment is None or not self.has_change_permission(request, appointment):
            raise Http404("No such appointment.")
        page = reverse("admin:scheduling_appointment_change", args=[pk])
        try:
            wall = datetime.fromisoformat(request.POST.get("starts_at", ""))
        except ValueError:
            self.message_user(request, "Give the new time as a date and a time.", messages.ERROR)
            return HttpResponseRedirect(page)
        try:
            starts_at = typed_local_time(wall.replace(tzinfo=None), appointment.location.zone)
        except ValueError as error:
            self.message_user(request, f"{error} Choose another time.", messages.ERROR)
            return HttpResponseRedirect(page)
        try:
            services.appointment_reschedule(
                appointment=appointment,
                starts_at=starts_at,
                by=request.user,
                override_reason=request.POST.get("override_reason", ""),
            )
        except BookingError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request, f"Moved to {starts_at:%a %d %b %H:%M}; the patient's reminders follow it."
            )
        return HttpResponseRedirect(page)

    def propose_view(self, request: HttpRequest, plan_id: int) -> HttpResponse:
        if not self.has_add_permission(request):
            raise Http404("No such care plan.")
        plans = scope_for(CarePlan.objects.filter(pk=plan_id), request.user, patient_path="patient")
        if not plans.exists():
            raise Http404("No such care plan.")
        return self.proposals_page(request, plans, intro="Proposed appointments for the next 12 weeks:")

    def proposals_page(
        self,
        request: HttpRequest,
        plans: QuerySet[CarePlan],
        *,
        intro: str,
        replaces: list[int] | None = None,
        **options: Any,
    ) -> HttpResponse:
        result = planning.propose(now=timezone.now(), plans=plans, **options)
        context = {
            **self.admin_site.each_context(request),
            "title": "Proposed appointments",
            "intro": intro,
            "proposals": planning.describe_proposals(result.proposals),
            "misses": planning.describe_misses(result.misses),
            "token": planning.sign_proposals(result.proposals, replaces=replaces or []),
        }
        return render(request, "admin/scheduling/proposals.html", context)

    def accept_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise Http404
        try:
            booked = planning.proposals_accept(token=request.POST.get("token", ""), by=request.user)
        except BookingError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:scheduling_needs_attention"))
        self.message_user(request, f"Booked {len(booked)} appointment(s).", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:scheduling_calendar"))


class CarePlanWithBookingsAdmin(CarePlanAdmin):
    """The care-plan page, with booked appointments counted in each item's due window and status."""

    def booked_dates(self, plan: CarePlan) -> dict[int, list[date]]:
        return selectors.booked_dates([plan], timezone.now())


admin.site.unregister(CarePlan)
admin.site.register(CarePlan, CarePlanWithBookingsAdmin)
