"""The outbox's emails written as MIME bytes directly, because the standard library's writer is the cost.

Why
    Django builds an email as a tree of ``email.mime`` objects and the standard library's generator folds
    every header through ``email.header.Header`` and scans every part for its boundary with a fresh regular
    expression. For our three-part reminder that is about 0.7 ms, more than rendering the templates and
    the calendar file together, and the sweeper sends hundreds a second. Our emails always have the same
    shape, so ``OutboxEmail`` writes that shape itself in about 0.04 ms:

        multipart/mixed
            multipart/alternative
                text/plain; charset="utf-8"
                text/html; charset="utf-8"
            each attachment                   (base64)

What keeps it correct
    * Header values go through Django's own ``forbid_multi_line_headers`` (short ASCII ones need nothing):
      a newline is refused (header injection), non-ASCII text is RFC 2047 encoded, addresses are
      sanitised as Django does, long lines are folded.
    * Text is sent as it is (7bit, or 8bit for UTF-8, as Django does) when every line fits SMTP's limit of
      998 octets; otherwise quoted-printable (``binascii``, in C). Attachments are base64.
    * A boundary line is ``--`` and 96 random bits between ``==`` marks: quoted-printable never writes
      ``==``, base64 lines never start with ``--``, and a rendered text cannot guess the random part.
    * Django's backends (SMTP, file, console, in-memory) all send ``message().as_bytes()``. Anything that
      walks the message object instead (``smtplib.send_message``) gets a TypeError, not an empty email.
    ``tests/clinic/test_mime.py`` parses what this writes with the standard library and gets back exactly
    what was rendered.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from email.message import Message as StdlibMessage
from email.utils import formatdate
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import forbid_multi_line_headers, make_msgid
from django.core.mail.utils import DNS_NAME

# Set from the email's own fields (an extra header of the same name overrides the value), as Django does.
_ADDRESSED_BY_DJANGO = {"from", "to", "cc", "reply-to"}


class PreparedMessage(StdlibMessage):
    """A whole email, already written. Its headers can be read like any message's (``msg["Subject"]``);
    its body exists only as the bytes ``as_bytes`` returns, and asking for a payload is an error."""

    def __init__(self, headers: list[tuple[str, str]], body: list[bytes]) -> None:
        super().__init__()
        for name, value in headers:
            self[name] = value
        self._body = body

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:  # type: ignore[override]
        # A folded header (a long subject) continues on "\n "; the transport may want "\r\n ".
        head = [f"{name}: {value}".replace("\n", linesep).encode("ascii") for name, value in self.items()]
        return linesep.encode().join([*head, *self._body])

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:  # type: ignore[override]
        return self.as_bytes(linesep=linesep).decode("utf-8")  # 8bit parts are UTF-8

    def get_payload(self, *args: Any, **kwargs: Any) -> Any:
        # The standard library's generator (smtplib.send_message, email.generator) walks the payload; this
        # message has none to give, and an empty email must not go out silently.
        raise TypeError(
            "A PreparedMessage is already written: send message.as_bytes(), not the message object."
        )


class OutboxEmail(EmailMultiAlternatives):
    """An ``EmailMultiAlternatives`` whose ``message()`` is written directly (see the module docstring).

    It takes plain-text and HTML alternatives and attachments given as (filename, content, mimetype).
    """

    def message(self) -> PreparedMessage:  # type: ignore[override]
        encoding = self.encoding or settings.DEFAULT_CHARSET
        wanted = [("Subject", self.subject), ("From", self.extra_headers.get("From", self.from_email))]
        wanted += [
            (name, self.extra_headers.get(name, ", ".join(str(a) for a in addresses)))
            for name, addresses in self._address_lists()
        ]
        names = {name.lower() for name in self.extra_headers}
        if "date" not in names:
            wanted.append(("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
        if "message-id" not in names:
            wanted.append(("Message-ID", make_msgid(domain=DNS_NAME)))
        wanted += [
            (n, str(v)) for n, v in self.extra_headers.items() if n.lower() not in _ADDRESSED_BY_DJANGO
        ]
        headers = [_header(name, value, encoding) for name, value in wanted]
        outer, inner = _boundary(), _boundary()
        headers += [("MIME-Version", "1.0"), ("Content-Type", f'multipart/mixed; boundary="{outer}"')]
        return PreparedMessage(headers, self._body_lines(outer, inner))

    def _address_lists(self) -> list[tuple[str, list[str]]]:
        return [
            (name, found)
            for name, found in (("To", self.to), ("Cc", self.cc), ("Reply-To", self.reply_to))
            if found
        ]

    def _body_lines(self, outer: str, inner: str) -> list[bytes]:
        lines = [
            b"",
            f"--{outer}".encode(),
            f'Content-Type: multipart/alternative; boundary="{inner}"'.encode(),
            b"",
        ]
        texts = [(self.body, f"text/{self.content_subtype}"), *self.alternatives]
        for content, mimetype in texts:
            lines += [f"--{inner}".encode(), *_text_part(str(content), str(mimetype))]
        lines.append(f"--{inner}--".encode())
        for attachment in self.attachments:
            if not isinstance(attachment, tuple):
                raise TypeError("OutboxEmail attachments are (filename, content, mimetype) tuples.")
            filename, content, mimetype = attachment
            lines += [f"--{outer}".encode(), *_attachment_part(filename, content, mimetype)]
        lines += [f"--{outer}--".encode(), b""]
        return lines


def _header(name: str, value: str, encoding: str) -> tuple[str, str]:
    # A short ASCII line needs nothing; Django would still fold every subject through ``email.header``,
    # the costliest step left. Anything else gets Django's own checks and encoding.
    if value.isascii() and len(name) + len(value) <= 76 and "\n" not in value and "\r" not in value:
        return name, value
    return forbid_multi_line_headers(name, value, encoding)


def _boundary() -> str:
    return f"==outbox-{secrets.token_hex(12)}=="


def _text_part(content: str, mimetype: str) -> list[bytes]:
    # Sent as it is (7bit or 8bit, as Django sends UTF-8) when every line fits in SMTP's 998 octets: fewer,
    # readable lines on the wire. Otherwise quoted-printable, whose lines are at most 76 characters. A lone
    # carriage return is not a line break, so it is quoted too.
    data = content.replace("\r\n", "\n").encode("utf-8")
    lines = data.split(b"\n")
    if b"\r" not in data and b"\0" not in data and all(len(line) <= 998 for line in lines):
        encoding = "7bit" if data.isascii() else "8bit"
    else:
        encoding, lines = "quoted-printable", binascii.b2a_qp(data, istext=True).split(b"\n")
    return [
        f'Content-Type: {mimetype}; charset="utf-8"'.encode(),
        f"Content-Transfer-Encoding: {encoding}".encode(),
        b"",
        *lines,
    ]


def _attachment_part(filename: str, content: str | bytes, mimetype: str) -> list[bytes]:
    if not filename.isascii() or not filename.isprintable() or '"' in filename or "\\" in filename:
        raise ValueError(f"Attachment names are plain ASCII without quotes; got {filename!r}.")
    data = content.encode("utf-8") if isinstance(content, str) else content
    # A text part without a charset is US-ASCII (RFC 2046); ours are UTF-8, as Django labels them.
    content_type = f'{mimetype}; charset="utf-8"' if mimetype.startswith("text/") else mimetype
    return [
        f"Content-Type: {content_type}".encode(),
        f'Content-Disposition: attachment; filename="{filename}"'.encode(),
        b"Content-Transfer-Encoding: base64",
        b"",
        *base64.encodebytes(data).rstrip(b"\n").split(b"\n"),
    ]
