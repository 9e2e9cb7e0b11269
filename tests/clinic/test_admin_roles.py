"""Deny by default: every clinic admin page tried as a therapist, a teammate, the front desk, a manager and
a signed-in outsider with no role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.models import AuditEvent, Location, Patient, Service, Therapist
from tests.helpers import as_user

pytestmark = pytest.mark.django_db

NOTES_A = "Fibromyalgia; flares after long drives."
NOTES_B = "Lumbar pain since 2019; avoid prone lying."
REFERENCE_MODELS = ["location", "service", "therapist"]


@pytest.fixture
def clinic(
    therapist_user: User,
    teammate_user: User,
    front_desk_user: User,
    manager_user: User,
    outsider_user: User,
    location: Location,
    physical_therapy: Service,
    make_patient: Callable[..., Patient],
) -> dict[str, Any]:
    return {
        "therapist": therapist_user,
        "teammate": teammate_user,
        "front_desk": front_desk_user,
        "manager": manager_user,
        "outsider": outsider_user,
        "patient_a": make_patient(therapist_user.therapist, first_name="Alicia", clinical_notes=NOTES_A),
        "patient_b": make_patient(teammate_user.therapist, first_name="Brenda", clinical_notes=NOTES_B),
        "location": location,
        "service": physical_therapy,
    }


def page(model: str, view: str = "changelist", *args: Any) -> str:
    return reverse(f"admin:clinic_{model}_{view}", args=args)


def test_a_therapist_lists_only_their_own_patients(clinic: dict[str, Any]) -> None:
    body = as_user(clinic["therapist"]).get(page("patient")).content.decode()
    assert "Alicia" in body
    assert "Brenda" not in body


def test_a_therapist_reads_their_patients_clinical_notes(clinic: dict[str, Any]) -> None:
    response = as_user(clinic["therapist"]).get(page("patient", "change", clinic["patient_a"].pk))
    assert response.status_code == 200
    assert NOTES_A in response.content.decode()


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_a_teammates_patient_does_not_exist_for_a_therapist(clinic: dict[str, Any], view: str) -> None:
    response = as_user(clinic["therapist"]).get(page("patient", view, clinic["patient_b"].pk))
    assert response.status_code in (403, 404)
    assert NOTES_B not in response.content.decode()


def test_a_therapist_cannot_change_a_teammates_patient_by_posting(clinic: dict[str, Any]) -> None:
    patient_b = clinic["patient_b"]
    response = as_user(clinic["therapist"]).post(
        page("patient", "change", patient_b.pk), {"first_name": "Hacked", "clinical_notes": "overwritten"}
    )
    assert response.status_code == 404
    patient_b.refresh_from_db()
    assert (patient_b.first_name, patient_b.clinical_notes) == ("Brenda", NOTES_B)


def test_the_front_desk_sees_every_patients_contact_but_no_clinical_notes(clinic: dict[str, Any]) -> None:
    desk = as_user(clinic["front_desk"])
    listing = desk.get(page("patient")).content.decode()
    assert "Alicia" in listing
    assert "Brenda" in listing
    for patient, notes in ((clinic["patient_a"], NOTES_A), (clinic["patient_b"], NOTES_B)):
        body = desk.get(page("patient", "change", patient.pk)).content.decode()
        assert patient.email in body
        assert notes not in body
        assert 'name="clinical_notes"' not in body


def test_the_front_desk_cannot_change_pacing_limits_or_clinical_notes(clinic: dict[str, Any]) -> None:
    patient = clinic["patient_a"]
    desk = as_user(clinic["front_desk"])
    form = {
        "first_name": "Alicia", "last_name": "Example", "date_of_birth": "1970-01-01",
        "email": "alicia.new@example.com", "phone": "", "time_zone": "America/New_York",
        "max_sessions_per_day": "4", "max_sessions_per_week": "14", "clinical_notes": "front desk wrote this",
    }  # fmt: skip
    response = desk.post(page("patient", "change", patient.pk), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    patient.refresh_from_db()
    assert patient.email == "alicia.new@example.com"
    assert (patient.max_sessions_per_day, patient.max_sessions_per_week) == (1, 3)
    assert patient.clinical_notes == NOTES_A


def test_a_manager_sees_everything_in_the_clinic(clinic: dict[str, Any]) -> None:
    manager = as_user(clinic["manager"])
    listing = manager.get(page("patient")).content.decode()
    assert "Alicia" in listing
    assert "Brenda" in listing
    assert NOTES_B in manager.get(page("patient", "change", clinic["patient_b"].pk)).content.decode()
    assert manager.get(page("auditevent")).status_code == 200


@pytest.mark.parametrize("model", ["patient", "auditevent", *REFERENCE_MODELS])
def test_a_signed_in_user_with_no_role_is_refused_every_list(clinic: dict[str, Any], model: str) -> None:
    assert as_user(clinic["outsider"]).get(page(model)).status_code == 403


def test_a_signed_in_user_with_no_role_is_refused_every_record(clinic: dict[str, Any]) -> None:
    outsider = as_user(clinic["outsider"])
    records = {
        "patient": clinic["patient_a"], "location": clinic["location"], "service": clinic["service"],
        "therapist": clinic["therapist"].therapist,
    }  # fmt: skip
    for model, record in records.items():
        response = outsider.get(page(model, "change", record.pk))
        assert response.status_code in (403, 404), model
    assert NOTES_A not in outsider.get(page("patient", "change", clinic["patient_a"].pk)).content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(clinic: dict[str, Any]) -> None:
    response = Client().get(page("patient", "change", clinic["patient_a"].pk))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("role", ["therapist", "teammate", "front_desk", "manager"])
@pytest.mark.parametrize("model", REFERENCE_MODELS)
def test_every_role_can_read_locations_services_and_therapists(
    clinic: dict[str, Any], role: str, model: str
) -> None:
    client = as_user(clinic[role])
    assert client.get(page(model)).status_code == 200
    record = {
        "location": clinic["location"],
        "service": clinic["service"],
        "therapist": clinic["teammate"].therapist,
    }
    assert client.get(page(model, "change", record[model].pk)).status_code == 200


@pytest.mark.parametrize("role", ["therapist", "front_desk"])
def test_only_a_manager_may_change_a_location(clinic: dict[str, Any], role: str) -> None:
    location = clinic["location"]
    response = as_user(clinic[role]).post(
        page("location", "change", location.pk),
        {"name": "Renamed", "address": "x", "phone": "+1 718 555 0100", "time_zone": "UTC"},
    )
    assert response.status_code == 403
    location.refresh_from_db()
    assert location.name == "Riverside Clinic"


@pytest.mark.parametrize("role", ["therapist", "front_desk"])
def test_only_a_manager_reads_the_audit_trail(clinic: dict[str, Any], role: str) -> None:
    assert as_user(clinic[role]).get(page("auditevent")).status_code == 403


def test_every_read_of_a_patient_record_is_attributed(clinic: dict[str, Any]) -> None:
    as_user(clinic["therapist"]).get(page("patient", "change", clinic["patient_a"].pk))
    as_user(clinic["front_desk"]).get(page("patient", "change", clinic["patient_a"].pk))
    readers = AuditEvent.objects.filter(action="view", record_id=str(clinic["patient_a"].pk))
    assert {event.actor for event in readers} == {clinic["therapist"], clinic["front_desk"]}


def test_a_change_made_in_the_admin_names_who_made_it_and_what_changed(clinic: dict[str, Any]) -> None:
    patient = clinic["patient_a"]
    form = {
        "first_name": "Alicia", "last_name": "Example", "date_of_birth": "1970-01-01", "email": patient.email,
        "phone": "", "time_zone": "America/New_York", "max_sessions_per_day": "1",
        "min_rest_days_between_demanding": "2", "max_sessions_per_week": "3", "clinical_notes": NOTES_A,
        "primary_therapist": clinic["therapist"].therapist.pk,
    }  # fmt: skip
    response = as_user(clinic["therapist"]).post(page("patient", "change", patient.pk), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.get(action="change", record_id=str(patient.pk))
    assert event.actor == clinic["therapist"]
    assert event.changed_fields == ["min_rest_days_between_demanding"]


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["therapist", "front_desk", "manager"])
def test_the_patient_list_costs_the_same_queries_for_3_or_30_patients(
    clinic: dict[str, Any], role: str, make_patient: Callable[..., Patient], django_assert_num_queries: Any
) -> None:
    client = as_user(clinic[role])
    few = count_queries(client, page("patient"))
    for _ in range(15):
        make_patient(clinic["therapist"].therapist)
        make_patient(clinic["teammate"].therapist)
    with django_assert_num_queries(few):
        client.get(page("patient"))


@pytest.mark.parametrize("model", ["therapist", "location", "service"])
def test_reference_lists_cost_the_same_queries_however_many_rows(
    clinic: dict[str, Any], model: str, make_user: Callable[..., User], django_assert_num_queries: Any
) -> None:
    client = as_user(clinic["manager"])
    few = count_queries(client, page(model))
    for n in range(8):
        therapist = Therapist.objects.create(user=User.objects.create_user(f"extra{n}"))
        therapist.services.add(Service.objects.create(name=f"Service {n}", discipline="massage",
                                                      default_duration_minutes=30))  # fmt: skip
        location = Location.objects.create(
            name=f"Site {n}", address="x", phone="+1 718 555 0100", time_zone="UTC"
        )
        therapist.locations.add(location)
    with django_assert_num_queries(few):
        client.get(page(model))
