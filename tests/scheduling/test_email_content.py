"""What patients receive: their name, the time in their zone, where, how to reach the clinic, and links;
never anything clinical. And a calendar entry that updates in place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from icalendar import Calendar, Event

from careplans.models import CarePlan
from clinic import messaging
from clinic.models import Message, Patient
from scheduling import emails, services
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


def test_an_address_of_several_lines_keeps_its_lines(appointment: Appointment) -> None:
    appointment.location.address = "12 Harbour Road\nSuite 4\nSpringfield"
    appointment.location.save()
    email = rendered(appointment, "appointment_reminder")
    assert (
        "Where: Riverside Clinic\n       12 Harbour Road\n       Suite 4\n       Springfield\nPhone:"
        in email.body
    )
    assert "12 Harbour Road<br>Suite 4<br>Springfield" in str(email.alternatives[0][0])


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


def icalendar_writes(appointment: Appointment, *, cancelled: bool, stamp: datetime) -> bytes:
    """The same calendar entry built the ordinary way, with icalendar's objects."""
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.CLINIC_NAME}//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", f"appointment-{appointment.pk}@{messaging.mail_domain()}")
    event.add("sequence", appointment.calendar_sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", f"Appointment at {appointment.location.name}")
    event.add("location", ", ".join(appointment.location.address.splitlines()))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


@pytest.mark.parametrize("cancelled", [False, True])
def test_the_calendar_file_is_byte_for_byte_what_icalendar_writes(
    appointment: Appointment, cancelled: bool
) -> None:
    appointment.refresh_from_db()  # times in UTC, as the sweeper reads them
    # Commas, semicolons, a backslash, accents and a name long enough to need folding inside a character.
    appointment.location.name = (
        "Clínica Fisioterapia São João; Centro de Dor Crónica, Reabilitação \\ Bem-Estar"
    )
    appointment.location.address = "Rua das Flores, 12\n3.º esquerdo; Porto"
    written = emails.calendar_file(appointment, cancelled=cancelled)
    stamp = Calendar.from_ical(written).walk("VEVENT")[0].decoded("DTSTAMP")
    assert written == icalendar_writes(appointment, cancelled=cancelled, stamp=stamp)
    assert all(len(line) <= 75 for line in written.split(b"\r\n"))


def test_the_calendar_file_gives_the_start_in_utc_whatever_zone_it_was_given_in(
    appointment: Appointment,
) -> None:
    new_york = appointment.starts_at.astimezone(ZoneInfo("America/New_York"))
    appointment.starts_at, appointment.ends_at = new_york, new_york + timedelta(minutes=45)
    written = emails.calendar_file(appointment, cancelled=False)
    assert b"DTSTART:" + f"{new_york.astimezone(UTC):%Y%m%dT%H%M%S}Z".encode() in written
    assert Calendar.from_ical(written).walk("VEVENT")[0].decoded("DTSTART") == new_york


def test_a_reminder_for_a_cancelled_appointment_renders_to_nothing(appointment: Appointment) -> None:
    reminder = Message.objects.filter(
        subject=f"appointment:{appointment.pk}", kind="appointment_reminder"
    ).first()
    assert reminder is not None
    Appointment.objects.filter(pk=appointment.pk).update(status=Appointment.Status.CANCELLED_BY_CLINIC)
    assert messaging.render(reminder) is None
