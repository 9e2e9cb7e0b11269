"""The smallest SMTP server that accepts mail, for the reminders benchmark: it counts, it never refuses.

Why not aiosmtpd, which the tests use
    The sink stands in for the clinic's mail provider, which does not share our two cores. aiosmtpd reads a
    message line by line through asyncio streams and spends 0.6-0.8 ms of CPU on each of our reminders,
    about as much as a third of the sweeper's own work, on the same two cores it is measured on. This one
    finds the end of a command or of DATA in the bytes it has received and spends about 0.2 ms. The
    benchmark prints the aiosmtpd figure too, for comparison.

What it speaks (RFC 5321, enough for smtplib and Django's SMTP backend)
    220 greeting; EHLO (8BITMIME) and HELO; MAIL, RCPT, RSET and NOOP answered 250; DATA answered 354, the
    message read up to CRLF.CRLF and answered 250; QUIT answered 221. A delivery counts at that 250, by
    the message's X-Outbox-Id header.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections import Counter

OUTBOX_ID = re.compile(rb"^X-Outbox-Id:[ \t]*(\d+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
END_OF_DATA = b"\r\n.\r\n"


class _Conversation(asyncio.Protocol):
    """One client's SMTP conversation."""

    def __init__(self, sink: MinimalSmtpSink) -> None:
        self.sink = sink
        self.received = bytearray()
        self.in_data = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 sink.bench ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.received += data
        while self.transport is not None and self._answer_one():
            pass

    def _answer_one(self) -> bool:
        """Answer the next complete command or message in what has arrived; False when there is none yet."""
        assert self.transport is not None
        if self.in_data:
            end = self.received.find(END_OF_DATA)
            if end < 0:
                return False
            self.sink.count(bytes(self.received[: end + 2]))
            del self.received[: end + len(END_OF_DATA)]
            self.in_data = False
            self.transport.write(b"250 2.0.0 accepted\r\n")
            return True
        end = self.received.find(b"\r\n")
        if end < 0:
            return False
        verb = bytes(self.received[:4]).upper()
        del self.received[: end + 2]
        if verb == b"EHLO":
            self.transport.write(b"250-sink.bench\r\n250 8BITMIME\r\n")
        elif verb == b"DATA":
            self.in_data = True
            self.transport.write(b"354 end with <CRLF>.<CRLF>\r\n")
        elif verb == b"QUIT":
            self.transport.write(b"221 2.0.0 bye\r\n")
            self.transport.close()
            self.transport = None
        else:  # HELO, MAIL, RCPT, RSET, NOOP
            self.transport.write(b"250 OK\r\n")
        return True


class MinimalSmtpSink:
    """Started on its own thread and event loop; ``url`` is the EMAIL_URL for a worker in another process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: Counter[int] = Counter()
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def count(self, message: bytes) -> None:
        found = OUTBOX_ID.search(message.split(b"\r\n\r\n", 1)[0])  # in the header block only
        with self._lock:
            self._deliveries[int(found[1]) if found else -1] += 1

    def start(self) -> None:
        listening = socket.create_server(("127.0.0.1", 0))
        self.port = listening.getsockname()[1]
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            server = self._loop.run_until_complete(
                self._loop.create_server(lambda: _Conversation(self), sock=listening)
            )
            started.set()
            try:
                self._loop.run_forever()
            finally:
                server.close()
                self._loop.run_until_complete(server.wait_closed())
                self._loop.close()

        self._thread = threading.Thread(target=serve, name="bench-smtp-sink", daemon=True)
        self._thread.start()
        started.wait(timeout=10)

    def stop(self) -> None:
        if self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None

    def total(self) -> int:
        with self._lock:
            return sum(self._deliveries.values())

    def duplicates(self) -> int:
        with self._lock:
            return sum(n - 1 for outbox_id, n in self._deliveries.items() if outbox_id >= 0 and n > 1)
