"""The OpenAPI 3.1 document of the HTTP API, served at ``/v1/openapi.json``."""

from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__)


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending the same request again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _unavailable(description: str, error: dict | None = None) -> dict:
    return {**(error or _error(description)), "headers": _RETRY_AFTER}


_BODY_ERRORS = {
    "413": _error("Body over the size limit (`MODQ_MAX_BODY_BYTES`, 256 KiB by default)."),
    "415": _error("A `Content-Type` other than JSON; send `application/json`."),
}
_STORAGE_UNAVAILABLE = _unavailable(
    "Redis is unreachable or refuses writes (full, read-only, loading); nothing was stored. "
    "Retry after `Retry-After` seconds (also in the body as `retry_after`)."
)
_ERRORS = {
    "400": _error("Malformed JSON, or a missing or wrongly typed field (the message names it)."),
    "401": _error("Missing, unknown or revoked API key."),
    "403": _error("A key of the wrong role."),
    **_BODY_ERRORS,
    "503": _STORAGE_UNAVAILABLE,
}
_READ_ERRORS = {code: _ERRORS[code] for code in ("401", "403", "503")}

_RATE_LIMITED = {
    **_error("A rate limit of the site (per key, author or client address) is reached."),
    "headers": {
        "Retry-After": {
            "description": "Seconds until the limit allows another request.",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}
_REQUEST_ID = {
    "name": "X-Request-ID",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The caller's id for this request (at most 128 letters, digits and `-_.:`), "
    "echoed back and written to every log line of it; a fresh id is made when absent or not "
    "such an id.",
}
_REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "The request's id: the caller's `X-Request-ID` when usable, else a new one.",
        "schema": {"type": "string"},
    }
}

_COMMENT_IN = {
    "type": "object",
    "required": ["id", "text"],
    "properties": {
        "id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 256,
            "description": "The site's own comment id.",
        },
        "text": {"type": "string", "description": "The comment as the reader wrote it."},
        "article_id": {"type": ["string", "null"], "maxLength": 256},
        "author": {
            "type": ["object", "null"],
            "properties": {
                "id": {"type": ["string", "null"], "maxLength": 256},
                "name": {"type": ["string", "null"], "maxLength": 256},
            },
        },
        "language": {
            "type": ["string", "null"],
            "maxLength": 16,
            "description": "ISO 639-1 code; detected when absent.",
        },
        "metadata": {
            "type": ["object", "null"],
            "description": "Small free-form object (at most 2 KiB as JSON).",
        },
    },
}

_RESULT = {
    "type": "object",
    "required": [
        "id",
        "site",
        "decision",
        "status",
        "scores",
        "reasons",
        "model_version",
        "language",
        "received_at",
    ],
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
        "reasons": {
            "type": "array",
            "items": {"type": "string"},
            "description": (
                "What drove the scores, at least one per category: words of the comment "
                "('abuse: \"idiot\"'), signals ('spam: link shortener (bit.ly)'), the site's word "
                "lists, or for a low score 'spam: no word or signal stood out'."
            ),
        },
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


# --- Perspective API compatibility (service/perspective.py) ---------------------------------
# Google's request and response shapes, so Perspective clients work with only the URL changed.


def _google_error(description: str) -> dict:
    return {
        "description": description,
        **_json(
            {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message", "status"],
                        "properties": {
                            "code": {"type": "integer", "description": "The HTTP status."},
                            "message": {
                                "type": "string",
                                "description": "Perspective's wording, e.g. 'Comment must be "
                                "non-empty.' or 'Unknown requested attribute: X'.",
                            },
                            "status": {"type": "string", "examples": ["INVALID_ARGUMENT"]},
                            "details": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "description": "`errorType` (COMMENT_EMPTY, COMMENT_TOO_LONG, "
                                    "NO_REQUESTED_ATTRIBUTES, LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE, "
                                    "LANGUAGE_DETECTION_FAILED, INVALID_REQUEST) or `reason` "
                                    "(API_KEY_INVALID).",
                                },
                            },
                        },
                    }
                },
            }
        ),
    }


_PERSPECTIVE_SCORE = {
    "type": "object",
    "properties": {
        "value": {"type": "number", "minimum": 0, "maximum": 1},
        "type": {"type": "string", "enum": ["PROBABILITY"]},
    },
}
_PERSPECTIVE_ATTRIBUTE_NAMES = (
    "TOXICITY, SEVERE_TOXICITY, INSULT, PROFANITY, THREAT, IDENTITY_ATTACK (all from the abuse "
    "model; SEVERE_TOXICITY is the abuse probability squared, the others equal it), their "
    "*_EXPERIMENTAL names, and SPAM (the spam model)."
)
_PERSPECTIVE_COMMENT = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "description": "At most 20 KiB of UTF-8."},
        "type": {"type": "string", "enum": ["PLAIN_TEXT"]},
    },
}
_PERSPECTIVE_COMMON = {
    "parameters": [
        {
            "name": "key",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "A modq ingest key, where Perspective clients put theirs. "
            "`Authorization: Bearer <key>` is accepted too.",
        }
    ],
    "security": [{"bearer": []}, {}],
}
_PERSPECTIVE_ERRORS = {
    "400": _google_error(
        "INVALID_ARGUMENT: a bad request (Perspective's message), or an "
        "unknown `key` ('API key not valid. Please pass a valid API key.')."
    ),
    "401": _google_error("UNAUTHENTICATED: an unknown key in the Authorization header."),
    "403": _google_error("PERMISSION_DENIED: no key, or a key that is not an ingest key."),
    "413": _google_error("The body is over the size limit (256 KiB by default)."),
    "415": _google_error("A `Content-Type` other than JSON."),
    "503": _unavailable("", _google_error("UNAVAILABLE: Redis is unreachable.")),
}
_PERSPECTIVE_PATHS = {
    "/perspective/v1alpha1/comments:analyze": {
        "post": {
            "operationId": "perspectiveAnalyzeComment",
            "tags": ["perspective"],
            "summary": "Perspective's AnalyzeComment, answered by modq's model. Stores nothing.",
            **_PERSPECTIVE_COMMON,
            "requestBody": {
                "required": True,
                **_json(
                    {
                        "type": "object",
                        "required": ["comment", "requestedAttributes"],
                        "properties": {
                            "comment": _PERSPECTIVE_COMMENT,
                            "context": {"type": "object", "description": "Accepted and not used."},
                            "requestedAttributes": {
                                "type": "object",
                                "description": _PERSPECTIVE_ATTRIBUTE_NAMES,
                                "additionalProperties": {
                                    "type": "object",
                                    "properties": {
                                        "scoreType": {"type": "string", "enum": ["PROBABILITY"]},
                                        "scoreThreshold": {
                                            "type": "number",
                                            "description": "Leave out lower scores.",
                                        },
                                    },
                                },
                            },
                            "languages": {
                                "type": "array",
                                "items": {"type": "string", "enum": ["en", "ko"]},
                                "description": "Detected when absent.",
                            },
                            "doNotStore": {
                                "type": "boolean",
                                "description": "Accepted; modq keeps nothing from analyze either "
                                "way.",
                            },
                            "spanAnnotations": {
                                "type": "boolean",
                                "description": "Score each sentence too.",
                            },
                            "clientToken": {"type": "string", "description": "Echoed back."},
                            "communityId": {"type": "string"},
                            "sessionId": {"type": "string"},
                        },
                    }
                ),
            },
            "responses": {
                "200": {
                    "description": "Scores of the requested attributes.",
                    **_json(
                        {
                            "type": "object",
                            "properties": {
                                "attributeScores": {
                                    "type": "object",
                                    "additionalProperties": {
                                        "type": "object",
                                        "properties": {
                                            "summaryScore": _PERSPECTIVE_SCORE,
                                            "spanScores": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "properties": {
                                                        "begin": {
                                                            "type": "integer",
                                                            "description": "Offset in code points.",
                                                        },
                                                        "end": {"type": "integer"},
                                                        "score": _PERSPECTIVE_SCORE,
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                                "languages": {"type": "array", "items": {"type": "string"}},
                                "detectedLanguages": {"type": "array", "items": {"type": "string"}},
                                "clientToken": {"type": "string"},
                            },
                        }
                    ),
                },
                **_PERSPECTIVE_ERRORS,
            },
        }
    },
    "/perspective/v1alpha1/comments:suggestscore": {
        "post": {
            "operationId": "perspectiveSuggestCommentScore",
            "tags": ["perspective"],
            "summary": "Perspective's SuggestCommentScore: kept as a labeled example of the site "
            "(source perspective_feedback) for retraining.",
            **_PERSPECTIVE_COMMON,
            "requestBody": {
                "required": True,
                **_json(
                    {
                        "type": "object",
                        "required": ["comment", "attributeScores"],
                        "properties": {
                            "comment": _PERSPECTIVE_COMMENT,
                            "context": {"type": "object", "description": "Accepted and not used."},
                            "attributeScores": {
                                "type": "object",
                                "description": "Suggested scores; 0.5 or more labels the comment abusive "
                                "(spam for SPAM). " + _PERSPECTIVE_ATTRIBUTE_NAMES,
                                "additionalProperties": {
                                    "type": "object",
                                    "properties": {"summaryScore": _PERSPECTIVE_SCORE},
                                },
                            },
                            "languages": {"type": "array", "items": {"type": "string"}},
                            "communityId": {
                                "type": "string",
                                "description": "Kept with the example.",
                            },
                            "clientToken": {
                                "type": "string",
                                "description": "`comment:ID` names the comment; echoed back.",
                            },
                        },
                    }
                ),
            },
            "responses": {
                "200": {
                    "description": "Kept.",
                    **_json({"type": "object", "properties": {"clientToken": {"type": "string"}}}),
                },
                **_PERSPECTIVE_ERRORS,
            },
        }
    },
}
# --- end of Perspective API compatibility ---------------------------------------------------


# --- Moderation (service/moderation_api.py): queue, claims, decisions, audit, reports ----------
# Moderator auth: a moderator key of the site in the path, or a moderator's web session (writes
# then need X-CSRF-Token).

_SITE = {"name": "site", "in": "path", "required": True, "schema": {"type": "string"}}
_COMMENT = {"name": "comment_id", "in": "path", "required": True, "schema": {"type": "string"}}
_MOD_ERRORS = {
    "400": _error("A malformed body or parameter (the message names it)."),
    "401": _error("No key and no session, or an unknown or revoked key."),
    "403": _error(
        "A key of another role or site, a moderator not assigned to the site, or a "
        "session write without its CSRF token."
    ),
    "404": _error("No such site, comment or queue item."),
    **_BODY_ERRORS,
    "503": _STORAGE_UNAVAILABLE,
}
_NULLABLE_STRING = {"type": ["string", "null"]}
_SCORES = {"type": "object", "additionalProperties": {"type": "number"}}
_QUEUE_ITEM = {
    "type": "object",
    "required": [
        "id",
        "site",
        "text",
        "scores",
        "reasons",
        "status",
        "received_at",
        "model_version",
        "reports",
        "author_history",
        "lease_holder",
    ],
    "properties": {
        "id": {"type": "string"},
        "site": {"type": "string"},
        "text": {"type": "string"},
        "language": _NULLABLE_STRING,
        "article_id": _NULLABLE_STRING,
        "author": {"type": ["object", "null"]},
        "author_history": {
            "type": "object",
            "description": "Moderator decisions on the author's comments on this site, and "
            "reader reports against them.",
            "properties": {
                "approved": {"type": "integer"},
                "rejected": {"type": "integer"},
                "reports": {"type": "integer"},
            },
        },
        "scores": _SCORES,
        "reasons": {"type": "array", "items": {"type": "string"}},
        "highlights": {
            "type": "array",
            "description": "What to mark in the text: the terms that drove a score, and the "
            "evidence of each signal (a link, a phone number) as written.",
            "items": {
                "type": "object",
                "required": ["category", "text", "weight", "kind"],
                "properties": {
                    "category": {"type": "string", "enum": ["spam", "abuse"]},
                    "text": {"type": "string"},
                    "weight": {"type": "number", "description": "What it added to the logit."},
                    "kind": {"type": "string", "enum": ["term", "signal"]},
                    "signal": {"type": "string", "description": "The signal's name (signals)."},
                },
            },
        },
        "status": {"type": "string"},
        "decision": {"type": "string"},
        "model_decision": {"type": "string"},
        "model_version": _NULLABLE_STRING,
        "received_at": {"type": "string", "format": "date-time"},
        "updated_at": _NULLABLE_STRING,
        "urgency": {"type": ["number", "null"]},
        "reports": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "reporter_id": {"type": "string"},
                    "reason": {"type": "string"},
                    "at": {"type": "string"},
                },
            },
        },
        "report_count": {"type": "integer"},
        "moderation": {
            "type": ["object", "null"],
            "description": "The latest moderator decision, if any.",
        },
        "lease_holder": _NULLABLE_STRING,
        "lease_expires_at": _NULLABLE_STRING,
    },
}
_DECISION_IN = {
    "type": "object",
    "required": ["decision"],
    "properties": {
        "decision": {"type": "string", "enum": ["approve", "reject"]},
        "labels": {
            "type": "array",
            "maxItems": 8,
            "items": {"type": "string", "minLength": 1, "maxLength": 32},
            "description": 'e.g. ["spam"] or ["abuse"]; the training labels.',
        },
        "note": {"type": "string", "maxLength": 2000},
        "overturn": {
            "type": "boolean",
            "description": "Needed to replace another moderator's "
            "decision on a comment that is no longer pending.",
        },
    },
}
_DECISION_OUT = {
    "type": "object",
    "required": ["id", "decision", "status", "moderator", "at"],
    "properties": {
        "id": {"type": "string"},
        "site": {"type": "string"},
        "decision": {"type": "string"},
        "status": {"type": "string"},
        "labels": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string"},
        "moderator": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "audit_id": {"type": "string"},
        "undo_until": {"type": "string"},
        "previous_status": {"type": "string"},
    },
}
_AUDIT_ENTRY = {
    "type": "object",
    "required": ["id", "moderator", "decision", "at", "comment_id"],
    "properties": {
        "id": {"type": "string", "description": "Stream id; also a cursor."},
        "at": {"type": "string", "format": "date-time"},
        "comment_id": {"type": "string"},
        "moderator": {"type": "string"},
        "decision": {"type": "string", "enum": ["approve", "reject", "undo"]},
        "labels": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string"},
        "previous_status": {"type": "string"},
        "status": {"type": "string"},
        "scores": _SCORES,
        "model_version": _NULLABLE_STRING,
        "model_decision": _NULLABLE_STRING,
    },
}


def _query(name: str, schema: dict, description: str = "") -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _moderation_op(
    operation_id: str,
    summary: str,
    ok: dict,
    *,
    body: dict | None = None,
    params: list | None = None,
    extra: dict | None = None,
    read: bool = False,
) -> dict:
    errors = _MOD_ERRORS
    if read:  # a GET reads no body, and without query parameters has nothing to get wrong
        errors = {k: v for k, v in errors.items() if k not in _BODY_ERRORS}
        if not params:
            errors.pop("400")
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [_SITE, *(params or [])],
        "responses": {"200": ok, **errors, **(extra or {})},
    }
    if body is not None:
        operation["requestBody"] = {"required": False, **_json(body)}
    return operation


_FILTER_PARAMS = [
    _query("category", {"type": "string", "enum": ["spam", "abuse", "reported"]}),
    _query("language", {"type": "string"}),
    _query("article_id", {"type": "string"}),
    _query("order", {"type": "string", "enum": ["urgent", "oldest", "uncertain"]}),
]
_CONFLICT = {"409": _error("Leased to another moderator, or already decided by one.")}
_MODERATION_PATHS = {
    "/v1/sites/{site}/queue": {
        "get": _moderation_op(
            "listQueue",
            "Pending items (leased ones with their holder), filtered and ordered.",
            {
                "description": "The items.",
                **_json(
                    {
                        "type": "object",
                        "required": ["items"],
                        "properties": {
                            "site": {"type": "string"},
                            "order": {"type": "string"},
                            "items": {"type": "array", "items": _QUEUE_ITEM},
                        },
                    }
                ),
            },
            params=[
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                *_FILTER_PARAMS,
            ],
            read=True,
        )
    },
    "/v1/sites/{site}/queue/stats": {
        "get": _moderation_op(
            "queueStats",
            "Pending and leased counts, oldest item age, decisions in the last hour.",
            {
                "description": "The counts.",
                **_json(
                    {
                        "type": "object",
                        "required": ["pending", "leased", "decisions_last_hour"],
                        "properties": {
                            "site": {"type": "string"},
                            "pending": {"type": "integer"},
                            "leased": {"type": "integer"},
                            "available": {"type": "integer"},
                            "oldest_received_at": _NULLABLE_STRING,
                            "oldest_age_seconds": {"type": ["integer", "null"]},
                            "decisions_last_hour": {"type": "integer"},
                        },
                    }
                ),
            },
            read=True,
        )
    },
    "/v1/sites/{site}/queue/claim": {
        "post": _moderation_op(
            "claimQueue",
            "Lease up to `limit` unleased items to the caller (default 300 s).",
            {
                "description": "The leased items.",
                **_json(
                    {
                        "type": "object",
                        "required": ["items", "lease_expires_at"],
                        "properties": {
                            "items": {"type": "array", "items": _QUEUE_ITEM},
                            "lease_expires_at": {"type": "string", "format": "date-time"},
                            "lease_seconds": {"type": "integer"},
                            "moderator": {"type": "string"},
                        },
                    }
                ),
            },
            body={
                "type": "object",
                "properties": {
                    "limit": {"type": "integer", "minimum": 1, "maximum": 200},
                    "lease_seconds": {"type": "integer", "minimum": 1, "maximum": 3600},
                    "category": {"type": "string"},
                    "language": {"type": "string"},
                    "article_id": {"type": "string"},
                    "order": {"type": "string", "enum": ["urgent", "oldest", "uncertain"]},
                },
            },
        )
    },
    "/v1/sites/{site}/queue/{comment_id}/release": {
        "post": _moderation_op(
            "releaseLease",
            "Give a leased item back before its lease ends.",
            {
                "description": "Released.",
                **_json(
                    {
                        "type": "object",
                        "properties": {"id": {"type": "string"}, "released": {"type": "boolean"}},
                    }
                ),
            },
            params=[_COMMENT],
            extra=_CONFLICT,
        )
    },
    "/v1/sites/{site}/queue/{comment_id}/decision": {
        "post": _moderation_op(
            "decideComment",
            "Approve or reject one comment of the site, queued or not.",
            {"description": "The decision as recorded.", **_json(_DECISION_OUT)},
            params=[_COMMENT],
            body=_DECISION_IN,
            extra=_CONFLICT,
        )
    },
    "/v1/sites/{site}/queue/{comment_id}/undo": {
        "post": _moderation_op(
            "undoDecision",
            "Take back the caller's decision within 15 seconds of making it.",
            {"description": "The comment's restored status.", **_json({"type": "object"})},
            params=[_COMMENT],
            extra=_CONFLICT,
        )
    },
    "/v1/sites/{site}/queue/decisions": {
        "post": _moderation_op(
            "decideComments",
            "Up to 100 decisions; one result or error each, in order.",
            {
                "description": "One entry per decision.",
                **_json(
                    {
                        "type": "object",
                        "required": ["results"],
                        "properties": {"results": {"type": "array", "items": {"type": "object"}}},
                    }
                ),
            },
            body={
                "type": "object",
                "required": ["decisions"],
                "properties": {
                    "decisions": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 100,
                        "items": {
                            "allOf": [
                                _DECISION_IN,
                                {
                                    "type": "object",
                                    "required": ["comment_id"],
                                    "properties": {"comment_id": {"type": "string"}},
                                },
                            ]
                        },
                    }
                },
            },
        )
    },
    "/v1/sites/{site}/audit": {
        "get": _moderation_op(
            "auditLog",
            "Audit entries, newest first; append-only.",
            {
                "description": "A page of entries.",
                **_json(
                    {
                        "type": "object",
                        "required": ["entries"],
                        "properties": {
                            "site": {"type": "string"},
                            "entries": {"type": "array", "items": _AUDIT_ENTRY},
                            "next_cursor": _NULLABLE_STRING,
                        },
                    }
                ),
            },
            params=[
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                _query("cursor", {"type": "string"}, "`next_cursor` of the previous page."),
                _query("moderator", {"type": "string"}),
                _query("decision", {"type": "string"}),
                _query("comment_id", {"type": "string"}),
                _query("since", {"type": "string"}, "ISO-8601 time."),
                _query("until", {"type": "string"}, "ISO-8601 time."),
            ],
            read=True,
        )
    },
    "/v1/sites/{site}/webhooks/dead-letters": {
        "get": _moderation_op(
            "deadLetters",
            "Webhook events that failed every attempt (admins).",
            {
                "description": "The dead letters.",
                **_json(
                    {
                        "type": "object",
                        "properties": {
                            "dead_letters": {"type": "array", "items": {"type": "object"}}
                        },
                    }
                ),
            },
            read=True,
        )
    },
    "/v1/sites/{site}/webhooks/dead-letters/replay": {
        "post": _moderation_op(
            "replayDeadLetters",
            "Deliver dead letters again: the given `ids`, or all (admins).",
            {
                "description": "The replayed ids.",
                **_json(
                    {
                        "type": "object",
                        "properties": {"replayed": {"type": "array", "items": {"type": "string"}}},
                    }
                ),
            },
            body={
                "type": "object",
                "properties": {"ids": {"type": "array", "items": {"type": "string"}}},
            },
        )
    },
    "/v1/comments/{comment_id}/reports": {
        "post": {
            "operationId": "reportComment",
            "summary": "A reader reports a comment (ingest key); an approved one returns to review.",
            "parameters": [_COMMENT],
            "requestBody": {
                "required": True,
                **_json(
                    {
                        "type": "object",
                        "required": ["reporter_id"],
                        "properties": {
                            "reporter_id": {"type": "string", "minLength": 1, "maxLength": 256},
                            "reason": {"type": "string", "maxLength": 500},
                        },
                    }
                ),
            },
            "responses": {
                "200": {
                    "description": "The report as counted.",
                    **_json(
                        {
                            "type": "object",
                            "required": ["id", "status", "reports", "counted"],
                            "properties": {
                                "id": {"type": "string"},
                                "site": {"type": "string"},
                                "status": {"type": "string"},
                                "reports": {"type": "integer"},
                                "counted": {"type": "boolean"},
                            },
                        }
                    ),
                },
                **_ERRORS,
                "404": _error("No such comment on this site."),
            },
        }
    },
}
# --- end of moderation ------------------------------------------------------------------------


def _with_request_id(paths: dict) -> dict:
    """``paths`` with ``X-Request-ID`` taken by every operation and set on every response, as
    ``service.logs`` does for every request."""
    return {
        path: {
            method: {
                **operation,
                "parameters": [*operation.get("parameters", []), _REQUEST_ID],
                "responses": {
                    status: {
                        **response,
                        "headers": {**response.get("headers", {}), **_REQUEST_ID_HEADER},
                    }
                    for status, response in operation["responses"].items()
                },
            }
            for method, operation in operations.items()
        }
        for path, operations in paths.items()
    }


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
                                "retry_after": {"type": "integer"},
                            },
                        }
                    },
                },
                "CommentIn": _COMMENT_IN,
                "CommentResult": _RESULT,
            },
        },
        "security": [{"bearer": []}],
        "paths": _with_request_id(
            {
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
                            "429": _RATE_LIMITED,
                        },
                    }
                },
                "/v1/comments/batch": {
                    "post": {
                        "operationId": "createComments",
                        "summary": "Score up to 100 comments; one result or error each, in order.",
                        "requestBody": {
                            "required": True,
                            **_json(
                                {
                                    "type": "object",
                                    "required": ["comments"],
                                    "properties": {
                                        "comments": {
                                            "type": "array",
                                            "minItems": 1,
                                            "maxItems": 100,
                                            "items": _ref("CommentIn"),
                                        }
                                    },
                                }
                            ),
                        },
                        "responses": {
                            "200": {
                                "description": "One entry per comment, in order.",
                                **_json(
                                    {
                                        "type": "object",
                                        "required": ["results"],
                                        "properties": {
                                            "results": {"type": "array", "items": _BATCH_ITEM}
                                        },
                                    }
                                ),
                            },
                            **_ERRORS,
                            "429": _RATE_LIMITED,
                        },
                    }
                },
                "/v1/comments/{comment_id}": {
                    "get": {
                        "operationId": "getComment",
                        "summary": "The stored result and current status of one comment.",
                        "parameters": [
                            {
                                "name": "comment_id",
                                "in": "path",
                                "required": True,
                                "schema": {"type": "string"},
                            }
                        ],
                        "responses": {
                            "200": {"description": "The result.", **_json(_ref("CommentResult"))},
                            "404": _error("No such comment on this site."),
                            **_READ_ERRORS,
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
                        "responses": {
                            "200": {"description": "Ready."},
                            "503": {"description": "Not ready; the body says what."},
                        },
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
                **_PERSPECTIVE_PATHS,
                **_MODERATION_PATHS,
            }
        ),
    }


@bp.get("/v1/openapi.json")
def serve_document():
    """The OpenAPI document of the whole API."""
    return jsonify(document())
