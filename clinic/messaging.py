"""The outbox: enqueue, claim, render, send. The only way an email leaves the clinic.

How a message travels
    1. ``enqueue`` writes a PENDING row in the caller's transaction (booking, cancelling...), keyed by a
       unique dedupe key so a repeated call adds nothing. A patient without consent, or who opted out, gets
       no row at all.
    2. ``sweep`` (a beat task every minute, and safe to run many at once) claims due rows: a short
       transaction selects them ``FOR UPDATE SKIP LOCKED``, marks them SENDING with its host:pid, and
       commits. Two sweepers never claim the same row (on SQLite the IMMEDIATE transaction serialises the
       claims instead).
    3. It renders each row at send time (so a cancelled appointment renders to nothing and its row is
       cancelled), checks the row is still SENDING (a cancel between claim and send wins), sends it over
       one SMTP connection per batch, and marks that row SENT at once.
    4. A transient failure (connection refused, 4xx) puts the row back to PENDING with exponential backoff;
       a permanent one (5xx, refused recipient) or too many attempts makes it FAILED, shown in the admin
       with its error and a "resend" action.

Rows stuck in SENDING (reconciled, not blindly resent)
    A row stays SENDING only if its sweeper died between claim and "sent". ``reconcile_stuck`` looks at who
    claimed it (host:pid:thread): if that process, or that thread of this process, is still running it is
    just slow and is left alone until a timeout; if it is gone, or the claim is older than the timeout (the
    only test possible for another host's claim), the row goes back to PENDING, and is cancelled at
    render time if what it was about no longer applies. Because each row is
    marked SENT right after its own SMTP call, of a dead sweeper's claimed rows only the one whose SMTP
    transaction was in flight can have been delivered: at most one duplicate per crash, and it carries the
    same Message-ID header so a mail client folds the two.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as database
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clinic.mime import OutboxEmail
from clinic.models import Message, Patient

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
SENDING_TIMEOUT = timedelta(minutes=10)
BATCH_SIZE = 100


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[tuple[str, bytes, str], ...] = ()


Renderer = Callable[[Message, Any], RenderedEmail | None]
Preloader = Callable[[list[Message]], Any]
_renderers: dict[str, tuple[Renderer, Preloader]] = {}


def register_renderer(kind: str, renderer: Renderer, preload: Preloader = lambda messages: None) -> None:
    """Higher apps say how to render their kinds of message (scheduling: reminders), at send time.

    ``preload`` reads what a whole batch of messages needs in a few queries; its result is handed to
    ``renderer`` with each message, so a batch of a hundred does not cost a hundred look-ups.
    """
    _renderers[kind] = (renderer, preload)


def claimant() -> str:
    """host:pid:thread of the sweeper, so a stuck claim can be traced to a live or a dead sender."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim_owner_gone(claimed_by: str) -> bool:
    """Whether the sweeper that made a claim on this host has stopped: its process, or (in this process)
    its thread, no longer exists. Claims from another host cannot be checked and wait for the timeout."""
    host, pid, thread = [*claimed_by.split(":"), "", "", ""][:3]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) != os.getpid():
        return not process_alive(int(pid))
    live_threads = {t.ident for t in threading.enumerate()}
    return not thread.isdigit() or int(thread) not in live_threads or int(thread) == threading.get_ident()


def enqueue(
    *, kind: str, patient: Patient, subject: str, due_at: datetime, dedupe_key: str
) -> Message | None:
    """Add a message to the outbox unless the patient may not receive email; idempotent by dedupe key."""
    if kind not in _renderers:
        raise ValueError(f"No renderer for messages of kind {kind!r}.")
    if not patient.may_receive_email:
        return None
    message, created = Message.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={"kind": kind, "patient": patient, "subject": subject, "due_at": due_at},
    )
    if not created and message.status == Message.Status.CANCELLED:
        # Wanted again (an appointment moved away and back): the same row returns to the queue.
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.PENDING, due_at=due_at, attempts=0, last_error="", claimed_by=""
        )
        message.refresh_from_db()
    return message


def cancel_unsent(
    *, subject: str | None = None, patient: Patient | None = None, kinds: tuple[str, ...] = ()
) -> int:
    """Cancel what has not been sent yet, including rows claimed but not yet sent."""
    unsent = Message.objects.filter(status__in=[Message.Status.PENDING, Message.Status.SENDING])
    if subject is not None:
        unsent = unsent.filter(subject=subject)
    if patient is not None:
        unsent = unsent.filter(patient=patient)
    if kinds:
        unsent = unsent.filter(kind__in=kinds)
    return unsent.update(status=Message.Status.CANCELLED, last_error="")


def mail_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def render(message: Message, preloaded: Any = None) -> OutboxEmail | None:
    renderer, preload = _renderers[message.kind]
    rendered = renderer(message, preload([message]) if preloaded is None else preloaded)
    if rendered is None:
        return None
    email = OutboxEmail(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.patient.email],
        headers={
            "Message-ID": f"<outbox-{message.pk}@{mail_domain()}>",
            "X-Outbox-Id": str(message.pk),
            **rendered.headers,
        },
    )
    email.attach_alternative(rendered.html, "text/html")
    for filename, content, mimetype in rendered.attachments:
        email.attach(filename, content, mimetype)
    return email


def claim_batch(*, now: datetime, size: int = BATCH_SIZE, by: str | None = None) -> list[int]:
    with transaction.atomic():
        due = Message.objects.select_for_update(skip_locked=True).filter(
            status=Message.Status.PENDING, due_at__lte=now
        )
        ids = list(due.order_by("due_at", "id").values_list("id", flat=True)[:size])
        if ids:
            Message.objects.filter(id__in=ids).update(
                status=Message.Status.SENDING,
                claimed_at=now,
                claimed_by=by or claimant(),
                attempts=F("attempts") + 1,
            )
    return ids


def is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def record_failure(message_id: int, error: Exception, *, now: datetime, counts: bool = True) -> None:
    """Retry later with backoff, or fail for good. ``counts=False`` when the server could not even be
    reached: an outage must not use up every reminder's attempts (the backoff still grows, capped at 1 h)."""
    message = Message.objects.filter(pk=message_id, status=Message.Status.SENDING).first()
    if message is None:
        return
    text = f"{type(error).__name__}: {error}"[:2000]
    if counts and (is_permanent(error) or message.attempts >= MAX_ATTEMPTS):
        Message.objects.filter(pk=message_id).update(status=Message.Status.FAILED, last_error=text)
        return
    attempts = message.attempts if counts else max(message.attempts - 1, 0)
    Message.objects.filter(pk=message_id).update(
        status=Message.Status.PENDING,
        last_error=text,
        attempts=attempts,
        due_at=now + backoff(message.attempts),
    )


@dataclass
class SweepReport:
    claimed: int = 0
    sent: int = 0
    cancelled: int = 0
    failed: int = 0
    retrying: int = 0
    reconciled: int = 0


def send_batch(
    ids: list[int],
    *,
    now: datetime,
    report: SweepReport,
    before_send: Callable[[Message], None] | None = None,
) -> None:
    """Send claimed rows over one SMTP connection, marking each SENT as soon as its own send returns."""
    messages = Message.objects.filter(id__in=ids, status=Message.Status.SENDING).select_related("patient")
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as down:  # the server is down: every claimed row waits and retries
        for message_id in ids:
            record_failure(message_id, down, now=now, counts=False)
        report.retrying += len(ids)
        return
    try:
        pending = list(messages.order_by("due_at", "id"))
        preloaded = {
            kind: _renderers[kind][1]([m for m in pending if m.kind == kind])
            for kind in {m.kind for m in pending}
        }
        for position, message in enumerate(pending):
            outcome, send_error = send_one(
                message, connection, now=now, before_send=before_send, preloaded=preloaded[message.kind]
            )
            setattr(report, outcome, getattr(report, outcome) + 1)
            if outcome == "retrying" and connection_lost(send_error):
                try:
                    connection.close()
                    connection.open()
                except Exception as reopen_error:  # still down: the rest of the batch waits for a later sweep
                    for later in pending[position + 1 :]:
                        record_failure(later.pk, reopen_error, now=now)
                    report.retrying += len(pending) - position - 1
                    return
    finally:
        connection.close()


def send_one(
    message: Message,
    connection: object,
    *,
    now: datetime,
    before_send: Callable[[Message], None] | None,
    preloaded: Any = None,
) -> tuple[str, Exception | None]:
    """Render, re-check and send one claimed row; returns the SweepReport counter it adds to, and the error."""
    try:
        email = render(message, preloaded)
    except Exception as error:  # a poison row fails alone, never the sweeper
        logger.exception("outbox: cannot render message %s", message.pk)
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, last_error=f"render: {error}"
        )
        return "failed", error
    if email is None or not message.patient.may_receive_email:  # no longer applies, or consent withdrawn
        Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
            status=Message.Status.CANCELLED
        )
        return "cancelled", None
    if before_send is not None:
        before_send(message)
    if not still_sending(message.pk):
        return "cancelled", None  # cancelled between claim and send: it never leaves
    try:
        connection.send_messages([email])  # type: ignore[attr-defined]
    except Exception as error:
        record_failure(message.pk, error, now=now)
        failed = Message.objects.filter(pk=message.pk, status=Message.Status.FAILED).exists()
        return ("failed" if failed else "retrying"), error
    mark_sent(message.pk, provider_message_id=email.extra_headers["Message-ID"])
    return "sent", None


# The two statements run for every email sent, written in SQL: building them with the ORM took 0.4 ms
# per email, as long as rendering it (measured by bench/reminders.py). They read and write exactly what
# ``Message.objects.filter(...).exists()`` and ``.update(...)`` would; tests/clinic/test_outbox_sql.py
# compares them on both databases.


def still_sending(message_id: int) -> bool:
    """Whether a claimed row is still ours to send (a cancel since the claim makes it CANCELLED)."""
    table = database.ops.quote_name(Message._meta.db_table)
    with database.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE id = %s AND status = %s", [message_id, Message.Status.SENDING]
        )
        return cursor.fetchone() is not None


def mark_sent(message_id: int, *, provider_message_id: str) -> None:
    table = database.ops.quote_name(Message._meta.db_table)
    sent_at = database.ops.adapt_datetimefield_value(timezone.now())
    with database.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, provider_message_id = %s, last_error = %s"
            " WHERE id = %s",
            [Message.Status.SENT, sent_at, provider_message_id, "", message_id],
        )


def connection_lost(error: Exception | None) -> bool:
    """Whether a send failed because the connection itself broke (not because a recipient was refused)."""
    if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code == 421:
        return True  # "service closing transmission channel": smtplib has already dropped the connection
    return isinstance(error, smtplib.SMTPServerDisconnected) or (
        isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)
    )


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reconcile_stuck(*, now: datetime) -> int:
    """Return rows whose sweeper is gone to PENDING (see the module docstring); leave live claims alone."""
    requeued = 0
    for message in Message.objects.filter(status=Message.Status.SENDING).only(
        "id", "claimed_by", "claimed_at"
    ):
        timed_out = message.claimed_at is None or now - message.claimed_at > SENDING_TIMEOUT
        if not (timed_out or claim_owner_gone(message.claimed_by)):
            continue
        requeued += Message.objects.filter(
            pk=message.pk, status=Message.Status.SENDING, claimed_by=message.claimed_by
        ).update(
            status=Message.Status.PENDING,
            claimed_by="",
            last_error="requeued: its sweeper stopped before sending",
        )
    return requeued


def sweep(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    time_budget: float = 50.0,
    on_backlog: Callable[[], object] | None = None,
) -> SweepReport:
    """Send everything due, batch by batch, for at most ``time_budget`` seconds (the next beat tick goes on).

    When a claim comes back full there is a backlog: ``on_backlog`` is called once (the task enqueues
    another sweep), so a burst spreads over every worker process; claims never overlap, so this only adds
    hands, never duplicates.
    """
    started = timezone.now()
    report = SweepReport(reconciled=reconcile_stuck(now=now or started))
    asked_for_help = False
    while (timezone.now() - started).total_seconds() < time_budget:
        moment = now or timezone.now()
        ids = claim_batch(now=moment, size=batch_size)
        if not ids:
            break
        if len(ids) == batch_size and on_backlog is not None and not asked_for_help:
            on_backlog()
            asked_for_help = True
        report.claimed += len(ids)
        send_batch(ids, now=moment, report=report)
    return report


@transaction.atomic
def message_resend(*, message: Message) -> Message:
    """Put a failed (or cancelled) message back in the queue, to go now with a fresh count of attempts."""
    if not message.patient.may_receive_email:
        raise ValueError("The patient has not agreed to email or has opted out.")
    if message.status not in (Message.Status.FAILED, Message.Status.CANCELLED):
        raise ValueError(
            f"Only failed or cancelled messages can be resent; this one is {message.get_status_display().lower()}."
        )
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.PENDING, attempts=0, due_at=timezone.now(), claimed_by="", last_error=""
    )
    message.refresh_from_db()
    return message
