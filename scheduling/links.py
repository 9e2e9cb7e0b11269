"""Signed links patients use from their emails: one appointment, one action, valid until it starts.

A token carries the appointment id, the action and the start time it was made for. It is refused when
tampered with, used for another action, used after the appointment started, or made for a time the
appointment no longer has (it was moved: the new email carries new links).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from scheduling.models import Appointment

SALT = "scheduling.patient-action"
ACTIONS = ("confirm", "cancel")


class LinkProblem(Exception):
    """Why a link cannot be used, in words for the patient."""


@dataclass(frozen=True)
class LinkTarget:
    appointment: Appointment
    action: str


def action_token(appointment: Appointment, action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"Unknown patient action {action!r}.")
    return signing.dumps(
        {"a": appointment.pk, "do": action, "at": int(appointment.starts_at.timestamp())},
        salt=SALT,
        compress=True,
    )


def action_url(appointment: Appointment, action: str) -> str:
    return settings.SITE_URL + reverse(f"patient-{action}", args=[action_token(appointment, action)])


def resolve(token: str, *, action: str, now: datetime | None = None) -> LinkTarget:
    now = now or timezone.now()
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise LinkProblem(
            "This link is not complete or has been changed. Please use the link in your latest email."
        ) from None
    if not isinstance(payload, dict) or payload.get("do") != action:
        raise LinkProblem(
            "This link is for something else. Please use the button in your email for what you want to do."
        )
    appointment_id = payload.get("a")
    appointment = (
        Appointment.objects.select_related("patient", "location", "therapist__user")
        .filter(pk=appointment_id)
        .first()
        if isinstance(appointment_id, int)
        else None
    )
    if appointment is None:
        raise LinkProblem("We could not find this appointment. Please call the clinic.")
    if int(appointment.starts_at.timestamp()) != payload.get("at"):
        raise LinkProblem(
            "This appointment has been moved since this email was sent. Please use your latest email."
        )
    if now >= appointment.starts_at:
        raise LinkProblem("This link has expired: the appointment time has passed.")
    return LinkTarget(appointment, action)
