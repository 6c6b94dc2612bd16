"""The notify tests: a real SMTP server (aiosmtpd) and a real HTTP receiver, both in threads."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpInbox:
    """What the test SMTP server received: one entry per DATA command, in order."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd's handler API
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.messages]


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, int, SmtpInbox]]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd in a thread): (host, port, inbox)."""
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield "127.0.0.1", controller.port, inbox
    finally:
        controller.stop()


class HookInbox:
    def __init__(self, key: bytes) -> None:
        self.key = key
        self.requests: list[dict] = []
        self.fail_next = 0  # answer 503 to this many requests first
        self.lock = threading.Lock()


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, HookInbox]]:
    """A real HTTP server in a thread recording each POST (headers, body, whether the HMAC
    signature verified with the key the test set). Returns (url, inbox)."""
    inbox = HookInbox(b"test-webhook-secret")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's API
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            stamp = self.headers.get("X-Tenure-Timestamp", "")
            want = "sha256=" + hmac.new(inbox.key, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            with inbox.lock:
                failing = inbox.fail_next > 0
                inbox.fail_next -= failing
                inbox.requests.append({"headers": dict(self.headers), "body": json.loads(body), "path": self.path,
                                       "signed": hmac.compare_digest(want, self.headers.get("X-Tenure-Signature", "")),
                                       "answered": 503 if failing else 200})
            self.send_response(503 if failing else 200)
            self.end_headers()

        def log_message(self, *args):  # noqa: ANN002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", inbox
    finally:
        server.shutdown()
        server.server_close()


def make_config(tmp_path: Path, state_url: str, **notify):
    from tenure.config import config_from_dict

    return config_from_dict({"state": {"url": state_url}, "notify": notify}, base_dir=tmp_path, env={})
