"""Every write in the clinic core that matters: patients, the audit trail, heartbeats."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from clinic.models import AuditEvent, Heartbeat, Patient


def audit_record(
    *, actor: Any, action: str, record: models.Model, changed_fields: Iterable[str] = ()
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        record_type=record._meta.label,
        record_id=str(record.pk),
        record_label=str(record)[:200],
        changed_fields=sorted(changed_fields),
    )


@transaction.atomic
def patient_save(*, patient: Patient, changed_by: Any, changed_fields: Iterable[str] = ()) -> Patient:
    """Validate and save a patient, stamping when consent was given and when reminders were refused.

    Consent is evidence: the time is set by the clinic's clock when the box is first ticked, cleared when
    it is withdrawn, and never typed in by hand.
    """
    now = timezone.now()
    if patient.email_consent and patient.email_consent_at is None:
        patient.email_consent_at = now
    if not patient.email_consent:
        patient.email_consent_at = None
    if patient.reminders_opted_out and patient.reminders_opted_out_at is None:
        patient.reminders_opted_out_at = now
    if not patient.reminders_opted_out:
        patient.reminders_opted_out_at = None
    is_new = patient.pk is None
    patient.full_clean()
    patient.save()
    if not patient.may_receive_email:  # consent withdrawn or opted out: nothing queued may still go
        from clinic.messaging import cancel_unsent

        cancel_unsent(patient=patient)
    audit_record(
        actor=changed_by,
        action=AuditEvent.Action.ADD if is_new else AuditEvent.Action.CHANGE,
        record=patient,
        changed_fields=changed_fields,
    )
    return patient


@transaction.atomic
def patient_delete(*, patient: Patient, deleted_by: Any) -> None:
    audit_record(actor=deleted_by, action=AuditEvent.Action.DELETE, record=patient)
    patient.delete()


def heartbeat_record(*, name: str, at: datetime | None = None) -> Heartbeat:
    """Note that a background process is alive; safe to call any number of times."""
    heartbeat, _ = Heartbeat.objects.update_or_create(name=name, defaults={"last_seen": at or timezone.now()})
    return heartbeat


@transaction.atomic
def patient_opt_out(*, patient: Patient, via: str) -> Patient:
    """Stop reminder emails at once: the patient's choice, stamped, and nothing unsent goes out."""
    from clinic.messaging import cancel_unsent

    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if not patient.reminders_opted_out:
        patient.reminders_opted_out = True
        patient.reminders_opted_out_at = timezone.now()
        patient.save(update_fields=["reminders_opted_out", "reminders_opted_out_at", "updated_at"])
        audit_record(
            actor=None,
            action=AuditEvent.Action.CHANGE,
            record=patient,
            changed_fields=[f"reminders_opted_out (by the patient, {via})"],
        )
    cancel_unsent(patient=patient)
    return patient
