"""Real peers on loopback for the channel tests: an HTTP receiver (Slack, webhooks, an
SMS provider speaking the Twilio Messages API) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession

SMS_ACCOUNT = "AC0123456789"
SMS_TOKEN = "sms-token-secret"
SMS_FROM = "+15550001111"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Records every request; answers 200 (Slack's API: {"ok": true}; the SMS API: 201),
    or the statuses queued for a path by `fail`."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    failures: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def fail(self, path: str, *statuses: int) -> None:
        """Answer the next requests to `path` with these statuses, in order."""
        with self.lock:
            self.failures.setdefault(path, []).extend(statuses)

    def to(self, path: str) -> list[Received]:
        """The requests to `path` that were accepted (answered 2xx)."""
        with self.lock:
            return [r for r in self.requests if r.path == path and r.headers.get("x-ok") == "1"]

    def answer(self, request: Received) -> tuple[int, bytes]:
        with self.lock:
            queued = self.failures.get(request.path)
            status = queued.pop(0) if queued else None
            ok = status is None
            request.headers["x-ok"] = "1" if ok else "0"
            self.requests.append(request)
        if not ok:
            assert status is not None
            return status, b'{"error": "injected"}'
        if request.path.endswith("/chat.postMessage"):
            return 200, b'{"ok": true, "ts": "1.2"}'
        if request.path.endswith("/Messages.json"):
            return 201, b'{"sid": "SM123", "status": "queued"}'
        return 200, b"ok"


def _handler_for(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Received(
                "POST",
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
            status, body = receiver.answer(request)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def run_http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


class SmtpInbox:
    """Accepts mail, except to addresses with "bounce" in them (550 at RCPT TO)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SMTPSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if "bounce" in address:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SMTPSession, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        self.messages.append(message_from_bytes(content))
        return "250 Message accepted"


def run_smtp_inbox() -> Iterator[tuple[int, SmtpInbox]]:
    inbox = SmtpInbox()
    with socket.socket() as probe:  # aiosmtpd checks its own port, so it cannot take 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()
