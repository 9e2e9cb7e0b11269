"""A real SMTP server for tests (aiosmtpd on 127.0.0.1): counts what it accepts, and refuses on demand.

The outbox stamps every email with ``X-Outbox-Id`` (the Message pk); the sink counts deliveries per id,
so a test can say "each row arrived exactly once". A delivery counts when the server answers 250 to DATA:
from then on the email is the receiving server's responsibility, whatever happens to the sender next.

    sink.refuse("rcpt")            # 451 4.3.0 to RCPT TO (or "data": to DATA) until sink.accept()
    sink.refuse("data", seconds=2) # ... or only for a while
    sink.reject_address(address)   # 550 5.1.1 for that recipient, for good
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.utils import parseaddr
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

TRY_LATER = "451 4.3.0 try again later"
# A regular expression, not the email parser: the benchmark sends this sink hundreds of emails a second.
OUTBOX_ID = re.compile(rb"^X-Outbox-Id:[ \t]*(\d+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
NO_SUCH_USER = "550 5.1.1 no such user"
Stage = Literal["rcpt", "data"]


def free_port() -> int:
    # aiosmtpd's Controller checks readiness by connecting to its port, so it needs a real number, not 0.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """The handler aiosmtpd calls (on its own thread) and the counters tests read (on theirs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: Counter[int] = Counter()
        self._unlabelled = 0
        self._refusing: Stage | None = None
        self._refuse_until: float | None = None
        self._rejected: set[str] = set()
        self.refused = 0
        self.host = "127.0.0.1"
        self.port = 0
        self._controller: Controller | None = None

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> None:
        # aiosmtpd logs every SMTP command at INFO, which would bury a test's output under thousands of lines.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.port = free_port()
        # server_hostname spares a reverse DNS look-up (getfqdn) that can stall start-up for seconds.
        self._controller = Controller(self, hostname=self.host, port=self.port, server_hostname="sink.test")
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        """EMAIL_URL for a worker in another process (clinic/env.py reads it)."""
        return f"smtp://{self.host}:{self.port}"

    # -- what tests switch ------------------------------------------------------------------------------

    def refuse(self, stage: Stage = "rcpt", *, seconds: float | None = None) -> None:
        with self._lock:
            self._refusing = stage
            self._refuse_until = None if seconds is None else time.monotonic() + seconds

    def accept(self) -> None:
        with self._lock:
            self._refusing = None
            self._refuse_until = None

    def reject_address(self, address: str) -> None:
        with self._lock:
            self._rejected.add(address.lower())

    # -- what tests read --------------------------------------------------------------------------------

    def deliveries(self) -> Counter[int]:
        """How many times each outbox id was accepted (a copy, safe to keep)."""
        with self._lock:
            return Counter(self._deliveries)

    def received(self, outbox_id: int) -> int:
        with self._lock:
            return self._deliveries[outbox_id]

    def total(self) -> int:
        with self._lock:
            return sum(self._deliveries.values()) + self._unlabelled

    def duplicates(self) -> int:
        """Deliveries beyond the first, over all ids."""
        with self._lock:
            return sum(count - 1 for count in self._deliveries.values() if count > 1)

    # -- aiosmtpd hooks (run on the controller's event loop thread) -------------------------------------

    def _refusing_now(self, stage: Stage) -> bool:
        with self._lock:
            if self._refusing is None:
                return False
            if self._refuse_until is not None and time.monotonic() >= self._refuse_until:
                self._refusing = self._refuse_until = None
                return False
            if self._refusing == stage:
                self.refused += 1
                return True
            return False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self._refusing_now("rcpt"):
            return TRY_LATER
        with self._lock:
            if parseaddr(address)[1].lower() in self._rejected:
                return NO_SUCH_USER
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._refusing_now("data"):
            return TRY_LATER
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        found = OUTBOX_ID.search(raw.split(b"\r\n\r\n", 1)[0])  # in the header block only
        with self._lock:
            if found:
                self._deliveries[int(found[1])] += 1
            else:
                self._unlabelled += 1
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[SmtpSink]:
    """A running sink, with this process's Django email settings pointed at it (``sink.url`` for others)."""
    sink = SmtpSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = sink.host
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    try:
        yield sink
    finally:
        sink.stop()
