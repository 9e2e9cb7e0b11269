"""Patient links from emails: only a POST acts, and a bad link (expired, tampered, for another action,
reused, or for a moved appointment) gets a friendly page and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.consent import unsubscribe_token
from clinic.models import Message, Patient
from scheduling import links, services
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db


@pytest.fixture
def soon(bookable: dict[str, Any], make_patient: Callable[..., Patient]) -> Appointment:
    """An appointment in five hours: inside the default 24-hour late-cancellation window."""
    return Appointment.objects.create(patient=make_patient(email_consent=True), therapist=bookable["dana"],
                                      service=bookable["pt"], location=bookable["location"],
                                      starts_at=timezone.now() + timedelta(hours=5),
                                      ends_at=timezone.now() + timedelta(hours=6))  # fmt: skip


def url(appointment: Appointment, action: str) -> str:
    return reverse(f"patient-{action}", args=[links.action_token(appointment, action)])


def status_of(appointment: Appointment) -> str:
    appointment.refresh_from_db()
    return appointment.status


def test_opening_a_confirm_link_shows_a_button_and_changes_nothing(booked: Appointment) -> None:
    response = Client().get(url(booked, "confirm"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Hello Ali, will you be coming?" in body
    assert "Yes, I'll be there" in body
    assert status_of(booked) == Appointment.Status.BOOKED


def test_pressing_confirm_confirms_and_a_second_press_changes_nothing(booked: Appointment) -> None:
    client = Client()
    page = url(booked, "confirm")
    client.get(page)
    assert "is confirmed" in client.post(page).content.decode()
    assert status_of(booked) == Appointment.Status.CONFIRMED
    assert "already confirmed" in client.post(page).content.decode()
    assert status_of(booked) == Appointment.Status.CONFIRMED


def test_pressing_cancel_cancels_and_tells_the_clinic_once(booked: Appointment) -> None:
    page = url(booked, "cancel")
    assert "cancel this appointment?" in Client().get(page).content.decode()
    assert status_of(booked) == Appointment.Status.BOOKED
    assert "Your appointment is cancelled." in Client().post(page).content.decode()
    assert status_of(booked) == Appointment.Status.CANCELLED_BY_PATIENT
    assert "already cancelled" in Client().post(page).content.decode()
    notices = Message.objects.filter(subject=f"appointment:{booked.pk}", kind="cancellation_notice")
    assert notices.count() == 1


def test_a_tampered_link_is_refused_kindly(booked: Appointment) -> None:
    token = links.action_token(booked, "cancel")
    response = Client().post(reverse("patient-cancel", args=[token[:-4] + "AAAA"]))
    assert response.status_code == 400
    assert "not complete or has been changed" in response.content.decode()
    assert "Nothing has been changed." in response.content.decode()
    assert status_of(booked) == Appointment.Status.BOOKED


def test_a_confirm_link_cannot_cancel(booked: Appointment) -> None:
    token = links.action_token(booked, "confirm")
    response = Client().post(reverse("patient-cancel", args=[token]))
    assert response.status_code == 400
    assert status_of(booked) == Appointment.Status.BOOKED


def test_a_link_expires_when_the_appointment_starts(booked: Appointment) -> None:
    page = url(booked, "confirm")
    Appointment.objects.filter(pk=booked.pk).update(starts_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(links.LinkProblem):
        links.resolve(page.split("/")[-2], action="confirm")
    past = Appointment.objects.get(pk=booked.pk)
    response = Client().post(url(past, "confirm"))
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert status_of(booked) == Appointment.Status.BOOKED


def test_a_link_for_a_moved_appointment_is_refused(booked: Appointment, at: Callable[..., datetime]) -> None:
    old = url(booked, "cancel")
    services.appointment_reschedule(appointment=booked, starts_at=at(3, 10, weeks_ahead=2), by=None)
    response = Client().post(old)
    assert response.status_code == 410
    assert "moved since this email was sent" in response.content.decode()
    assert status_of(booked) == Appointment.Status.BOOKED


def test_inside_the_late_cancellation_window_the_page_gives_the_phone_number(
    soon: Appointment, bookable: dict[str, Any]
) -> None:
    response = Client().post(url(soon, "cancel"))
    body = response.content.decode()
    assert "please phone us to cancel" in body
    assert bookable["location"].phone in body
    assert status_of(soon) == Appointment.Status.BOOKED


def test_unsubscribing_asks_first_then_stops_every_unsent_email(booked: Appointment) -> None:
    patient = booked.patient
    page = reverse("patient-unsubscribe", args=[unsubscribe_token(patient)])
    assert "stop appointment emails?" in Client().get(page).content.decode()
    patient.refresh_from_db()
    assert not patient.reminders_opted_out
    Client().post(page)
    patient.refresh_from_db()
    assert patient.reminders_opted_out
    assert not Message.objects.filter(patient=patient, status=Message.Status.PENDING).exists()


def test_one_click_unsubscribe_works_without_a_session_or_csrf_token(booked: Appointment) -> None:
    client = Client(enforce_csrf_checks=True)
    page = reverse("patient-unsubscribe", args=[unsubscribe_token(booked.patient)])
    response = client.post(page, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    booked.patient.refresh_from_db()
    assert booked.patient.reminders_opted_out


def test_a_forged_unsubscribe_link_changes_nothing(booked: Appointment) -> None:
    response = Client().post(reverse("patient-unsubscribe", args=["not-a-real-token"]))
    assert response.status_code == 400
    booked.patient.refresh_from_db()
    assert not booked.patient.reminders_opted_out


def test_the_late_cancellation_rule_holds_for_every_caller_not_just_the_page(
    soon: Appointment, bookable: dict[str, Any]
) -> None:
    with pytest.raises(services.TooLateToCancel, match=re.escape(bookable["location"].phone)):
        services.appointment_cancel_by_patient(appointment=soon)
    assert status_of(soon) == Appointment.Status.BOOKED
    later = Appointment.objects.create(patient=soon.patient, therapist=bookable["dana"], service=bookable["pt"],
                                       location=bookable["location"], starts_at=timezone.now() + timedelta(days=3),
                                       ends_at=timezone.now() + timedelta(days=3, hours=1))  # fmt: skip
    services.appointment_cancel_by_patient(appointment=later)
    assert status_of(later) == Appointment.Status.CANCELLED_BY_PATIENT
