"""The API's one error shape, ``{"error": {"code", "message"}}``, and the handlers that produce it.

Views raise :class:`ApiError` subclasses; this module turns them, HTTP errors raised by Flask and
Werkzeug, Redis outages and anything unexpected into JSON responses, in one place.
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a client can act on.

    :param message: what went wrong and, where it helps, what to send instead.
    :param code: a stable machine-readable code; defaults to the class's.
    """

    status = 400
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        error.update(self.details)
        return {"error": error}

    def item(self, item_id: str | None) -> dict:
        """This error as one entry of a batch's results: the item's id, the error, its status."""
        return {"id": item_id, **self.body(), "status_code": self.status}


class InvalidRequest(ApiError):
    status = 400
    code = "invalid_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class UnprocessableComment(ApiError):
    status = 422
    code = "invalid_comment"


class UnsupportedContentType(ApiError):
    status = 415
    code = "unsupported_media_type"


class ServiceUnavailable(ApiError):
    status = 503
    code = "unavailable"
    retry_after = 2


class StorageUnavailable(ServiceUnavailable):
    """Redis is unreachable or refuses commands for now (``reason`` says which)."""

    code = "storage_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The review store (Redis) {reason}; nothing was stored. Retry the same request.",
            retry_after=self.retry_after,
        )


def error_response(status: int, code: str, message: str, headers: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


_HTTP_CODES = {
    400: ("invalid_request", "The request could not be read."),
    404: ("not_found", "No such endpoint. The API is described at /v1/openapi.json."),
    405: ("method_not_allowed", "This endpoint does not accept that method."),
    413: ("payload_too_large", "The request body is over the limit."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    431: ("headers_too_large", "The request headers are too large."),
}


# Replies with which a reachable Redis refuses a command for a while, by the reply's first word.
# redis-py turns some into their own exception classes and leaves the rest as ResponseError.
_REFUSALS = {
    "OOM": "is full (maxmemory reached)",
    "READONLY": "is a read-only replica",
    "LOADING": "is loading its data",
    "BUSY": "is busy running a script",
    "MASTERDOWN": "has lost its primary",
    "MISCONF": "cannot save to disk and refuses writes",
    "NOREPLICAS": "has too few replicas for writes",
    "CLUSTERDOWN": "cluster is down",
    "TRYAGAIN": "cluster is moving the keys",
}
_REFUSAL_CLASSES = {
    redis.exceptions.OutOfMemoryError: "OOM",
    redis.exceptions.ReadOnlyError: "READONLY",
    redis.exceptions.BusyLoadingError: "LOADING",
    redis.exceptions.MasterDownError: "MASTERDOWN",
    redis.exceptions.ClusterDownError: "CLUSTERDOWN",
    redis.exceptions.TryAgainError: "TRYAGAIN",
}


def refusal_reason(error: redis.exceptions.RedisError) -> str | None:
    """What keeps Redis from taking commands for now, if ``error`` is such a refusal, else None.

    A reply from inside a Lua script keeps its first word (``OOM command not allowed ...``).
    """
    for kind, word in _REFUSAL_CLASSES.items():
        if isinstance(error, kind):
            return _REFUSALS[word]
    first_word = str(error).split(" ", 1)[0].lstrip("-")
    return _REFUSALS.get(first_word)


def storage_failure(error: redis.exceptions.RedisError) -> str | None:
    """Why Redis cannot serve for now, when ``error`` is an outage or a refusal; else None (a
    reply that says the command itself was wrong, which is a bug to log, not a 503)."""
    if isinstance(
        error,
        redis.exceptions.ConnectionError
        | redis.exceptions.TimeoutError
        | redis.exceptions.ClusterDownError,
    ):
        return refusal_reason(error) or "is unreachable"
    if isinstance(error, redis.exceptions.ResponseError):
        return refusal_reason(error)
    return None


def init_app(app: Flask) -> None:
    """Register the error handlers on ``app``."""

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        response = jsonify(error.body())
        response.status_code = error.status
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        if isinstance(error, Unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer realm="modq"'
        return response

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        status = error.code or 500
        code, message = _HTTP_CODES.get(status, ("http_error", error.description or ""))
        if status == 413:
            limit = request.max_content_length
            message = f"The request body is over the limit of {limit} bytes."
        headers = {}
        if status == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return error_response(status, code, message, headers)

    @app.errorhandler(redis.exceptions.ConnectionError)
    @app.errorhandler(redis.exceptions.TimeoutError)
    @app.errorhandler(redis.exceptions.ClusterDownError)
    @app.errorhandler(redis.exceptions.ResponseError)
    def handle_redis_error(error: redis.exceptions.RedisError):
        reason = storage_failure(error)
        if reason is None:
            return handle_unexpected(error)
        log.error("redis unavailable: %s (%s)", error.__class__.__name__, reason)
        return handle_api_error(StorageUnavailable(reason))

    @app.errorhandler(UnicodeEncodeError)
    def handle_unencodable_text(error: UnicodeEncodeError):
        # Fields are checked for lone surrogates where they are read; this catches any field
        # a check missed, so that such text is refused rather than a 500.
        log.warning("text with a lone surrogate reached storage unchecked")
        return error_response(
            400,
            "invalid_request",
            "A text field holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without its "
            "pair); send Unicode text.",
        )

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return handle_http_error(error)
        log.exception("unhandled error")
        return error_response(500, "internal_error", "An unexpected error occurred; it was logged.")
