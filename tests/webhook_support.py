"""A news site's webhook receiver for the tests (a real local HTTP server), and their app."""

from __future__ import annotations

import dataclasses
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from service import create_app

SECRET = "whsec-test-1234"


def webhook_test_app(settings, scorer, key_prefix: str):
    """An app whose Redis keys have ``key_prefix``, so no dispatcher of another test's app
    touches its events, and that delivers none itself: only the dispatcher a test starts does."""
    settings = dataclasses.replace(settings, key_prefix=key_prefix, webhook_delivery=False)
    app = create_app(settings, scorer=scorer)
    app.config["TESTING"] = True
    return app


class Receiver:
    """A news site's webhook endpoint: records what arrives, answers as told."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.hang_seconds = 0.0
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.hang_seconds:
                    time.sleep(receiver.hang_seconds)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append(
                    {"headers": dict(self.headers), "body": body, "status": status}
                )
                receiver.arrived.set()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/modq"

    def accepted(self) -> list[dict]:
        return [r for r in self.received if r["status"] == 200]
