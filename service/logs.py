"""JSON logs on stdout, one object per line, each carrying the request id of the request it is about.

The request id is taken from ``X-Request-ID`` when a caller sends a usable one (so a site can follow
one comment through its logs and ours), else made up; it is echoed in the response header.
Comment text is never logged above debug level.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

from service.jsonio import dumps

_REQUEST_ID_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
# The record attributes a log line carries when a call sets them (``extra=``); nothing else a
# record holds is written, so a stray attribute cannot leak into the logs.
_FIELDS = (
    "method",
    "path",
    "status",
    "duration_ms",
    "remote_addr",
    "user_agent",
    "site",
    "comment_id",
    "decision",
)
# Enough to tell browsers, libraries and bots apart; a client cannot make a line arbitrarily long.
MAX_USER_AGENT_CHARS = 200


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object with time, level, logger, message, process id and
    request id."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which gunicorn worker (or the master) said it
        }
        request_id = getattr(record, "request_id", None)
        if request_id is None and has_request_context():
            request_id = g.get("request_id")
        if request_id:
            entry["request_id"] = request_id
        for field in _FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return dumps(entry)


def configure_logging(level: str = "INFO") -> None:
    """Send every log record to stdout as JSON at ``level``."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def request_id_from(header: str | None) -> str:
    """The caller's request id when it is short and plain, else a new one."""
    if header and len(header) <= 128 and set(header) <= _REQUEST_ID_OK:
        return header
    return uuid.uuid4().hex


def init_app(app: Flask) -> None:
    """Give every request an id and log one line per request: method, path, status, duration,
    client address, user agent and site (no bodies, query strings, keys or comment text)."""
    access = logging.getLogger("modq.access")

    @app.before_request
    def start_request() -> None:
        g.request_id = request_id_from(request.headers.get("X-Request-ID"))
        g.started = time.perf_counter()

    @app.after_request
    def finish_request(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if access.isEnabledFor(logging.INFO):
            started = g.get("started")
            access.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3)
                    if started
                    else None,
                    # The client's address, from X-Forwarded-For only behind trusted proxies
                    # (``MODQ_TRUSTED_PROXIES``, applied by ProxyFix before this runs).
                    "remote_addr": request.remote_addr,
                    "user_agent": request.headers.get("User-Agent", "")[:MAX_USER_AGENT_CHARS]
                    or None,
                    "site": getattr(g.get("site"), "name", None),
                },
            )
        return response
