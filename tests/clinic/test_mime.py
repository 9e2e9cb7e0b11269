"""The outbox writes its emails' MIME itself; the standard library must read back exactly what was rendered."""

from __future__ import annotations

import email
import email.generator
import email.policy
import io
from email.message import EmailMessage

import pytest
from django.core.mail import BadHeaderError, get_connection
from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.mime import OutboxEmail

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


def outbox_email(*, subject: str = "Reminder: your appointment", text: str = "Hello Pat,\n",
                 html: str = "<p>Hello Pat,</p>\n", sender: str = "Cadence Clinic <appointments@example.com>",
                 to: str = "pat@example.com") -> OutboxEmail:  # fmt: skip
    message = OutboxEmail(subject=subject, body=text, from_email=sender, to=[to],
                          headers={"Message-ID": "<outbox-7@example.com>", "X-Outbox-Id": "7"})  # fmt: skip
    message.attach_alternative(html, "text/html")
    message.attach("appointment.ics", ICS, "text/calendar")
    return message


def read_back(message: OutboxEmail) -> EmailMessage:
    wire = message.message().as_bytes(linesep="\r\n")
    assert b"\n" not in wire.replace(b"\r\n", b""), "every line ends in CRLF on the wire"
    assert max(len(line) for line in wire.split(b"\r\n")) <= 998, "SMTP's line limit"
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(parsed: EmailMessage) -> tuple[str, str, bytes]:
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None
    assert html is not None
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_filename() == "appointment.ics"
    assert attachment.get_content_type() == "text/calendar"
    ics = attachment.get_payload(decode=True)
    assert isinstance(ics, bytes)
    # On the wire every line ends in CRLF; a reader turns them back into the platform's line breaks.
    return _lf(text.get_content()), _lf(html.get_content()), ics


def _lf(content: str) -> str:
    return content.replace("\r\n", "\n")


def test_a_reminder_reads_back_as_written() -> None:
    parsed = read_back(outbox_email())
    assert parsed["Subject"] == "Reminder: your appointment"
    assert parsed["From"] == "Cadence Clinic <appointments@example.com>"
    assert parsed["To"] == "pat@example.com"
    assert parsed["Message-ID"] == "<outbox-7@example.com>"
    assert parsed["X-Outbox-Id"] == "7"
    assert parsed["Date"] is not None
    assert parsed.get_content_type() == "multipart/mixed"
    assert parts(parsed) == ("Hello Pat,\n", "<p>Hello Pat,</p>\n", ICS)


def test_names_accents_and_long_lines_survive() -> None:
    subject = "Recordatorio: su cita del martes 24 de noviembre con José Núñez en la Clínica São João de Dor"
    text = "Olá Zoë,\n" + "x" * 1500 + "\nend with a lone \r carriage return\n"
    parsed = read_back(outbox_email(subject=subject, text=text, sender="Clínica Dor <dor@example.com>",
                                    to="zoe@example.com"))  # fmt: skip
    assert parsed["Subject"] == subject
    assert parsed["From"].addresses[0].display_name == "Clínica Dor"
    assert parts(parsed)[0] == text


def test_a_calendar_attachment_says_it_is_utf8_so_accents_survive() -> None:
    message = outbox_email()
    message.attachments = []
    message.attach("appointment.ics", "LOCATION:Clínica São João\r\n".encode(), "text/calendar")
    (attachment,) = list(read_back(message).iter_attachments())
    assert attachment.get_content_charset() == "utf-8"
    assert attachment.get_content() == "LOCATION:Clínica São João\r\n"


def test_the_message_object_refuses_to_be_walked_rather_than_send_an_empty_email() -> None:
    prepared = outbox_email(text="Olá Zoë,\n").message()
    assert "Olá Zoë," in prepared.as_string()
    with pytest.raises(TypeError, match="as_bytes"):
        email.generator.BytesGenerator(io.BytesIO()).flatten(prepared)


def test_an_extra_to_header_is_what_the_reader_sees_as_django_does() -> None:
    message = outbox_email()
    message.extra_headers["To"] = "Pat O'Brien <pat@example.com>"
    assert read_back(message)["To"] == "Pat O'Brien <pat@example.com>"


def test_a_header_with_a_newline_is_refused() -> None:
    with pytest.raises(BadHeaderError):
        outbox_email(subject="Reminder\r\nBcc: everyone@example.com").message()


def test_the_console_backend_prints_it_readably() -> None:
    stream = io.StringIO()
    get_connection("django.core.mail.backends.console.EmailBackend", stream=stream).send_messages(
        [outbox_email()]
    )
    assert "Subject: Reminder: your appointment" in stream.getvalue()
    assert "Hello Pat," in stream.getvalue()


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(),
    html=st.text(),
    subject=st.text(min_size=1, max_size=200).filter(lambda s: "\n" not in s and "\r" not in s),
)
def test_any_text_reads_back_exactly(text: str, html: str, subject: str) -> None:  # fmt: skip
    parsed = read_back(outbox_email(subject=subject, text=text, html=html))
    got_text, got_html, ics = parts(parsed)
    assert (got_text, got_html, ics) == (_as_read(text), _as_read(html), ICS)


def _as_read(content: str) -> str:
    """A MIME text part is lines, so a CRLF in the text reads back as a line break like any other."""
    return content.replace("\r\n", "\n")
