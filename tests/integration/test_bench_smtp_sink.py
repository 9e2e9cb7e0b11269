"""The benchmark's minimal SMTP server must really take mail from smtplib and Django's SMTP backend, and count
each email once by its outbox id, or the reminders benchmark would measure nothing."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from django.core.mail import get_connection

from bench._smtp_sink import MinimalSmtpSink
from clinic.mime import OutboxEmail


@pytest.fixture
def sink() -> Iterator[MinimalSmtpSink]:
    server = MinimalSmtpSink()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def reminder(outbox_id: int) -> OutboxEmail:
    email = OutboxEmail(subject="Reminder", body="Hello,\n.\n..a line starting with dots\n", to=["pat@example.com"],
                        from_email="Clinic <clinic@example.com>", headers={"X-Outbox-Id": str(outbox_id)})  # fmt: skip
    email.attach_alternative("<p>Hello</p>", "text/html")
    return email


def test_django_sends_a_batch_over_one_connection_and_each_email_counts_once(sink: MinimalSmtpSink) -> None:
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=sink.port
    )
    assert connection.send_messages([reminder(n) for n in range(1, 6)]) == 5
    assert sink.total() == 5
    assert sink.duplicates() == 0


def test_smtplib_can_reset_send_again_and_quit(sink: MinimalSmtpSink) -> None:
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        assert client.ehlo()[0] == 250
        client.rset()
        client.sendmail(
            "clinic@example.com", ["pat@example.com"], reminder(7).message().as_bytes(linesep="\r\n")
        )
        client.sendmail(
            "clinic@example.com", ["pat@example.com"], reminder(7).message().as_bytes(linesep="\r\n")
        )
    assert sink.total() == 2
    assert sink.duplicates() == 1
