"""Who may see what: the clinic's three roles and the one place that scopes rows by role.

Deny by default: a signed-in user with none of these roles sees no patient data at all.
- Front desk: patients' contact details and bookings, never clinical content.
- Therapist: clinical content of their own patients only; other therapists' patients do not exist for them.
- Clinic manager: everything in the clinic (a superuser counts as a manager).

Higher apps (careplans, scheduling) widen "their own patients" by registering lookups, e.g. the lead
therapist of a care plan, so this module never imports them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from clinic.models import Therapist

M = TypeVar("M", bound=models.Model)


class Role(StrEnum):
    FRONT_DESK = "Front desk"
    THERAPIST = "Therapist"
    MANAGER = "Clinic manager"


# Precedence when a user is in several groups: the widest role wins.
ROLE_PRECEDENCE = (Role.MANAGER, Role.THERAPIST, Role.FRONT_DESK)

# Lookups from Patient to the Therapist who counts as treating them.
_patient_owner_lookups: list[str] = ["primary_therapist"]


def register_patient_owner_lookup(lookup: str) -> None:
    """Let a higher app say "this therapist also treats the patient", e.g. ``care_plans__lead_therapist``."""
    if lookup not in _patient_owner_lookups:
        _patient_owner_lookups.append(lookup)


def role_of(user: Any) -> Role | None:
    """The user's role, cached on the user object so one request asks the database once."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if hasattr(user, "_clinic_role"):
        cached: Role | None = user._clinic_role
        return cached
    role: Role | None
    if user.is_superuser:
        role = Role.MANAGER
    else:
        names = set(user.groups.values_list("name", flat=True))
        role = next((r for r in ROLE_PRECEDENCE if r.value in names), None)
    user._clinic_role = role
    return role


def therapist_of(user: Any) -> Therapist | None:
    if hasattr(user, "_clinic_therapist"):
        cached: Therapist | None = user._clinic_therapist
        return cached
    from clinic.models import Therapist

    therapist = Therapist.objects.filter(user_id=user.pk).first() if user.is_authenticated else None
    user._clinic_therapist = therapist
    return therapist


def patients_of(therapist: Therapist) -> models.QuerySet[Any]:
    from clinic.models import Patient

    owned = Q()
    for lookup in _patient_owner_lookups:
        owned |= Q(**{lookup: therapist})
    return Patient.objects.filter(owned).values("pk")


def scope_for(
    queryset: models.QuerySet[M], user: Any, *, patient_path: str | None, front_desk_sees_rows: bool = True
) -> models.QuerySet[M]:
    """Rows of ``queryset`` the user may see.

    ``patient_path`` is the lookup from the model to its Patient ("" for Patient itself, None for rows that
    belong to no patient, such as a Location).
    """
    role = role_of(user)
    if role is Role.MANAGER:
        return queryset
    if role is Role.FRONT_DESK:
        return queryset if front_desk_sees_rows else queryset.none()
    if role is Role.THERAPIST:
        if patient_path is None:
            return queryset
        therapist = therapist_of(user)
        if therapist is None:
            return queryset.none()
        key = f"{patient_path}__in" if patient_path else "pk__in"
        return queryset.filter(**{key: patients_of(therapist)})
    return queryset.none()
