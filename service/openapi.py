"""The OpenAPI 3.1 document of the HTTP API, served at ``/v1/openapi.json``."""

from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__)


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_ERRORS = {
    "400": _error("Malformed JSON, or a missing or wrongly typed field (the message names it)."),
    "401": _error("Missing, unknown or revoked API key."),
    "403": _error("A key of the wrong role."),
    "413": _error("Body over the size limit (64 KiB by default)."),
    "503": _error("Redis is unreachable; nothing was stored. Retry after `Retry-After` seconds."),
}

_COMMENT_IN = {
    "type": "object",
    "required": ["id", "text"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 256,
               "description": "The site's own comment id."},
        "text": {"type": "string", "description": "The comment as the reader wrote it."},
        "article_id": {"type": ["string", "null"], "maxLength": 256},
        "author": {
            "type": ["object", "null"],
            "properties": {
                "id": {"type": ["string", "null"], "maxLength": 256},
                "name": {"type": ["string", "null"], "maxLength": 256},
            },
        },
        "language": {"type": ["string", "null"], "maxLength": 16,
                     "description": "ISO 639-1 code; detected when absent."},
        "metadata": {"type": ["object", "null"],
                     "description": "Small free-form object (at most 2 KiB as JSON)."},
    },
}

_RESULT = {
    "type": "object",
    "required": ["id", "site", "decision", "status", "scores", "reasons", "model_version"],
    "properties": {
        "id": {"type": "string"},
        "site": {"type": "string"},
        "decision": {"type": "string", "enum": ["approve", "review", "reject"]},
        "status": {"type": "string", "enum": ["approved", "pending_review", "rejected"]},
        "scores": {
            "type": "object",
            "required": ["spam", "abuse"],
            "properties": {
                "spam": {"type": "number", "minimum": 0, "maximum": 1},
                "abuse": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        "reasons": {"type": "array", "items": {"type": "string"},
                    "description": "What drove the scores: words of the comment and signals."},
        "model_version": {"type": "string"},
        "language": {"type": "string"},
        "received_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}

_BATCH_ITEM = {
    "oneOf": [
        {"$ref": "#/components/schemas/CommentResult"},
        {
            "type": "object",
            "required": ["error", "status_code"],
            "properties": {
                "id": {"type": ["string", "null"]},
                "error": {"$ref": "#/components/schemas/Error/properties/error"},
                "status_code": {"type": "integer"},
            },
        },
    ]
}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def document() -> dict:
    """The OpenAPI document as a dict."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "modq",
            "version": "1",
            "description": "Comment intake, spam and abuse scoring and review queue for news sites.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "field": {"type": "string"},
                                "limit": {"type": "integer"},
                                "length": {"type": "integer"},
                            },
                        }
                    },
                },
                "CommentIn": _COMMENT_IN,
                "CommentResult": _RESULT,
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/comments": {
                "post": {
                    "operationId": "createComment",
                    "summary": "Score, decide and (when needed) queue one comment.",
                    "description": "Idempotent by id: the same id and text returns the stored "
                    "result; the same id with new text is an edit, scored again.",
                    "requestBody": {"required": True, **_json(_ref("CommentIn"))},
                    "responses": {
                        "200": {"description": "The decision.", **_json(_ref("CommentResult"))},
                        **_ERRORS,
                        "422": _error("Text empty, only whitespace, or over the site's limit."),
                    },
                }
            },
            "/v1/comments/batch": {
                "post": {
                    "operationId": "createComments",
                    "summary": "Score up to 100 comments; one result or error each, in order.",
                    "requestBody": {
                        "required": True,
                        **_json({
                            "type": "object",
                            "required": ["comments"],
                            "properties": {
                                "comments": {"type": "array", "minItems": 1, "maxItems": 100,
                                             "items": _ref("CommentIn")}
                            },
                        }),
                    },
                    "responses": {
                        "200": {
                            "description": "One entry per comment, in order.",
                            **_json({
                                "type": "object",
                                "required": ["results"],
                                "properties": {"results": {"type": "array", "items": _BATCH_ITEM}},
                            }),
                        },
                        **_ERRORS,
                    },
                }
            },
            "/v1/comments/{comment_id}": {
                "get": {
                    "operationId": "getComment",
                    "summary": "The stored result and current status of one comment.",
                    "parameters": [
                        {"name": "comment_id", "in": "path", "required": True,
                         "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": {"description": "The result.", **_json(_ref("CommentResult"))},
                        "404": _error("No such comment on this site."),
                        **_ERRORS,
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "liveness",
                    "security": [],
                    "summary": "Liveness; checks nothing.",
                    "responses": {"200": {"description": "Alive."}},
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readiness",
                    "security": [],
                    "summary": "Readiness: Redis reachable and a model loaded.",
                    "responses": {"200": {"description": "Ready."},
                                  "503": {"description": "Not ready; the body says what."}},
                }
            },
            "/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "security": [],
                    "summary": "This document.",
                    "responses": {"200": {"description": "The OpenAPI document."}},
                }
            },
        },
    }


@bp.get("/v1/openapi.json")
def serve_document():
    """The OpenAPI document of the whole API."""
    return jsonify(document())
