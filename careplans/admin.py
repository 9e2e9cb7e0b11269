"""Care-plan admin: one page shows the whole plan; therapists edit their own patients' plans."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from careplans import selectors, services
from careplans.models import (
    CadenceItem,
    CarePlan,
    CarePlanTemplate,
    CheckInSchedule,
    Exercise,
    HeldSession,
    Phase,
    PrescribedExercise,
)
from clinic.admin import PatientAdmin
from clinic.admin_scoping import ClinicScopedAdmin, ScopedInlineMixin
from clinic.models import Patient, Therapist
from clinic.roles import Role, role_of, scope_for, therapist_of

CLINICAL_ITEM_FIELDS = ("note", "flare_note")
PHASE_FIELDS = ("order", "name", "starts", "after_weeks", "after_sessions", "after_sessions_of", "started_on")


class PhaseInline(ScopedInlineMixin, admin.TabularInline):
    model = Phase
    extra = 0
    fields = (*PHASE_FIELDS, "items_link")
    readonly_fields = ("started_on", "items_link")
    show_change_link = True

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "after_sessions_of":
            plan_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            kwargs["queryset"] = CadenceItem.objects.filter(phase__care_plan_id=plan_id).select_related(
                "service"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Cadence items")
    def items_link(self, phase: Phase) -> SafeString:
        if not phase.pk:
            return mark_safe("save first")
        url = reverse("admin:careplans_phase_change", args=[phase.pk])
        return mark_safe(f'<a href="{url}">Edit {len(phase.items.all())} item(s)</a>')


class PrescribedExerciseInline(ScopedInlineMixin, admin.TabularInline):
    model = PrescribedExercise
    extra = 0
    fields = (
        "exercise",
        "sets",
        "reps",
        "hold_seconds",
        "minutes",
        "times_per_day",
        "days_per_week",
        "progression_percent_per_week",
        "progression_cap_percent",
        "flare_dose_percent",
        "notes",
    )
    autocomplete_fields = ("exercise",)


class CheckInScheduleInline(ScopedInlineMixin, admin.StackedInline):
    model = CheckInSchedule
    extra = 0
    max_num = 1


@admin.register(CarePlan)
class CarePlanAdmin(ClinicScopedAdmin, SimpleHistoryAdmin):
    patient_path = "patient"
    audit_reads = True
    front_desk_hidden_fields = (
        "title",
        "condition",
        "goals",
        "notes",
        "change_log",
        "in_flare_since",
        "template",
    )
    list_display = (
        "title",
        "patient",
        "lead_therapist",
        "status",
        "current_phase_name",
        "start_date",
        "review_date",
    )
    list_filter = ("status", "lead_therapist")
    search_fields = ("title", "patient__first_name", "patient__last_name", "patient__preferred_name")
    autocomplete_fields = ("patient",)
    readonly_fields = ("in_flare_since", "template", "cadence_overview", "change_log")
    inlines = [PhaseInline, PrescribedExerciseInline, CheckInScheduleInline]
    actions = ["activate", "pause", "complete", "cancel", "advance_phase"]
    fieldsets = (
        (None, {"fields": ("patient", "lead_therapist", "title", "status", "start_date", "review_date")}),
        ("Clinical", {"fields": ("condition", "goals", "notes", "in_flare_since", "template")}),
        ("Cadence now", {"fields": ("cadence_overview",)}),
        ("Change history", {"fields": ("change_log",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[CarePlan]:
        return selectors.with_plan_detail(super().get_queryset(request))

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = list(super().get_list_display(request))
        return ["__str__", *shown] if self.is_front_desk(request) else shown  # the neutral name, for the desk

    def get_search_fields(self, request: HttpRequest) -> Any:
        fields = super().get_search_fields(request)
        return [f for f in fields if f != "title"] if self.is_front_desk(request) else fields

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A therapist leads only their own plans; otherwise naming oneself lead therapist of any patient's
        # plan would make that patient "theirs" and open the patient's clinical record.
        me = therapist_of(request.user)
        if db_field.name == "lead_therapist" and role_of(request.user) is Role.THERAPIST:
            kwargs["queryset"] = Therapist.objects.filter(pk=me.pk) if me else Therapist.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Phase")
    def current_phase_name(self, plan: CarePlan) -> str:
        phase = plan.current_phase()
        return phase.name if phase else "not started"

    @admin.display(description="Items, due windows and status")
    def cadence_overview(self, plan: CarePlan) -> SafeString:
        if not plan.pk:
            return mark_safe("Save the plan first.")
        today = timezone.now().astimezone(plan.patient.zone).date()
        booked = self.booked_dates(plan)
        statuses = {s.item.pk: s for s in selectors.item_statuses(plan, today=today, booked=booked)}
        rows = []
        for phase in plan.phases.all():
            for item in phase.items.all():
                status = statuses.get(item.pk)
                summary = selectors.cadence_summary(
                    item, rule=status.rule if status else None, in_flare=bool(status and status.in_flare)
                )
                rows.append({"phase": phase, "summary": summary, "status": status})
        return render_to_string("admin/careplans/cadence_overview.html", {"rows": rows, "today": today})

    def booked_dates(self, plan: CarePlan) -> dict[int, list[date]]:
        """Booked session dates per item. Care plans know only held sessions; scheduling overrides this."""
        return {}

    @admin.display(description="Who changed what")
    def change_log(self, plan: CarePlan) -> SafeString:
        if not plan.pk:
            return mark_safe("")
        return render_to_string(
            "admin/careplans/change_log.html", {"changes": selectors.plan_change_log(plan)}
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "GET":
            plan = self.get_object(request, object_id)
            for warning in services.home_program_warnings(plan) if plan else []:
                messages.warning(request, warning)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: CarePlan, form: Any, change: bool) -> None:
        services.save_valid(obj)

    def _run(self, request: HttpRequest, plans: QuerySet[CarePlan], done: str, action: Any) -> None:
        for plan in plans:
            try:
                action(plan)
            except services.CarePlanError as error:
                self.message_user(request, f"{plan}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{plan}: {done}.", messages.SUCCESS)

    @admin.action(description="Activate selected plans", permissions=["change"])
    def activate(self, request: HttpRequest, plans: QuerySet[CarePlan]) -> None:
        self._run(request, plans, "active", lambda p: services.careplan_activate(plan=p))

    @admin.action(description="Pause selected plans", permissions=["change"])
    def pause(self, request: HttpRequest, plans: QuerySet[CarePlan]) -> None:
        self._run(request, plans, "paused", lambda p: services.careplan_pause(plan=p))

    @admin.action(description="Complete selected plans", permissions=["change"])
    def complete(self, request: HttpRequest, plans: QuerySet[CarePlan]) -> None:
        self._run(request, plans, "completed", lambda p: services.careplan_complete(plan=p))

    @admin.action(description="Cancel selected plans", permissions=["change"])
    def cancel(self, request: HttpRequest, plans: QuerySet[CarePlan]) -> None:
        self._run(request, plans, "cancelled", lambda p: services.careplan_cancel(plan=p))

    @admin.action(
        description="Move selected plans to their next phase (therapist's review)", permissions=["change"]
    )
    def advance_phase(self, request: HttpRequest, plans: QuerySet[CarePlan]) -> None:
        def advance(plan: CarePlan) -> None:
            services.careplan_advance_phase(plan=plan, on=timezone.now().astimezone(plan.patient.zone).date())

        self._run(request, plans, "moved to its next phase", advance)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(require_POST(self.create_from_template))
        return [
            path("from-template/<int:patient_id>/", view, name="careplans_careplan_from_template"),
            *super().get_urls(),
        ]

    def create_from_template(self, request: HttpRequest, patient_id: int) -> HttpResponse:
        """One click on the patient page: a draft plan from a template, opened for editing."""
        if not self.has_add_permission(request):
            raise Http404("No such patient.")
        patient = get_object_or_404(
            scope_for(Patient.objects.all(), request.user, patient_path=""), pk=patient_id
        )
        chosen = request.POST.get("template", "")
        templates = CarePlanTemplate.objects.filter(is_active=True)
        template = (
            templates.filter(pk=int(chosen)).first() if chosen.isdecimal() and chosen.isascii() else None
        )
        patient_page = reverse("admin:clinic_patient_change", args=[patient.pk])
        if template is None:
            self.message_user(request, "Choose one of the clinic's templates.", messages.ERROR)
            return HttpResponseRedirect(patient_page)
        therapist = therapist_of(request.user) or patient.primary_therapist
        if therapist is None:
            self.message_user(
                request, "The patient has no primary therapist to lead the plan.", messages.ERROR
            )
            return HttpResponseRedirect(patient_page)
        try:
            plan = services.careplan_create_from_template(
                patient=patient,
                template=template,
                therapist=therapist,
                start=timezone.now().astimezone(patient.zone).date(),
            )
        except services.CarePlanError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(patient_page)
        self.message_user(request, f"Draft plan created from “{template}”. Review it, then activate it.")
        return HttpResponseRedirect(reverse("admin:careplans_careplan_change", args=[plan.pk]))


class CadenceItemInline(ScopedInlineMixin, admin.StackedInline):
    model = CadenceItem
    extra = 0
    front_desk_hidden_fields = CLINICAL_ITEM_FIELDS
    fieldsets = (
        (None, {"fields": ("service", "preferred_therapist", "session_minutes", "is_optional", "note")}),
        (
            "Cadence",
            {"fields": ("shape", ("min_sessions", "max_sessions", "period_days"), ("min_days", "max_days"))},
        ),
        (
            "During a flare",
            {
                "classes": ("collapse",),
                "fields": (
                    "flare_shape",
                    ("flare_min_sessions", "flare_max_sessions", "flare_period_days"),
                    ("flare_min_days", "flare_max_days"),
                    "flare_session_minutes",
                    "flare_note",
                ),
            },
        ),
    )


@admin.register(Phase)
class PhaseAdmin(ClinicScopedAdmin, SimpleHistoryAdmin):
    patient_path = "care_plan__patient"
    list_display = ("name", "care_plan", "order", "starts", "started_on")
    list_select_related = ("care_plan__patient",)
    fields = ("care_plan", *PHASE_FIELDS)
    readonly_fields = ("care_plan", "started_on")
    inlines = [CadenceItemInline]
    audit_reads = True

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Only this plan's items can start a phase (no reaching into other patients' plans).
        if db_field.name == "after_sessions_of":
            phase_id = (
                str(request.resolver_match.kwargs.get("object_id", "")) if request.resolver_match else ""
            )
            phase = Phase.objects.filter(pk=int(phase_id)).first() if phase_id.isdecimal() else None
            kwargs["queryset"] = CadenceItem.objects.filter(
                phase__care_plan_id=phase.care_plan_id if phase else None
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # phases are added on their plan's page


@admin.register(Exercise)
class ExerciseAdmin(ClinicScopedAdmin):
    patient_path = None
    list_display = ("name", "category")
    list_filter = ("category",)
    search_fields = ("name",)


@admin.register(CarePlanTemplate)
class CarePlanTemplateAdmin(ClinicScopedAdmin):
    patient_path = None
    front_desk_sees_rows = False
    list_display = ("name", "condition", "is_active")


@admin.register(HeldSession)
class HeldSessionAdmin(ClinicScopedAdmin):
    patient_path = "item__phase__care_plan__patient"
    front_desk_sees_rows = False
    list_display = ("item", "held_on", "appointment_ref")
    list_select_related = ("item__service",)


class PatientWithCarePlansAdmin(PatientAdmin):
    """The patient page, with the patient's plans and one-click "new plan from a template"."""

    change_form_template = "admin/careplans/patient_change_form.html"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        if (
            object_id.isdecimal()
            and role_of(request.user) is not None
            and request.user.has_perm("careplans.view_careplan")
        ):
            plans = scope_for(
                CarePlan.objects.filter(patient_id=object_id), request.user, patient_path="patient"
            )
            extra["care_plans"] = plans.select_related("lead_therapist__user")
            extra["hide_plan_titles"] = role_of(request.user) is Role.FRONT_DESK
            if request.user.has_perm("careplans.add_careplan"):
                extra["care_plan_templates"] = CarePlanTemplate.objects.filter(is_active=True)
                extra["from_template_url"] = reverse(
                    "admin:careplans_careplan_from_template", args=[object_id]
                )
        return super().change_view(request, object_id, form_url, extra)


admin.site.unregister(Patient)
admin.site.register(Patient, PatientWithCarePlansAdmin)
