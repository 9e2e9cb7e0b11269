"""What patients receive: their name, the time in their zone, where, how to reach the clinic, and links;
never anything clinical. And a calendar entry that updates in place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from icalendar import Calendar

from careplans.models import CarePlan
from clinic import messaging
from clinic.models import Message, Patient
from scheduling import services
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db

CLINICAL = ["Fibromyalgia", "fibromyalgia", "Physical therapy", "PT-led", "lumbar", "NRS 7", "FIQR",
            "Walk to the park", "flare", "Graded activity", "Dana"]  # fmt: skip


@pytest.fixture
def appointment(
    bookable: dict[str, Any], make_patient: Callable[..., Patient], at: Callable[..., datetime],
    make_plan: Callable[..., CarePlan], therapist_user: User,
) -> Appointment:  # fmt: skip
    patient = make_patient(first_name="Patricia", preferred_name="Pat", last_name="O'Brien", email_consent=True,
                           clinical_notes="Fibromyalgia, lumbar pain; NRS 7/10; FIQR 61", time_zone="Europe/London")  # fmt: skip
    plan = make_plan("Fibromyalgia, PT-led", therapist_user, patient=patient)
    plan.goals = "Walk to the park without a flare"
    plan.save()
    item = plan.phases.get(order=0).items.get()
    return services.appointment_book(patient=patient, therapist=bookable["dana"], service=bookable["pt"],
                                     location=bookable["location"], starts_at=at(2, 14, weeks_ahead=2),
                                     booked_by=None, cadence_item=item)  # fmt: skip


def rendered(appointment: Appointment, kind: str) -> EmailMultiAlternatives:
    message = Message.objects.filter(subject=f"appointment:{appointment.pk}", kind=kind).first()
    if message is None:
        message = Message(kind=kind, patient=appointment.patient, subject=f"appointment:{appointment.pk}",
                          due_at=appointment.starts_at, dedupe_key=f"test:{kind}")  # fmt: skip
        message.save()
    email = messaging.render(message)
    assert email is not None
    return email


def everything_in(email: EmailMultiAlternatives) -> str:
    parts = [email.subject, email.body, *(content for content, _ in email.alternatives)]
    parts += [
        content.decode() if isinstance(content, bytes) else content for _, content, _ in email.attachments
    ]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("kind", ["appointment_reminder", "booking_confirmation", "cancellation_notice"])
def test_no_email_carries_anything_clinical(appointment: Appointment, kind: str) -> None:
    text = everything_in(rendered(appointment, kind))
    for word in CLINICAL:
        assert word not in text, f"{kind} mentions {word!r}"
    assert "Pat" in text
    assert "O&#x27;Brien" not in text


def test_the_reminder_names_the_patient_the_local_time_the_place_and_the_links(
    appointment: Appointment,
) -> None:
    email = rendered(appointment, "appointment_reminder")
    london = appointment.starts_at.astimezone(appointment.patient.zone)
    assert (
        email.subject
        == f"Reminder: your appointment on {london:%A} {london.day} {london:%B %Y} at {london:%H:%M}"
    )
    assert email.body.startswith("Hello Pat,")
    assert "Europe/London time" in email.body
    assert appointment.location.phone in email.body
    assert "/p/confirm/" in email.body
    assert "/p/cancel/" in email.body
    html = str(email.alternatives[0][0])
    assert "Confirm I&#x27;m coming" in html or "Confirm I'm coming" in html
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.extra_headers["List-Unsubscribe"].startswith("<http")
    assert email.extra_headers["X-Outbox-Id"].isdigit()


def test_the_calendar_entry_keeps_its_uid_and_is_replaced_then_removed(appointment: Appointment,
                                                                       at: Callable[..., datetime]) -> None:  # fmt: skip
    def event(email: EmailMultiAlternatives) -> Any:
        (_, content, mimetype) = email.attachments[0]
        assert mimetype == "text/calendar"
        calendar = Calendar.from_ical(content)
        return calendar, calendar.walk("VEVENT")[0]

    _, first = event(rendered(appointment, "appointment_reminder"))
    services.appointment_reschedule(appointment=appointment, starts_at=at(3, 10, weeks_ahead=2), by=None)
    appointment.refresh_from_db()
    _, moved = event(rendered(appointment, "appointment_reminder"))
    services.appointment_cancel(appointment=appointment, by_patient=True)
    appointment.refresh_from_db()
    calendar, gone = event(rendered(appointment, "cancellation_notice"))
    assert first["UID"] == moved["UID"] == gone["UID"]
    assert int(first["SEQUENCE"]) < int(moved["SEQUENCE"]) < int(gone["SEQUENCE"])
    assert moved.decoded("DTSTART") == appointment.starts_at
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(gone["STATUS"]) == "CANCELLED"


def test_a_reminder_for_a_cancelled_appointment_renders_to_nothing(appointment: Appointment) -> None:
    reminder = Message.objects.filter(
        subject=f"appointment:{appointment.pk}", kind="appointment_reminder"
    ).first()
    assert reminder is not None
    Appointment.objects.filter(pk=appointment.pk).update(status=Appointment.Status.CANCELLED_BY_CLINIC)
    assert messaging.render(reminder) is None
