"""The sweeper's two per-email statements are plain SQL; they must read and write what the ORM would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from clinic import messaging
from clinic.models import Message, Patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def row(make_patient: Callable[..., Patient]) -> Callable[[str], Message]:
    patient = make_patient(email_consent=True)

    def make(status: str) -> Message:
        return Message.objects.create(kind="appointment_reminder", patient=patient, subject="appointment:1",
                                      due_at=timezone.now(), dedupe_key=f"sql:{status}", status=status,
                                      last_error="451 try later",
                                      sent_at=timezone.now() if status == Message.Status.SENT else None)  # fmt: skip

    return make


def test_only_a_row_still_sending_is_sent(row: Callable[[str], Message]) -> None:
    for status in Message.Status.values:
        assert messaging.still_sending(row(status).pk) == (status == Message.Status.SENDING)
    assert not messaging.still_sending(10**9)


def test_a_row_marked_sent_reads_back_through_the_orm(row: Callable[[str], Message]) -> None:
    message = row(Message.Status.SENDING)
    before = timezone.now()
    messaging.mark_sent(message.pk, provider_message_id="<outbox-1@clinic.test>")
    after = timezone.now()
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.provider_message_id == "<outbox-1@clinic.test>"
    assert message.last_error == ""
    assert message.sent_at is not None
    assert before <= message.sent_at <= after
    # Stored in the column's own format, so the ORM's date filters and ordering still work on it.
    assert (
        Message.objects.filter(sent_at__gte=before - timedelta(seconds=1), sent_at__lte=after).get()
        == message
    )
