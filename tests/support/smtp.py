"""A real SMTP server on loopback (aiosmtpd) whose answers the tests can set.

server = MailServer(); server.start()
server.refuse["full@example.org"] = "421 4.2.2 mailbox busy, try later"
server.stall_rcpt_s = 3   # answer RCPT only after 3 s (for client timeouts)
server.wait_stalls_answered()   # until every stalled RCPT has been answered
server.drop_after_data = 2   # take the next 2 messages whole, then hang up before the reply
server.drop_after_data_for.add("a@example.org")   # ... and every message to this address
server.stop(); server.start()   # down for a while, back on the same port

SilentServer()   # accepts the TCP connection and never says a word
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.support.net import free_port


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(self, _server, _session, envelope, address, _options):
        if self.server.stall_rcpt_s:
            with self.server.answered:
                self.server.stalling += 1
            try:
                await asyncio.sleep(self.server.stall_rcpt_s)
            finally:
                with self.server.answered:
                    self.server.stalling -= 1
                    self.server.answered.notify_all()
        reply = self.server.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, _session, envelope):
        if self.server.data_delay_s:
            await asyncio.sleep(self.server.data_delay_s)
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=policy.default
        )
        with self.server.lock:
            self.server.received.append((list(envelope.rcpt_tos), message))
            drop = self.server.drop_after_data > 0 or bool(
                self.server.drop_after_data_for & set(envelope.rcpt_tos)
            )
            if drop:
                self.server.drop_after_data = max(0, self.server.drop_after_data - 1)
                self.server.dropped.append(message["Message-ID"])
        if drop:
            # The message is kept (as a relay would have queued it); the reply never goes.
            smtp.transport.abort()
        return "250 2.0.0 accepted"


class MailServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.refuse: dict[str, str] = {}
        self.stall_rcpt_s = 0.0
        self.data_delay_s = 0.0
        self.drop_after_data = 0
        self.drop_after_data_for: set[str] = set()
        self.dropped: list[str] = []  # Message-IDs taken whole and then hung up on
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        self.stalling = 0  # RCPT commands still held by stall_rcpt_s
        self.answered = threading.Condition()
        self._controller: Controller | None = None

    def start(self) -> MailServer:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_stalls_answered(self, timeout_s: float = 10.0) -> None:
        """Until every stalled RCPT has had its answer (its client may have gone): nothing late is
        pending."""
        with self.answered:
            if not self.answered.wait_for(lambda: self.stalling == 0, timeout=timeout_s):
                raise TimeoutError(
                    f"{self.stalling} stalled RCPT still unanswered after {timeout_s} s"
                )

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [m for _, m in self.received]

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]


class SilentServer:
    """A relay that hangs: it accepts TCP connections and never answers, not even the greeting."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # the listener was closed
            self.held.append(connection)

    def stop(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        except OSError:
            pass
        self.listener.close()
        for connection in self.held:
            connection.close()
