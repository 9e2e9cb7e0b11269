"""Admin pages for the clinic's people and places; row and field rules come from ClinicScopedAdmin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from clinic import messaging, services
from clinic.admin_scoping import ClinicScopedAdmin
from clinic.models import WEEKDAY_NAMES, AuditEvent, Location, Message, Patient, Service, Therapist
from clinic.roles import Role, role_of
from clinic.validators import time_zone_choices


class TimeZoneSelectForm(forms.ModelForm):
    time_zone = forms.TypedChoiceField(choices=time_zone_choices)


@admin.register(Location)
class LocationAdmin(ClinicScopedAdmin):
    form = TimeZoneSelectForm
    patient_path = None
    list_display = ("name", "time_zone", "phone")
    search_fields = ("name",)


@admin.register(Service)
class ServiceAdmin(ClinicScopedAdmin):
    patient_path = None
    list_display = ("name", "discipline", "default_duration_minutes", "is_demanding")
    list_filter = ("discipline", "is_demanding")
    search_fields = ("name",)


@admin.register(Therapist)
class TherapistAdmin(ClinicScopedAdmin):
    patient_path = None
    list_display = ("display_name", "service_names", "location_names", "is_active")
    list_filter = ("is_active", "services", "locations")
    search_fields = ("user__first_name", "user__last_name", "user__username")
    autocomplete_fields = ("user",)
    filter_horizontal = ("services", "locations")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Therapist]:
        return super().get_queryset(request).select_related("user").prefetch_related("services", "locations")

    @admin.display(description="Services")
    def service_names(self, therapist: Therapist) -> str:
        return ", ".join(s.name for s in therapist.services.all())

    @admin.display(description="Locations")
    def location_names(self, therapist: Therapist) -> str:
        return ", ".join(loc.name for loc in therapist.locations.all())


class PatientForm(TimeZoneSelectForm):
    preferred_weekdays = forms.TypedMultipleChoiceField(
        choices=list(enumerate(WEEKDAY_NAMES)),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Days the patient would rather come in.",
    )

    class Meta:
        model = Patient
        fields = [
            f.name for f in Patient._meta.get_fields() if f.concrete and f.editable and not f.auto_created
        ]


@admin.register(Patient)
class PatientAdmin(ClinicScopedAdmin):
    form = PatientForm
    patient_path = ""
    audit_reads = True
    front_desk_hidden_fields = ("clinical_notes",)
    front_desk_readonly_fields = (
        "max_sessions_per_day",
        "min_rest_days_between_demanding",
        "max_sessions_per_week",
    )
    list_display = ("__str__", "preferred_name", "email", "phone", "primary_therapist", "email_consent")
    list_select_related = ("primary_therapist__user",)
    list_filter = ("email_consent", "reminders_opted_out", "primary_therapist")
    search_fields = ("first_name", "last_name", "preferred_name", "email", "phone")
    readonly_fields = ("email_consent_at", "reminders_opted_out_at")
    fieldsets = (
        (
            None,
            {"fields": ("first_name", "last_name", "preferred_name", "date_of_birth", "primary_therapist")},
        ),
        ("Contact", {"fields": ("email", "phone", "time_zone")}),
        (
            "Consent",
            {
                "fields": (
                    "email_consent",
                    "email_consent_at",
                    "reminders_opted_out",
                    "reminders_opted_out_at",
                )
            },
        ),
        (
            "Preferences",
            {"fields": ("preferred_weekdays", "preferred_earliest_time", "preferred_latest_time")},
        ),
        (
            "Pacing limits",
            {
                "description": "Hard limits the schedule never breaks: overdoing it triggers flares.",
                "fields": (
                    "max_sessions_per_day",
                    "min_rest_days_between_demanding",
                    "max_sessions_per_week",
                ),
            },
        ),
        ("Clinical", {"fields": ("clinical_notes",)}),
    )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "primary_therapist":
            kwargs["queryset"] = Therapist.objects.filter(is_active=True).select_related("user")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Patient, form: Any, change: bool) -> None:
        services.patient_save(patient=obj, changed_by=request.user, changed_fields=form.changed_data)

    def delete_model(self, request: HttpRequest, obj: Patient) -> None:
        services.patient_delete(patient=obj, deleted_by=request.user)


@admin.register(AuditEvent)
class AuditEventAdmin(ClinicScopedAdmin):
    """Read-only: the trail of who looked at or changed clinical records."""

    patient_path = None
    front_desk_sees_rows = False
    list_display = ("at", "actor", "action", "record_type", "record_label", "changed_fields")
    list_select_related = ("actor",)
    list_filter = ("action", "record_type")
    search_fields = ("record_label", "actor__username")
    date_hierarchy = "at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        queryset = super().get_queryset(request)
        return queryset if role_of(request.user) is Role.MANAGER else queryset.none()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ClinicScopedAdmin):
    """The outbox: what was sent, what is waiting, what failed and why."""

    patient_path = "patient"
    list_display = ("due_at", "kind", "patient", "status", "attempts", "sent_at", "short_error")
    list_filter = ("status", "kind")
    list_select_related = ("patient",)
    search_fields = ("patient__first_name", "patient__last_name", "subject")
    date_hierarchy = "due_at"
    actions = ["resend"]
    fields = (
        "kind",
        "patient",
        "subject",
        "status",
        "due_at",
        "attempts",
        "last_error",
        "claimed_by",
        "claimed_at",
        "sent_at",
        "provider_message_id",
        "dedupe_key",
        "rendered",
    )
    readonly_fields = fields

    @admin.display(description="Last error")
    def short_error(self, message: Message) -> str:
        return message.last_error[:80]

    @admin.display(description="The email as the patient gets it")
    def rendered(self, message: Message) -> SafeString:
        try:
            email = messaging.render(message)
        except Exception as error:  # show why a poison row cannot render instead of a 500
            return format_html("<p>Cannot render: {}</p>", error)
        if email is None:
            return format_html("<p>{}</p>", "Nothing to send: what it was about no longer applies.")
        html = next((content for content, mimetype in email.alternatives if mimetype == "text/html"), "")
        return format_html(
            '<p><strong>Subject:</strong> {}</p><pre style="white-space:pre-wrap">{}</pre>'
            '<iframe title="HTML version" sandbox srcdoc="{}" style="width:100%;height:28rem;border:1px solid #ccc">'
            "</iframe>",
            email.subject,
            email.body,
            html,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(
            request, obj
        )  # the list's actions, never the form

    @admin.action(description="Resend (put back in the queue now)", permissions=["change"])
    def resend(self, request: HttpRequest, messages_: QuerySet[Message]) -> None:
        for message in messages_:
            try:
                messaging.message_resend(message=message)
            except ValueError as error:
                self.message_user(request, f"{message}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{message}: queued again.")
