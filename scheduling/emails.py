"""What reminder, confirmation and cancellation emails say: the patient's name, when, where, how to reach
the clinic, and action links. Never the service, diagnosis, care plan or scores (HHS FAQs 198 and 570)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from icalendar.parser import Contentline
from icalendar.prop import vDDDTypes, vText

from clinic.consent import unsubscribe_url
from clinic.messaging import RenderedEmail, mail_domain
from clinic.models import Message
from scheduling import links
from scheduling.models import Appointment
from scheduling.reminders import (
    CANCELLATION,
    CONFIRMATION,
    REMINDER,
    PolicyValues,
    policies_for,
    too_late_to_cancel_online,
)


@dataclass(frozen=True)
class Batch:
    """What a batch of appointment emails needs, read in two queries."""

    appointments: dict[int, Appointment]
    policies: dict[int, PolicyValues]


def appointment_id(message: Message) -> int | None:
    kind, _, pk = message.subject.partition(":")
    return int(pk) if kind == "appointment" and pk.isdigit() else None


def preload(messages: list[Message]) -> Batch:
    ids = {pk for m in messages if (pk := appointment_id(m)) is not None}
    appointments = Appointment.objects.select_related("patient", "location").in_bulk(ids)
    policies = policies_for({a.location_id for a in appointments.values()})
    return Batch(appointments, policies)


def context_for(
    appointment: Appointment, *, now: datetime, policy: PolicyValues | None = None
) -> dict[str, Any]:
    patient, location = appointment.patient, appointment.location
    start = appointment.starts_at.astimezone(patient.zone)
    upcoming = appointment.status in Appointment.UPCOMING and appointment.starts_at > now
    return {
        "clinic_name": settings.CLINIC_NAME,
        "name": patient.display_name,
        "date": f"{start:%A} {start.day} {start:%B %Y}",
        "time": f"{start:%H:%M}",
        "zone": patient.time_zone.replace("_", " "),
        "location_name": location.name,
        "location_address": location.address,
        "location_address_lines": location.address.splitlines(),
        "location_phone": location.phone,
        "confirm_url": links.action_url(appointment, "confirm")
        if upcoming and appointment.status == Appointment.Status.BOOKED
        else "",
        "cancel_url": links.action_url(appointment, "cancel") if upcoming else "",
        "late": too_late_to_cancel_online(appointment, now=now, policy=policy),
        "unsubscribe_url": unsubscribe_url(patient),
    }


def calendar_file(appointment: Appointment, *, cancelled: bool) -> bytes:
    """An .ics whose UID stays the same for the appointment, so an update replaces and a cancel removes it.

    Written line by line with icalendar's value types and line folding: byte for byte what an icalendar
    ``Calendar`` object writes (a test compares the two), in a fifth of the time, which is most of a
    reminder's rendering when the sweeper sends hundreds a second.
    """
    location = appointment.location
    lines = [
        ("BEGIN", "VCALENDAR"),
        ("VERSION", "2.0"),
        ("PRODID", _ical(vText(f"-//{settings.CLINIC_NAME}//Appointments//EN"))),
        ("METHOD", "CANCEL" if cancelled else "REQUEST"),
        ("BEGIN", "VEVENT"),
        # icalendar's canonical order for an event, then the rest as added.
        ("SUMMARY", _ical(vText(f"Appointment at {location.name}"))),
        # In UTC ("Z"): a bare value of another zone would be read as floating local time.
        ("DTSTART", _ical(vDDDTypes(appointment.starts_at.astimezone(UTC)))),
        ("DTEND", _ical(vDDDTypes(appointment.ends_at.astimezone(UTC)))),
        ("DTSTAMP", _ical(vDDDTypes(timezone.now()))),
        ("UID", _ical(vText(f"appointment-{appointment.pk}@{mail_domain()}"))),
        ("SEQUENCE", str(appointment.calendar_sequence)),
        ("LOCATION", _ical(vText(", ".join(location.address.splitlines())))),
        ("STATUS", "CANCELLED" if cancelled else "CONFIRMED"),
        ("END", "VEVENT"),
        ("END", "VCALENDAR"),
    ]
    return b"".join(_content_line(name, value) + b"\r\n" for name, value in lines)


def _ical(value: vText | vDDDTypes) -> str:
    return value.to_ical().decode("utf-8")


def _content_line(name: str, value: str) -> bytes:
    line = f"{name}:{value}"
    encoded = line.encode("utf-8")
    # RFC 5545 folds lines over 75 octets. Most of ours are shorter, and folding is the slow part.
    return encoded if len(encoded) <= 75 else Contentline(line).to_ical()


def render_appointment_email(message: Message, batch: Batch) -> RenderedEmail | None:
    """Render at send time; None (the message is dropped) once the reminder no longer makes sense."""
    pk = appointment_id(message)
    appointment = batch.appointments.get(pk) if pk is not None else None
    now = timezone.now()
    if appointment is None:
        return None
    cancelled = message.kind == CANCELLATION
    if not cancelled and (appointment.status not in Appointment.UPCOMING or appointment.starts_at <= now):
        return None
    context = context_for(appointment, now=now, policy=batch.policies.get(appointment.location_id))
    folder = f"emails/{message.kind}"
    unsubscribe = context["unsubscribe_url"]
    return RenderedEmail(
        subject=" ".join(render_to_string(f"{folder}/subject.txt", context).split()),
        text=render_to_string(f"{folder}/body.txt", context),
        html=render_to_string(f"{folder}/body.html", context),
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        attachments=(("appointment.ics", calendar_file(appointment, cancelled=cancelled), "text/calendar"),),
    )


KINDS = (REMINDER, CONFIRMATION, CANCELLATION)
