"""Holes found in review, each pinned by a test: scoping of form fields, read-only appointments, time off,
consent withdrawn in the admin, neutral plan names for the front desk, and the outbox's recovery rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from careplans.models import CarePlan
from clinic import messaging, services
from clinic.models import Message, Patient
from scheduling import services as booking
from scheduling.models import Appointment, PlanningRun, TimeOff
from tests.helpers import as_user

pytestmark = pytest.mark.django_db
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def booked(bookable: dict[str, Any], make_patient: Callable[..., Patient], at: Callable[..., datetime],
           teammate_user: User) -> Appointment:  # fmt: skip
    patient = make_patient(teammate_user.therapist, first_name="Brenda", email_consent=True,
                           clinical_notes="Lumbar pain")  # fmt: skip
    return booking.appointment_book(patient=patient, therapist=bookable["marcus"], service=bookable["pt"],
                                    location=bookable["location"], starts_at=at(2, 14, weeks_ahead=2), booked_by=None)  # fmt: skip


def test_a_therapist_cannot_make_a_teammates_patient_theirs_by_posting_a_plan(
    booked: Appointment, therapist_user: User, clinic_services: Any
) -> None:
    client = as_user(therapist_user)
    form = {"patient": booked.patient.pk, "lead_therapist": therapist_user.therapist.pk, "title": "x",
            "status": "draft", "start_date": "2026-12-01", "phases-TOTAL_FORMS": "0", "phases-INITIAL_FORMS": "0",
            "home_program-TOTAL_FORMS": "0", "home_program-INITIAL_FORMS": "0",
            "check_in_schedule-TOTAL_FORMS": "0", "check_in_schedule-INITIAL_FORMS": "0"}  # fmt: skip
    response = client.post(reverse("admin:careplans_careplan_add"), form)
    assert response.status_code == 200  # the form is refused, not saved
    assert not CarePlan.objects.filter(patient=booked.patient).exists()
    assert client.get(reverse("admin:clinic_patient_change", args=[booked.patient.pk])).status_code == 404


def test_saving_an_existing_appointment_books_nothing(booked: Appointment, front_desk_user: User) -> None:
    booking.appointment_cancel(appointment=booked, by_patient=True)
    page = reverse("admin:scheduling_appointment_change", args=[booked.pk])
    client = as_user(front_desk_user)
    assert 'name="_save"' not in client.get(page).content.decode()
    client.post(page, {"patient": booked.patient.pk})
    assert Appointment.objects.count() == 1


def test_a_therapist_records_only_their_own_time_off(
    booked: Appointment, therapist_user: User, at: Callable[..., datetime]
) -> None:
    day = booked.local_start().strftime("%Y-%m-%d")
    form = {"therapist": booked.therapist.pk, "starts_at_0": day, "starts_at_1": "00:00:00", "ends_at_0": day,
            "ends_at_1": "23:00:00", "reason": "x"}  # fmt: skip
    response = as_user(therapist_user).post(reverse("admin:scheduling_timeoff_add"), form)
    assert response.status_code == 200
    assert "Brenda" not in response.content.decode()
    assert not TimeOff.objects.exists()


def test_withdrawing_consent_in_the_admin_stops_queued_emails(
    booked: Appointment, front_desk_user: User
) -> None:
    patient = booked.patient
    assert Message.objects.filter(patient=patient, status=Message.Status.PENDING).exists()
    patient.reminders_opted_out = True
    services.patient_save(patient=patient, changed_by=front_desk_user, changed_fields=["reminders_opted_out"])
    assert not Message.objects.filter(patient=patient, status=Message.Status.PENDING).exists()
    failed = Message.objects.filter(patient=patient).first()
    assert failed is not None
    with pytest.raises(ValueError, match="opted out"):
        messaging.message_resend(message=failed)


def test_the_front_desk_sees_plans_by_a_neutral_name(
    make_plan: Callable[..., CarePlan], therapist_user: User, front_desk_user: User
) -> None:
    plan = make_plan("Fibromyalgia, massage", therapist_user)
    client = as_user(front_desk_user)
    for page in (reverse("admin:careplans_careplan_changelist"), reverse("admin:careplans_careplan_change", args=[plan.pk]),
                 reverse("admin:clinic_patient_change", args=[plan.patient.pk])):  # fmt: skip
        body = client.get(page).content.decode()
        assert "Fibromyalgia" not in body, page
        assert "In flare since" not in body
    assert (
        f"Care plan {plan.pk}" in client.get(reverse("admin:careplans_careplan_changelist")).content.decode()
    )
    assert (
        "0 care plans"
        in client.get(reverse("admin:careplans_careplan_changelist") + "?q=fibromyalgia").content.decode()
    )


@pytest.mark.parametrize("page", ["admin:careplans_careplan_history", "admin:clinic_patient_history",
                                  "admin:clinic_patient_change"])  # fmt: skip
def test_a_malformed_id_is_a_404_not_a_crash(page: str, manager_user: User) -> None:
    assert as_user(manager_user).get(reverse(page, args=["abc"])).status_code == 404


def test_reading_a_plans_history_is_recorded(
    make_plan: Callable[..., CarePlan], therapist_user: User
) -> None:
    from clinic.models import AuditEvent

    plan = make_plan("Fibromyalgia, massage", therapist_user)
    as_user(therapist_user).get(reverse("admin:careplans_careplan_history", args=[plan.pk]))
    assert AuditEvent.objects.filter(actor=therapist_user, action="view", record_id=str(plan.pk)).exists()


def test_an_old_planning_run_says_to_plan_again_instead_of_crashing(front_desk_user: User) -> None:
    from scheduling.planning import sign_proposals

    run = PlanningRun.objects.create(status=PlanningRun.Status.DONE, progress=100, proposals_token=sign_proposals([]),
                                     finished_at=timezone.now() - timedelta(hours=2))  # fmt: skip
    body = (
        as_user(front_desk_user).get(reverse("admin:scheduling_planning_run", args=[run.pk])).content.decode()
    )
    assert "more than an hour old" in body
    assert "Book all" not in body


def test_moving_an_appointment_away_and_back_keeps_its_reminders(
    booked: Appointment, at: Callable[..., datetime]
) -> None:
    original = booked.starts_at
    booking.appointment_reschedule(appointment=booked, starts_at=at(3, 11, weeks_ahead=2), by=None)
    booking.appointment_reschedule(appointment=booked, starts_at=original, by=None)
    pending = Message.objects.filter(
        patient=booked.patient, status=Message.Status.PENDING, kind="appointment_reminder"
    )
    assert pending.count() == 2


@override_settings(EMAIL_BACKEND=LOCMEM)
def test_a_sweep_that_died_mid_batch_has_its_rows_sent_by_the_next_sweep_in_the_same_process(
    booked: Appointment,
) -> None:
    Message.objects.update(due_at=timezone.now())
    Message.objects.update(
        status=Message.Status.SENDING, claimed_by=messaging.claimant(), claimed_at=timezone.now()
    )
    report = messaging.sweep()
    assert report.reconciled == Message.objects.count()
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}
    assert set(Message.objects.values_list("last_error", flat=True)) == {""}


@override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=1,
                   EMAIL_TIMEOUT=2)  # fmt: skip
def test_an_unreachable_mail_server_does_not_use_up_attempts(booked: Appointment) -> None:
    Message.objects.update(due_at=timezone.now())
    for _ in range(3):
        messaging.sweep(now=timezone.now() + timedelta(days=1))
    rows = list(Message.objects.values_list("status", "attempts"))
    assert rows
    assert all(status == Message.Status.PENDING and attempts == 0 for status, attempts in rows)
