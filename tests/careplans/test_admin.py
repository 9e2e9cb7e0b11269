"""Care-plan admin pages tried as the plan's therapist, a teammate, the front desk, a manager and an
outsider; and the therapist's path: create from a template, edit an item, read due windows and history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from careplans.models import CadenceItem, CarePlan, CarePlanTemplate, Exercise, HeldSession
from clinic.models import AuditEvent, Patient
from tests.helpers import as_user

pytestmark = pytest.mark.django_db

GOALS = "Walk to the park and back without a flare."


@pytest.fixture
def plan(
    make_plan: Callable[..., CarePlan], therapist_user: User, clinic_services: dict[str, Any]
) -> CarePlan:
    therapist_user.therapist.services.add(clinic_services["physical_therapy"])
    plan = make_plan("Fibromyalgia, PT-led", therapist_user)
    plan.goals = GOALS
    plan.save()
    HeldSession.objects.create(item=plan.phases.get(order=0).items.get(), held_on=plan.start_date)
    return plan


@pytest.fixture
def people(
    therapist_user: User, teammate_user: User, front_desk_user: User, manager_user: User, outsider_user: User
) -> dict[str, User]:
    return {"own": therapist_user, "teammate": teammate_user, "front_desk": front_desk_user,
            "manager": manager_user, "outsider": outsider_user}  # fmt: skip


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:careplans_{name}", args=args)


def pages(plan: CarePlan) -> dict[str, str]:
    return {
        "plan list": url("careplan_changelist"),
        "plan": url("careplan_change", plan.pk),
        "plan history": url("careplan_history", plan.pk),
        "phase": url("phase_change", plan.phases.get(order=0).pk),
        "exercise library": url("exercise_changelist"),
        "templates": url("careplantemplate_changelist"),
        "held sessions": url("heldsession_changelist"),
    }


# page -> role -> expected status code
MATRIX = {
    "plan list":        {"own": 200, "teammate": 200, "front_desk": 200, "manager": 200, "outsider": 403},
    "plan":             {"own": 200, "teammate": 404, "front_desk": 200, "manager": 200, "outsider": 403},
    "plan history":     {"own": 200, "teammate": 404, "front_desk": 403, "manager": 200, "outsider": 403},
    "phase":            {"own": 200, "teammate": 404, "front_desk": 200, "manager": 200, "outsider": 403},
    "exercise library": {"own": 200, "teammate": 200, "front_desk": 403, "manager": 200, "outsider": 403},
    "templates":        {"own": 200, "teammate": 200, "front_desk": 403, "manager": 200, "outsider": 403},
    "held sessions":    {"own": 200, "teammate": 200, "front_desk": 403, "manager": 200, "outsider": 403},
}  # fmt: skip


@pytest.mark.parametrize("page", sorted(MATRIX))
@pytest.mark.parametrize("role", ["own", "teammate", "front_desk", "manager", "outsider"])
def test_each_role_gets_exactly_its_access_to_each_care_plan_page(
    plan: CarePlan, people: dict[str, User], page: str, role: str
) -> None:
    response = as_user(people[role]).get(pages(plan)[page])
    assert response.status_code == MATRIX[page][role]
    if response.status_code != 200 or role == "manager":
        return
    body = response.content.decode()
    if role == "teammate":
        assert plan.patient.first_name not in body
    if role == "front_desk":
        assert GOALS not in body
        assert "Graded activity" not in body  # the item's clinical note
        assert "Gentle full-body stretching" not in body  # the home program


def test_the_plans_therapist_sees_the_whole_plan_on_one_page(plan: CarePlan, therapist_user: User) -> None:
    body = as_user(therapist_user).get(url("careplan_change", plan.pk)).content.decode()
    assert GOALS in body
    assert "1–2× per week · 45 min Physical therapy with Dana Tester" in body
    assert "Gentle full-body stretching" in body
    assert "Check-in" in body or "check in" in body.lower()
    assert "ideally" in body  # the current due window
    assert "Overdue" in body  # one session in January, nothing since


def test_the_front_desk_sees_cadence_and_status_without_clinical_content(
    plan: CarePlan, front_desk_user: User
) -> None:
    body = as_user(front_desk_user).get(url("careplan_change", plan.pk)).content.decode()
    assert "1–2× per week · 45 min Physical therapy" in body
    assert "ideally" in body
    assert GOALS not in body
    assert plan.notes[:40] not in body


def test_a_teammate_does_not_see_the_plan_in_the_list(plan: CarePlan, teammate_user: User) -> None:
    body = as_user(teammate_user).get(url("careplan_changelist")).content.decode()
    assert plan.patient.last_name not in body or "0 care plans" in body


def test_reading_a_plan_is_recorded_with_the_reader(plan: CarePlan, front_desk_user: User) -> None:
    as_user(front_desk_user).get(url("careplan_change", plan.pk))
    assert AuditEvent.objects.filter(
        actor=front_desk_user, action="view", record_type="careplans.CarePlan"
    ).exists()


def test_the_plan_list_costs_the_same_queries_for_one_plan_or_many(
    plan: CarePlan,
    make_plan: Callable[..., CarePlan],
    therapist_user: User,
    django_assert_max_num_queries: Any,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = as_user(therapist_user)
    with CaptureQueriesContext(connection) as few:
        client.get(url("careplan_changelist"))
    for template in (
        "Fibromyalgia, massage",
        "Multimodal fibromyalgia",
        "Chronic back pain, exercise therapy",
    ):
        make_plan(template, therapist_user)
    with django_assert_max_num_queries(len(few)):
        assert client.get(url("careplan_changelist")).status_code == 200


def test_a_therapist_creates_the_massage_plan_from_the_patient_page_edits_an_item_and_reads_its_history(
    clinic_services: Any, therapist_user: User, manager_user: User, make_patient: Callable[..., Patient],
    admin_form_data: Callable[[Any], dict[str, Any]],
) -> None:  # fmt: skip
    therapist_user.therapist.services.add(clinic_services["massage"])
    patient = make_patient(therapist_user.therapist, first_name="Carmen")
    client = as_user(therapist_user)
    patient_page = client.get(reverse("admin:clinic_patient_change", args=[patient.pk])).content.decode()
    assert "Fibromyalgia, massage" in patient_page  # the template button is right there

    template = CarePlanTemplate.objects.get(name="Fibromyalgia, massage")
    response = client.post(url("careplan_from_template", patient.pk), {"template": template.pk})
    plan = CarePlan.objects.get(patient=patient)
    assert response.status_code == 302
    assert response["Location"] == url("careplan_change", plan.pk)
    assert plan.lead_therapist == therapist_user.therapist
    assert plan.status == CarePlan.Status.DRAFT

    initial = plan.phases.get(name="Initial")
    phase_page = client.get(url("phase_change", initial.pk))
    data = admin_form_data(phase_page)
    prefix = next(k for k in data if k.endswith("-0-session_minutes")).removesuffix("session_minutes")
    data[f"{prefix}session_minutes"] = "45"
    response = client.post(url("phase_change", initial.pk), data)
    assert response.status_code == 302, response.context and response.context.get("errors")
    assert CadenceItem.objects.get(phase=initial).session_minutes == 45

    as_user(manager_user).post(
        url("careplan_changelist"), {"action": "activate", "_selected_action": [plan.pk]}
    )
    plan.refresh_from_db()
    assert plan.status == CarePlan.Status.ACTIVE

    body = client.get(url("careplan_change", plan.pk)).content.decode()
    assert "every 7–14 days · 45 min Therapeutic massage with Dana Tester" in body
    assert ">Due<" in body  # a new plan's first session is due at once
    # who changed which field
    assert "Dana Tester" in body
    assert "session_minutes" in body
    assert "Morgan Tester" in body


def test_the_front_desk_cannot_create_a_plan_from_a_template(
    clinic_services: Any, front_desk_user: User, make_patient: Callable[..., Patient], therapist_user: User
) -> None:
    patient = make_patient(therapist_user.therapist)
    template = CarePlanTemplate.objects.get(name="Fibromyalgia, massage")
    response = as_user(front_desk_user).post(
        url("careplan_from_template", patient.pk), {"template": template.pk}
    )
    assert response.status_code in (403, 404)
    assert not CarePlan.objects.filter(patient=patient).exists()


def test_a_therapist_cannot_create_a_plan_for_a_teammates_patient(
    clinic_services: Any, therapist_user: User, teammate_user: User, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient(teammate_user.therapist)
    template = CarePlanTemplate.objects.get(name="Fibromyalgia, massage")
    response = as_user(therapist_user).post(
        url("careplan_from_template", patient.pk), {"template": template.pk}
    )
    assert response.status_code == 404
    assert not CarePlan.objects.filter(patient=patient).exists()


@pytest.mark.parametrize("chosen", ["999999", "abc", ""])
def test_an_unknown_template_gets_a_clear_message_and_creates_nothing(
    clinic_services: Any, therapist_user: User, make_patient: Callable[..., Patient], chosen: str
) -> None:
    patient = make_patient(therapist_user.therapist)
    response = as_user(therapist_user).post(url("careplan_from_template", patient.pk), {"template": chosen},
                                            follow=True)  # fmt: skip
    assert "Choose one of the clinic&#x27;s templates." in response.content.decode()
    assert not CarePlan.objects.filter(patient=patient).exists()


def test_a_manager_edits_a_template_and_a_broken_definition_is_refused(
    manager_user: User, clinic_services: Any
) -> None:
    template = CarePlanTemplate.objects.get(name="Fibromyalgia, massage")
    template.definition["phases"][0]["items"][0]["cadence"] = {"interval": [14, 7]}
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="shorter than the shortest"):
        template.full_clean()
    assert Exercise.objects.count() >= 7
