"""`make run` start-up: the demo clinic loads once, a second load changes nothing, and its login works."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client

from clinic.models import Location, Patient, Therapist
from scheduling.models import WorkingHours

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every model the demo touches, field by field."""
    labels = [
        "clinic.Location", "clinic.Service", "clinic.Therapist", "clinic.Patient", "scheduling.WorkingHours",
        "auth.User", "auth.Group",
    ]  # fmt: skip
    rows = {}
    for label in labels:
        model = apps.get_model(label)
        fields = [f.attname for f in model._meta.concrete_fields]
        rows[label] = list(model.objects.order_by("pk").values_list(*fields))
    rows["therapist services"] = list(Therapist.services.through.objects.order_by("pk").values_list())
    return rows


def load_demo() -> str:
    out = io.StringIO()
    call_command("demo_clinic", stdout=out, verbosity=0)
    return out.getvalue()


def test_loading_the_demo_twice_changes_nothing(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    load_demo()
    first = snapshot()
    second_output = load_demo()
    assert snapshot() == first
    assert (
        "created now: 0 locations, 0 services, 0 therapists, 0 patients, 0 working hours, 0 care plans, 0 appointments"
        in second_output
    )


def test_the_demo_clinic_is_a_plausible_clinic(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    load_demo()
    assert sorted(Location.objects.values_list("time_zone", flat=True)) == [
        "America/New_York",
        "Europe/London",
    ]
    assert Therapist.objects.count() == 6
    disciplines = set(Therapist.objects.values_list("services__discipline", flat=True))
    assert disciplines == {"physical_therapy", "massage", "acupuncture", "exercise_therapy"}
    assert Patient.objects.count() == 40
    assert Patient.objects.filter(primary_therapist__isnull=True).count() == 0
    pacing = set(Patient.objects.values_list("max_sessions_per_week", "min_rest_days_between_demanding"))
    assert len(pacing) >= 4, "pacing limits should vary between patients"
    for patient in Patient.objects.all():
        patient.full_clean()  # the demo obeys the clinic's own validation
    assert set(WorkingHours.objects.values_list("therapist", flat=True)) == set(
        Therapist.objects.values_list("pk", flat=True)
    )


def test_the_printed_manager_login_works(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    output = load_demo()
    password = (tmp_path / "demo-login.txt").read_text().strip()
    assert f"manager  (clinic manager)  password  {password}" in output
    client = Client()
    assert client.login(username="manager", password=password)
    page = client.get("/admin/clinic/patient/")
    assert page.status_code == 200
    assert "40 patients" in page.content.decode()
