"""Load the demo clinic once and print how to sign in. Safe to run any number of times."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.utils import timezone
from tqdm import tqdm

from careplans import demo as careplans_demo
from clinic import demo as clinic_demo
from clinic.roles import Role
from scheduling import demo as scheduling_demo

STAFF = [("manager", "Morgan", "Reyes", Role.MANAGER), ("frontdesk", "Frankie", "Doyle", Role.FRONT_DESK)]


class Command(BaseCommand):
    help = "Load the demo clinic (idempotent) and print the sign-in details."

    def handle(self, *args: Any, **options: Any) -> None:
        password = demo_password(Path(settings.VAR_DIR) / "demo-login.txt")
        total = len(clinic_demo.LOCATIONS) + len(clinic_demo.SERVICES) + len(clinic_demo.THERAPISTS)
        with tqdm(
            total=total + clinic_demo.PATIENT_COUNT,
            desc="Loading the demo clinic",
            unit="row",
            disable=options["verbosity"] == 0,
        ) as bar:
            created = clinic_demo.load_people(password=password, progress=bar.update)
        created["working hours"] = scheduling_demo.load_working_hours()
        created["care plans"] = careplans_demo.load_care_plans(now=timezone.now())
        created["appointments"] = scheduling_demo.plan_demo_weeks(now=timezone.now())
        for username, first, last, role in STAFF:
            clinic_demo.demo_user(username, first, last, password, Group.objects.get(name=role.value))
        summary = ", ".join(f"{count} {kind}" for kind, count in created.items())
        self.stdout.write(f"Demo clinic ready (created now: {summary}).")
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Open   {settings.SITE_URL}/admin/\n"
                f"  Sign in as  manager  (clinic manager)  password  {password}\n"
                f"  Also        frontdesk, dana.lee, priya.raman, marcus.osei ... (same password)\n"
            )
        )


def demo_password(path: Path) -> str:
    """One random password per machine, kept in var/ so every run prints the one that works.

    If the file is lost while the users remain, their passwords are reset to a new one.
    """
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    for user in User.objects.filter(username__in=demo_usernames()):
        user.set_password(password)
        user.save(update_fields=["password"])
    return password


def demo_usernames() -> list[str]:
    return [s.username for s in clinic_demo.THERAPISTS] + [username for username, *_ in STAFF]
