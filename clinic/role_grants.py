"""Which model permissions each role's group holds. Rows are scoped separately, in clinic.roles.

Each app declares its grants in its AppConfig.ready(); after every migrate the groups are brought in
step, so a new model's permissions reach the roles without a hand-written migration per app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clinic.roles import Role

_declared: dict[Role, set[str]] = {role: set() for role in Role}


def declare_grants(grants: Mapping[Role, Iterable[str]]) -> None:
    for role, perms in grants.items():
        _declared[role].update(perms)


def declared_grants() -> dict[Role, frozenset[str]]:
    return {role: frozenset(perms) for role, perms in _declared.items()}


def sync_role_groups(**_: Any) -> None:
    """Create the role groups if missing and give each exactly its declared permissions that exist."""
    from django.contrib.auth.models import Group, Permission

    for role, perms in _declared.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        wanted: list[int] = []
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            wanted.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename).values_list(
                    "pk", flat=True
                )
            )
        group.permissions.set(wanted)


CLINIC_GRANTS: dict[Role, list[str]] = {
    Role.FRONT_DESK: [
        "clinic.view_location",
        "clinic.view_service",
        "clinic.view_therapist",
        "clinic.view_patient",
        "clinic.add_patient",
        "clinic.change_patient",
        "clinic.view_message",
        "clinic.change_message",
    ],
    Role.THERAPIST: [
        "clinic.view_location",
        "clinic.view_service",
        "clinic.view_therapist",
        "clinic.view_patient",
        "clinic.change_patient",
    ],
    Role.MANAGER: [
        f"clinic.{action}_{model}"
        for model in ("location", "service", "therapist", "patient")
        for action in ("add", "change", "delete", "view")
    ]
    + ["clinic.view_auditevent", "auth.view_user", "clinic.view_message", "clinic.change_message"],
}
