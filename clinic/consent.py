"""Unsubscribe links: one per patient, signed, valid until used (opting out is never refused)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from clinic.models import Patient

SALT = "clinic.unsubscribe"


def unsubscribe_token(patient: Patient) -> str:
    return signing.dumps({"p": patient.pk}, salt=SALT)


def unsubscribe_url(patient: Patient) -> str:
    return settings.SITE_URL + reverse("patient-unsubscribe", args=[unsubscribe_token(patient)])


def patient_from_token(token: str) -> Patient | None:
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    patient_id = payload.get("p") if isinstance(payload, dict) else None
    return Patient.objects.filter(pk=patient_id).first() if isinstance(patient_id, int) else None
