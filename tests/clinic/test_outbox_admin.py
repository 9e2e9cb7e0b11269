"""The Outbox page: who may see it, what it shows, and resending a failed email."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from clinic.models import Message, Patient
from scheduling import services
from scheduling.models import Appointment
from tests.helpers import as_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def reminder(
    bookable: dict[str, Any], make_patient: Callable[..., Patient], at: Callable[..., datetime]
) -> Message:
    patient = make_patient(first_name="Alicia", preferred_name="Ali", email_consent=True,
                           clinical_notes="Fibromyalgia")  # fmt: skip
    appointment = services.appointment_book(patient=patient, therapist=bookable["dana"], service=bookable["pt"],
                                            location=bookable["location"], starts_at=at(2, 14, weeks_ahead=2),
                                            booked_by=None)  # fmt: skip
    message = Message.objects.filter(subject=f"appointment:{appointment.pk}").order_by("due_at").first()
    assert message is not None
    return message


@pytest.mark.parametrize(("role", "expected"), [("manager", 200), ("front_desk", 200), ("therapist", 403),
                                                ("outsider", 403)])  # fmt: skip
def test_the_outbox_is_for_the_front_desk_and_managers(
    reminder: Message, manager_user: User, front_desk_user: User, therapist_user: User, outsider_user: User,
    role: str, expected: int,
) -> None:  # fmt: skip
    user = {"manager": manager_user, "front_desk": front_desk_user, "therapist": therapist_user,
            "outsider": outsider_user}[role]  # fmt: skip
    assert as_user(user).get(reverse("admin:clinic_message_changelist")).status_code == expected


def test_an_outbox_row_shows_the_email_exactly_as_the_patient_gets_it(
    reminder: Message, front_desk_user: User
) -> None:
    body = (
        as_user(front_desk_user)
        .get(reverse("admin:clinic_message_change", args=[reminder.pk]))
        .content.decode()
    )
    assert "Reminder: your appointment on" in body
    assert "Hello Ali," in body
    assert "Fibromyalgia" not in body


def test_a_failed_email_can_be_resent_and_a_sent_one_cannot(reminder: Message, manager_user: User) -> None:
    Message.objects.filter(pk=reminder.pk).update(
        status=Message.Status.FAILED, attempts=8, last_error="550 no such user"
    )
    listing = as_user(manager_user).get(reverse("admin:clinic_message_changelist") + "?status__exact=failed")
    assert "550 no such user" in listing.content.decode()
    as_user(manager_user).post(reverse("admin:clinic_message_changelist"),
                               {"action": "resend", "_selected_action": [reminder.pk]})  # fmt: skip
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.last_error) == (Message.Status.PENDING, 0, "")
    Message.objects.filter(pk=reminder.pk).update(status=Message.Status.SENT, sent_at=reminder.due_at)
    response = as_user(manager_user).post(reverse("admin:clinic_message_changelist"),
                                          {"action": "resend", "_selected_action": [reminder.pk]}, follow=True)  # fmt: skip
    assert "Only failed or cancelled messages can be resent" in response.content.decode()


def test_an_appointment_page_lists_its_emails_and_can_move_it(
    reminder: Message, manager_user: User, at: Callable[..., datetime]
) -> None:
    appointment = Appointment.objects.get(pk=int(reminder.subject.split(":")[1]))
    client = as_user(manager_user)
    page = client.get(reverse("admin:scheduling_appointment_change", args=[appointment.pk])).content.decode()
    assert "Appointment reminder" in page
    new_time = at(3, 11, weeks_ahead=2)
    response = client.post(reverse("admin:scheduling_reschedule", args=[appointment.pk]),
                           {"starts_at": new_time.strftime("%Y-%m-%dT%H:%M")}, follow=True)  # fmt: skip
    assert "the patient&#x27;s reminders follow it" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.local_start().strftime("%a %H:%M") == new_time.strftime("%a %H:%M")
    reminder.refresh_from_db()
    assert reminder.status == Message.Status.CANCELLED


def test_a_bad_reschedule_time_is_explained_and_changes_nothing(
    reminder: Message, manager_user: User
) -> None:
    appointment = Appointment.objects.get(pk=int(reminder.subject.split(":")[1]))
    response = as_user(manager_user).post(reverse("admin:scheduling_reschedule", args=[appointment.pk]),
                                          {"starts_at": "tomorrow-ish"}, follow=True)  # fmt: skip
    assert "Give the new time as a date and a time." in response.content.decode()
    before = appointment.starts_at
    appointment.refresh_from_db()
    assert appointment.starts_at == before
