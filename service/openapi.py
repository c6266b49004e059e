"""The OpenAPI 3.1 document of the HTTP API, served at ``/v1/openapi.json``."""

from __future__ import annotations

from flask import Blueprint, jsonify

from service.perspective_spans import MAX_SPANS
from service.webhooks import SIGNATURE_TOLERANCE_SECONDS

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
    "413": _error(
        "Body over the size limit: `MODQ_MAX_BODY_BYTES`, 64 KiB by default; for "
        "`POST /v1/comments/batch`, `MODQ_MAX_BATCH_BODY_BYTES`, 320 KiB by default."
    ),
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
            "description": "A language tag (`en`, `EN`, `en-US`, `ko-KR`); its primary language is kept. Detected when absent.",
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
                            "status": {
                                "type": "string",
                                "description": "The google.rpc.Code name that goes with `code` "
                                "(400 INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 "
                                "PERMISSION_DENIED, 404 NOT_FOUND, 405 UNIMPLEMENTED, 413 "
                                "RESOURCE_EXHAUSTED, 415 UNIMPLEMENTED, 429 RESOURCE_EXHAUSTED, "
                                "500 INTERNAL, 503 UNAVAILABLE).",
                                "examples": ["INVALID_ARGUMENT"],
                            },
                            "details": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "description": "`errorType` (COMMENT_EMPTY, COMMENT_TOO_LONG, "
                                    "NO_REQUESTED_ATTRIBUTES, LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE, "
                                    "LANGUAGE_DETECTION_FAILED, INVALID_REQUEST), `reason` "
                                    "(API_KEY_INVALID, RATE_LIMIT_EXCEEDED) or, on a 429, "
                                    "`retryDelay` (google.rpc.RetryInfo, e.g. `17s`).",
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
    "*_EXPERIMENTAL names, and SPAM (the spam model). Names match in any case; each attribute "
    "may be named once."
)
_PERSPECTIVE_COMMENT = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "description": "At most 20 KiB of UTF-8."},
        "type": {"type": "string", "enum": ["PLAIN_TEXT"]},
    },
}
# A language code counts by its primary subtag, whatever its case and region
# (service.payloads.primary_language): every string this pattern matches is accepted.
_PERSPECTIVE_LANGUAGE_PATTERN = "^([Ee][Nn]|[Kk][Oo])([-_].*)?$"
_PERSPECTIVE_LANGUAGES = {
    "type": "array",
    "items": {
        "type": "string",
        "pattern": _PERSPECTIVE_LANGUAGE_PATTERN,
        "description": "A language code whose primary subtag is `en` or `ko`, in any case and "
        "with any region (`en`, `EN`, `en-US`, `en_GB`, `ko-KR`). Another language gets 400 "
        "INVALID_ARGUMENT (LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE), or, with "
        "`dropUnsupportedAttributes`, an answer without `attributeScores`.",
        "examples": ["en", "ko", "en-US"],
    },
}
# The ingest key goes in `?key=`, as Perspective clients send it, or in a bearer header; one of
# the two is required (no key is 403 PERMISSION_DENIED).
_PERSPECTIVE_COMMON = {
    "security": [{"bearer": []}, {"perspectiveKey": []}, {"perspectiveKeyHeader": []}]
}
_PERSPECTIVE_ERRORS = {
    "400": _google_error(
        "INVALID_ARGUMENT: a bad request (Perspective's message), a body over "
        "`MODQ_MAX_BODY_BYTES` (COMMENT_TOO_LONG), or an "
        "unknown `key` ('API key not valid. Please pass a valid API key.')."
    ),
    "401": _google_error("UNAUTHENTICATED: an unknown key in the Authorization header."),
    "403": _google_error("PERMISSION_DENIED: no key, or a key that is not an ingest key."),
    "404": _google_error(
        "NOT_FOUND: a path under /perspective/v1alpha1 other than comments:analyze and "
        "comments:suggestscore (e.g. a misspelt method)."
    ),
    "405": {
        **_google_error("UNIMPLEMENTED: a method other than POST on this path."),
        "headers": {
            "Allow": {"description": "Always `POST`.", "schema": {"type": "string"}},
        },
    },
    "415": _google_error("UNIMPLEMENTED: a `Content-Type` other than JSON."),
    "429": {
        **_google_error(
            "RESOURCE_EXHAUSTED: a rate limit of the site, per key or per client address, is "
            "reached; each call counts one, as one comment sent to `POST /v1/comments` does, "
            "against the same allowance."
        ),
        "headers": _RATE_LIMITED["headers"],
    },
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
                                **_PERSPECTIVE_LANGUAGES,
                                "description": "Detected when absent; echoed as sent.",
                            },
                            "doNotStore": {
                                "type": "boolean",
                                "description": "Accepted; modq keeps nothing from analyze either "
                                "way.",
                            },
                            "spanAnnotations": {
                                "type": "boolean",
                                "description": "Score each sentence too. A text of more than "
                                f"{MAX_SPANS} sentences gets at most {MAX_SPANS} spans per "
                                "attribute: neighbouring short sentences are scored together, so "
                                "the spans still cover every sentence.",
                            },
                            "dropUnsupportedAttributes": {
                                "type": "boolean",
                                "description": "Leave out attributes modq does not score (and, "
                                "in a language it does not score, all of them) instead of "
                                "refusing the request.",
                            },
                            "clientToken": {"type": "string", "description": "Echoed back."},
                            "communityId": {"type": "string"},
                            "sessionId": {"type": "string"},
                        },
                        "description": "Field names are read in both of protobuf's JSON forms "
                        "(`requestedAttributes` or `requested_attributes`).",
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
                                                            "description": "Offset in UTF-16 code units, as "
                                                            "Perspective's (JavaScript's string "
                                                            "index).",
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
                            "languages": {
                                "type": "array",
                                "items": {"type": "string"},
                                "description": "Not checked: the example records the language "
                                "detected in the text, or the first of these when none is.",
                            },
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
    "/perspective/$discovery/rest": {
        "get": {
            "operationId": "perspectiveDiscoveryDocument",
            "tags": ["perspective"],
            "summary": "The discovery document of the two Perspective methods, rooted at this "
            "server, for clients built with Google's API client library (`discovery.build(..., "
            "discoveryServiceUrl='http://HOST:8000/perspective/$discovery/rest?version=v1alpha1')`)."
            " Needs no key.",
            "security": [],
            "parameters": [
                {
                    "name": "version",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "default": "v1alpha1"},
                    "description": "Only v1alpha1.",
                }
            ],
            "responses": {
                "200": {
                    "description": "A REST description (`discovery#restDescription`).",
                    **_json({"type": "object", "required": ["rootUrl", "resources"]}),
                },
                "404": _google_error("NOT_FOUND: another version."),
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
        "replayed": {
            "type": "boolean",
            "description": "True when the same moderator sent the decision the comment already "
            "carries (a retry): nothing was written again, and `at` is when it was made.",
        },
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
_CONFLICT = {
    "409": _error(
        "Leased to another moderator (`lease_holder`, `lease_expires_at`), or already decided by "
        "one (`decided`)."
    )
}
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
            extra={
                "404": _error("The comment is not in the review queue (decided, or no such id)."),
                "409": _error("Leased to another moderator (`lease_holder`, `lease_expires_at`)."),
            },
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
                _query("decision", {"type": "string", "enum": ["approve", "reject", "undo"]}),
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
            "Webhook events that failed every attempt (admins, or the site's moderator key).",
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
            "Deliver dead letters again: the given `ids`, or all (admins, or the site's moderator "
            "key).",
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


# --- webhooks: what modq sends to a site ------------------------------------------------------
# The events ``service.webhooks.event_for`` makes and ``WebhookDispatcher.deliver`` posts, with a
# worked signature that tests/test_openapi_webhooks.py recomputes with ``service.webhooks.sign``.

EXAMPLE_SECRET = "whsec-example-0123456789abcdef"
EXAMPLE_TIMESTAMP = "1795860902"
EXAMPLE_EVENT = {
    "id": "evt_3f2a9c0d1e4b5a6f7081",
    "sequence": 1795860902114372,
    "type": "comment.decided",
    "site": "demo",
    "comment_id": "c-981",
    "decision": "reject",
    "status": "rejected",
    "labels": ["spam"],
    "at": "2026-11-28T10:15:02.114Z",
}
# The body exactly as sent: compact JSON, UTF-8, fields in this order.
EXAMPLE_BODY = (
    '{"id":"evt_3f2a9c0d1e4b5a6f7081","sequence":1795860902114372,"type":"comment.decided",'
    '"site":"demo","comment_id":"c-981","decision":"reject","status":"rejected",'
    '"labels":["spam"],"at":"2026-11-28T10:15:02.114Z"}'
)
EXAMPLE_SIGNATURE = "sha256=f395af777b4c784f10f7f2a30756f6be77a33d8af87f71d82fa32dc99ad25403"

_SIGNATURE_HOW = f"""\
How to verify a delivery:

1. Take `X-Modq-Timestamp` as received (Unix seconds, decimal digits) and the raw request body
   bytes exactly as received; do not parse and re-serialise the JSON first.
2. Compute HMAC-SHA256 with the site's webhook secret (the `--webhook-secret` value, as UTF-8
   bytes) as the key, over the message `<timestamp> + "." + <body>`.
3. `X-Modq-Signature` is `sha256=` followed by that digest in lowercase hex. Compare the two in
   constant time and refuse the request if they differ.
4. Refuse it too when the timestamp is more than {SIGNATURE_TOLERANCE_SECONDS} seconds from your
   clock: it is a replay of an old request.

Each attempt is signed afresh: a retry carries a new timestamp and signature, with the same body
and event id.

Worked example: secret `{EXAMPLE_SECRET}`, `X-Modq-Timestamp: {EXAMPLE_TIMESTAMP}`, body
`{EXAMPLE_BODY}` give `X-Modq-Signature: {EXAMPLE_SIGNATURE}`."""

_DELIVERY_HOW = """\
modq POSTs one event per request, written in the same atomic step as the moderator's decision
and delivered in the background. Answer any 2xx status (the body is ignored) once the event is
stored. Anything else, a redirect (never followed), or no answer within 5 seconds is a failure:
the event is sent again after 2, 4, 8, ... seconds, doubling up to every 10 minutes, for 150
attempts (about 24 hours), and then becomes a dead letter that an admin can replay.

Delivery is at least once: deduplicate by `id`. Events of one comment are sent in the order
they were made; apply an event only when its `sequence` is above the last one applied for that
comment (that drops a replayed dead letter that a later decision or undo has replaced)."""

_WEBHOOK_HEADERS = [
    {
        "name": "X-Modq-Timestamp",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "description": "Unix seconds when this attempt was signed.",
        "example": EXAMPLE_TIMESTAMP,
    },
    {
        "name": "X-Modq-Signature",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
        "description": "`sha256=` and the lowercase hex HMAC-SHA256 of "
        '`<X-Modq-Timestamp> + "." + <body>` keyed with the site\'s webhook secret.',
        "example": EXAMPLE_SIGNATURE,
    },
    {
        "name": "X-Modq-Event-Id",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "The event's `id`, to deduplicate before reading the body.",
        "example": EXAMPLE_EVENT["id"],
    },
    {
        "name": "User-Agent",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "const": "modq-webhooks/1"},
    },
]


def _event_schema(event_type: str, decisions: list[str], statuses: list[str], about: str) -> dict:
    """The JSON body of one event type, every field always present."""
    fields = {
        "id": {
            "type": "string",
            "pattern": "^evt_[0-9a-f]{20}$",
            "description": "Unique per event; the same on every attempt and replay.",
        },
        "sequence": {
            "type": "integer",
            "minimum": 0,
            "description": "Grows with each event of a comment (the event's time in microseconds "
            "since the Unix epoch; below 2^53, so exact in a JavaScript number).",
        },
        "type": {"type": "string", "const": event_type},
        "site": {"type": "string", "description": "The site's name in modq."},
        "comment_id": {"type": "string", "description": "The site's own comment id."},
        "decision": {"type": "string", "enum": decisions},
        "status": {
            "type": "string",
            "enum": statuses,
            "description": "The comment's status after this event: publish it when `approved`, "
            "hide it otherwise.",
        },
        "labels": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The moderator's labels (`spam`, `abuse`, ...); empty when none.",
        },
        "at": {
            "type": "string",
            "format": "date-time",
            "description": "When the decision or undo was made (ISO-8601 UTC, milliseconds).",
        },
    }
    return {
        "type": "object",
        "description": about + " Fields may be added; ignore the ones you do not know.",
        "required": list(fields),
        "properties": fields,
    }


WEBHOOK_EVENT_SCHEMAS = {
    "comment.decided": _event_schema(
        "comment.decided",
        ["approve", "reject"],
        ["approved", "rejected"],
        "A moderator approved or rejected a comment (or overturned an earlier decision).",
    ),
    "comment.undone": _event_schema(
        "comment.undone",
        ["undo"],
        ["approved", "pending_review", "rejected"],
        "A moderator took back their latest decision within 15 seconds; `status` is the one "
        "the comment has again (`pending_review`: back in the queue).",
    ),
}


def _webhook(event_type: str, summary: str) -> dict:
    schema = WEBHOOK_EVENT_SCHEMAS[event_type]
    example = EXAMPLE_EVENT
    if event_type == "comment.undone":
        example = {
            **EXAMPLE_EVENT,
            "sequence": EXAMPLE_EVENT["sequence"] + 4_000_000,
            "type": "comment.undone",
            "decision": "undo",
            "status": "pending_review",
            "labels": [],
            "at": "2026-11-28T10:15:06.114Z",
        }
    return {
        "post": {
            "operationId": event_type.replace(".", "_"),
            "summary": summary,
            "description": _DELIVERY_HOW + "\n\n" + _SIGNATURE_HOW,
            "security": [],
            "parameters": _WEBHOOK_HEADERS,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": schema, "example": example}},
            },
            "responses": {
                "2XX": {"description": "Received; modq will not send this event again."},
                "default": {
                    "description": "Any other status, or none within 5 seconds: modq retries "
                    "with backoff, then keeps the event as a dead letter."
                },
            },
        }
    }


WEBHOOKS = {
    "comment.decided": _webhook(
        "comment.decided", "A moderator decided a comment; sent to the site's webhook URL."
    ),
    "comment.undone": _webhook(
        "comment.undone", "A moderator undid a decision; sent to the site's webhook URL."
    ),
}


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
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "perspectiveKey": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "key",
                    "description": "A modq ingest key in `?key=`, where Perspective clients put "
                    "theirs. Taken by the /perspective/v1alpha1 methods only.",
                },
                "perspectiveKeyHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Goog-Api-Key",
                    "description": "The same key in Google's header, as Google's client "
                    "libraries send it. Taken by the /perspective/v1alpha1 methods only.",
                },
            },
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
                                "decided": {
                                    "type": "object",
                                    "description": "With 409 `already_decided`: the decision "
                                    "the comment carries (`decision`, `moderator`, `at`, "
                                    "`labels`, `status`).",
                                },
                                "lease_holder": {
                                    "type": "string",
                                    "description": "With 409 `leased`: who holds the lease.",
                                },
                                "lease_expires_at": {"type": "string", "format": "date-time"},
                            },
                        }
                    },
                },
                "CommentIn": _COMMENT_IN,
                "CommentResult": _RESULT,
            },
        },
        "security": [{"bearer": []}],
        "webhooks": WEBHOOKS,
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
                            "400": _error(
                                "The body is not a JSON object with 'comments' holding 1 to 100 "
                                "comments, or the batch is larger than a rate limit ever allows "
                                "at once (`batch_over_rate_limit`, with `limit`). A bad comment "
                                "(a missing or wrongly typed field, an id repeated from an "
                                "earlier item: `duplicate_id`) is an error entry in `results` "
                                "(200), not a 400."
                            ),
                            "429": _RATE_LIMITED,
                        },
                    }
                },
                "/v1/comments/{comment_id}": {
                    "get": {
                        "operationId": "getComment",
                        "summary": "The stored result and current status of one comment.",
                        "parameters": [_COMMENT],
                        "responses": {
                            "200": {"description": "The result.", **_json(_ref("CommentResult"))},
                            "404": _error("No such comment on this site."),
                            **_READ_ERRORS,
                        },
                    },
                    "delete": {
                        "operationId": "deleteComment",
                        "summary": "Withdraw a comment the site deleted: its record and result, "
                        "its place in the review queue, its labeled example and its reader "
                        "reports are erased. Sending the id again later scores it as new.",
                        "parameters": [_COMMENT],
                        "responses": {
                            "204": {"description": "Withdrawn."},
                            "404": _error(
                                "No such comment on this site (a retry of a withdrawal that "
                                "was done gets this too)."
                            ),
                            **_READ_ERRORS,
                        },
                    },
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
                            "200": {
                                "description": "Ready: `status` is `ok`, or `degraded` when a "
                                "site's assigned model could not be loaded and another scores it "
                                "meanwhile (`checks.site_models` names them).",
                                **_json(
                                    {
                                        "type": "object",
                                        "required": ["status", "checks"],
                                        "properties": {
                                            "status": {
                                                "type": "string",
                                                "enum": ["ok", "degraded"],
                                            },
                                            "checks": {
                                                "type": "object",
                                                "properties": {
                                                    "model": {"type": "string"},
                                                    "redis": {"type": "string"},
                                                    "site_models": {
                                                        "type": "object",
                                                        "additionalProperties": {"type": "string"},
                                                    },
                                                },
                                            },
                                        },
                                    }
                                ),
                            },
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
