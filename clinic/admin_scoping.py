"""The admin base class every app's admin pages use, so role rules live in one place.

It scopes rows with ``clinic.roles.scope_for``, hides clinical fields from the front desk, answers 404 for
a record outside the user's scope (never "it exists but you may not see it"), and records every view of a
clinical record in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse

from clinic import services
from clinic.models import AuditEvent
from clinic.roles import Role, role_of, scope_for


class ClinicScopedAdmin(admin.ModelAdmin):
    patient_path: str | None = "patient"
    front_desk_sees_rows = True
    front_desk_hidden_fields: tuple[str, ...] = ()
    front_desk_readonly_fields: tuple[str, ...] = ()
    audit_reads = False

    def is_front_desk(self, request: HttpRequest) -> bool:
        return role_of(request.user) is Role.FRONT_DESK

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return scope_for(
            super().get_queryset(request),
            request.user,
            patient_path=self.patient_path,
            front_desk_sees_rows=self.front_desk_sees_rows,
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return role_of(request.user) is not None and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return role_of(request.user) is not None and super().has_view_permission(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """A form may only point at patients the user may see: the admin's autocomplete limits what is
        offered, but the form field itself must refuse any other id that is posted."""
        from clinic.models import Patient

        if db_field.related_model is Patient:
            kwargs["queryset"] = scope_for(Patient.objects.all(), request.user, patient_path="")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        return (
            without_fields(fieldsets, self.front_desk_hidden_fields)
            if self.is_front_desk(request)
            else fieldsets
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if self.is_front_desk(request):
            readonly += tuple(f for f in self.front_desk_readonly_fields if f not in readonly)
        return readonly

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = super().get_list_display(request)
        if self.is_front_desk(request):
            return [f for f in shown if f not in self.front_desk_hidden_fields]
        return shown

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> Any:
        # A record outside the user's scope is indistinguishable from one that does not exist.
        raise Http404("No such record.")

    def _in_scope_or_404(self, request: HttpRequest, object_id: str) -> None:
        """Guard the history pages: in scope, not for the front desk on clinical records, and audited."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        record = self.get_object(request, unquote(object_id))  # None for ids out of scope or malformed
        if record is None:
            raise Http404("No such record.")
        if self.front_desk_hidden_fields and self.is_front_desk(request):
            # A history lists old and new values of every field, the clinical ones included.
            raise PermissionDenied("The front desk does not see the clinical history of this record.")
        if self.audit_reads:
            services.audit_record(actor=request.user, action=AuditEvent.Action.VIEW, record=record)

    # django-simple-history's pages fall back to the historical copy of a row the user cannot see;
    # check the scope first so history never shows what the record itself would not.
    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        self._in_scope_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        self._in_scope_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)  # type: ignore[misc]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if self.audit_reads and request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                services.audit_record(actor=request.user, action=AuditEvent.Action.VIEW, record=obj)
        return response


class ScopedInlineMixin:
    """For inlines: hide clinical fields from the front desk (rows are already scoped by their parent)."""

    front_desk_hidden_fields: tuple[str, ...] = ()

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        if role_of(request.user) is not Role.FRONT_DESK:
            return fieldsets
        return without_fields(fieldsets, self.front_desk_hidden_fields)


def without_fields(fieldsets: Any, hidden: tuple[str, ...]) -> list[Any]:
    """Fieldsets minus the hidden fields (also inside side-by-side groups); a fieldset left empty goes."""
    drop = set(hidden)
    kept_sets = []
    for title, options in fieldsets:
        kept = []
        for field in options.get("fields", ()):
            if isinstance(field, (tuple, list)):
                field = tuple(f for f in field if f not in drop)
                if field:
                    kept.append(field)
            elif field not in drop:
                kept.append(field)
        if kept:
            kept_sets.append((title, {**options, "fields": kept}))
    return kept_sets
