"""The Perspective API's comment methods, served by modq's model under ``/perspective/v1alpha1``.

A client of Google's Perspective API (Coral Talk's toxicity filter, for one) switches to modq by
setting its endpoint to ``http://HOST:PORT/perspective/v1alpha1`` and its key to a modq ingest key.
Requests and responses follow Perspective's ``AnalyzeComment`` and ``SuggestCommentScore``; errors
follow Google's shape ``{"error": {"code", "message", "status", "details"}}`` with the messages
Perspective documents, because clients log and match on them.

Attributes are read from modq's two heads, ``abuse`` and ``spam`` (see :func:`attribute_score`).
``comments:analyze`` keeps nothing, whatever ``doNotStore`` says: scoring is not intake.
``comments:suggestscore`` keeps the suggestion as a labeled example, so a platform's moderation
feedback joins the retraining data. Each call of either method counts one against the site's key
and address rate limits, as one comment sent to intake does.
"""

from __future__ import annotations

import json
import logging
import math

import redis
from flask import Blueprint, Flask, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from model.language import detect_language
from model.text import strip_invisible
from service.auth import authenticate
from service.errors import ApiError, Forbidden, InvalidRequest, Unauthorized
from service.extensions import get_services
from service.intake import limit_rates
from service.labels import LabelStore
from service.payloads import json_body, primary_language
from service.perspective_discovery import VERSION, discovery_document
from service.perspective_spans import in_utf16_units, span_results
from service.ratelimits import RateLimited
from service.sites import Site, utcnow

log = logging.getLogger(__name__)

PREFIX = f"/perspective/{VERSION}"
bp = Blueprint("perspective", __name__, url_prefix=PREFIX)
# The discovery document lies beside the version, where Google's lies beside its APIs.
discovery = Blueprint("perspective_discovery", __name__)

SUPPORTED_LANGUAGES = ("en", "ko")
# Perspective's documented limit on comment.text ("Comment text too long.").
MAX_TEXT_BYTES = 20 * 1024
SCORE_TYPE = "PROBABILITY"
FEEDBACK_SOURCE = "perspective_feedback"
PRODUCTION_ATTRIBUTES = (
    "TOXICITY",
    "SEVERE_TOXICITY",
    "INSULT",
    "PROFANITY",
    "THREAT",
    "IDENTITY_ATTACK",
)
ATTRIBUTES = frozenset(
    (*PRODUCTION_ATTRIBUTES, *(f"{name}_EXPERIMENTAL" for name in PRODUCTION_ATTRIBUTES), "SPAM")
)
# Older Coral releases send the moderator's decision as the attribute name, with value 1.
DECISION_ATTRIBUTES = {"APPROVED": 0, "DELETED": 1}

_ERROR_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
# The google.rpc.Code name answered with each HTTP status, so that ``error.status`` always agrees
# with ``error.code``. Where google/rpc/code.proto maps a code to the status, that code is used
# (409 has two, ABORTED and ALREADY_EXISTS; ABORTED is the one for a conflict between writers).
# No code maps to 405, 413 or 415, so:
# - 405 is UNIMPLEMENTED, which is what grpc-gateway answers for a path served under another
#   HTTP method;
# - 413 is RESOURCE_EXHAUSTED, which is what gRPC answers for a message over the server's size
#   limit (the Perspective methods answer an over-size body as COMMENT_TOO_LONG instead, since
#   Google's clients retry on RESOURCE_EXHAUSTED);
# - 415 is UNIMPLEMENTED, because the method is not served for a body of that type, as 405 says
#   it is not served for that HTTP method.
# INVALID_ARGUMENT would say "fix the field", but a 405, 413 or 415 has no bad field, and clients
# that derive the HTTP status from the name would read it as 400. Any other status is UNKNOWN,
# which is gRPC's code for an HTTP status it cannot map.
_GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ABORTED",
    413: "RESOURCE_EXHAUSTED",
    415: "UNIMPLEMENTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_METHODS = ("comments:analyze", "comments:suggestscore")


def grpc_status(http_status: int) -> str:
    """The google.rpc.Code name Google's error shape pairs with ``http_status``."""
    return _GRPC_STATUS.get(http_status, "UNKNOWN")


class PerspectiveError(Exception):
    """An error answered in Google's shape.

    :param http_status: the HTTP status, repeated as ``error.code``; ``error.status`` is the
        google.rpc.Code name that goes with it (see :func:`grpc_status`).
    :param message: Perspective's wording where it documents one.
    :param details: entries of ``error.details``.
    :param retry_after: seconds, sent as ``Retry-After`` when given.
    """

    def __init__(
        self,
        http_status: int,
        message: str,
        details: list | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.http_status = http_status
        self.status = grpc_status(http_status)
        self.message = message
        self.details = details or []
        self.retry_after = retry_after

    def response(self):
        error: dict = {"code": self.http_status, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        response = jsonify({"error": error})
        response.status_code = self.http_status
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(self.retry_after)
        return response


def invalid_argument(
    message: str, error_type: str = "INVALID_REQUEST", **extra: object
) -> PerspectiveError:
    """A 400 INVALID_ARGUMENT carrying Perspective's ``errorType`` detail."""
    return PerspectiveError(
        400, message, [{"@type": _ERROR_TYPE, "errorType": error_type, **extra}]
    )


def init_app(app: Flask) -> None:
    """Serve the Perspective methods and their discovery document on ``app``."""
    app.register_blueprint(bp)
    app.register_blueprint(discovery)


@bp.errorhandler(Exception)
@discovery.errorhandler(Exception)
def handle_error(error: Exception):
    """Answer every failure under the prefix in Google's error shape, never as HTML."""
    if isinstance(error, PerspectiveError):
        return error.response()
    if isinstance(error, InvalidRequest):  # from json_body(): not UTF-8, not JSON, too deep
        return invalid_argument(f"Invalid JSON payload received. {error.message}").response()
    if isinstance(error, ApiError):  # 415 from json_body(), 503
        retry_after = getattr(error, "retry_after", None)
        return PerspectiveError(error.status, error.message, retry_after=retry_after).response()
    if isinstance(error, HTTPException):
        status = error.code or 500
        if status == 413:
            # A body this large holds a comment far over the 20 KiB Perspective takes: answered as
            # that, since RESOURCE_EXHAUSTED tells Google's clients to retry later.
            limit = request.max_content_length
            return invalid_argument(
                f"Comment text too long (the request body is over {limit} bytes).",
                "COMMENT_TOO_LONG",
            ).response()
        return PerspectiveError(status, error.description or "").response()
    if isinstance(error, redis.exceptions.RedisError):
        log.error("redis unavailable: %s", error.__class__.__name__)
        return PerspectiveError(
            503, "The service is currently unavailable.", retry_after=2
        ).response()
    log.exception("unhandled error in perspective API")
    return PerspectiveError(500, "Internal error encountered.").response()


@bp.post("/comments:analyze")
def analyze_comment():
    """Score a comment for the requested attributes, as Perspective's ``AnalyzeComment``.

    Nothing is written to Redis, whether or not ``doNotStore`` is set; a ``doNotStore`` request
    is only counted (``modq_unstored_analyses`` in ``/metrics``).

    :raise 400: empty or over-long text, no or unknown attributes, an unsupported score type or
        language, or a wrongly typed field.
    :raise 401, 403: see :func:`authenticated_site`.
    :raise 429: see :func:`count_call`.
    """
    site = authenticated_site()
    body = request_body()
    text = comment_text(body)
    check_context(body)
    drop_unsupported = bool(_optional(body, "dropUnsupportedAttributes", bool, "TYPE_BOOL"))
    requested = requested_attributes(body, drop_unsupported)
    _optional(body, "doNotStore", bool, "TYPE_BOOL")
    _optional(body, "spanAnnotations", bool, "TYPE_BOOL")
    _optional(body, "communityId", str, "TYPE_STRING")
    _optional(body, "sessionId", str, "TYPE_STRING")
    client_token = _optional(body, "clientToken", str, "TYPE_STRING")
    languages = request_languages(body)
    count_call(site)

    cleaned = strip_invisible(text)
    detected = detect_language(cleaned)
    if requested:
        try:
            check_language_support(next(iter(requested)), languages, detected)
        except PerspectiveError:
            if not drop_unsupported:
                raise
            requested = {}  # no attribute is supported in this language: all are dropped

    scorer = get_services().scorer_for(site.name)
    language = primary_language(languages[0]) if languages else detected
    summary = scorer.score(cleaned, language)
    spans = None
    if body.get("spanAnnotations") and requested:
        spans = in_utf16_units(text, span_results(scorer, text, language, summary))

    scores: dict = {}
    for name, threshold in requested.items():
        value = attribute_score(name, summary.scores)
        if threshold is not None and value < threshold:
            continue  # Perspective leaves out scores below the requested threshold
        entry: dict = {}
        if spans is not None:
            entry["spanScores"] = [
                {"begin": begin, "end": end, "score": _score(attribute_score(name, result.scores))}
                for begin, end, result in spans
            ]
        entry["summaryScore"] = _score(value)
        scores[name] = entry

    if body.get("doNotStore"):
        metrics = current_app.extensions.get("modq.metrics")
        if metrics is not None:
            metrics.unstored_analyses.inc()

    answer: dict = {}
    if scores:
        answer["attributeScores"] = scores
    answer["languages"] = languages or [detected]
    answer["detectedLanguages"] = [detected]
    if client_token is not None:
        answer["clientToken"] = client_token
    return jsonify(answer)


@bp.post("/comments:suggestscore")
def suggest_comment_score():
    """Keep a suggested score as a labeled example of the key's site (``SuggestCommentScore``).

    A score of 0.5 or more on an abuse attribute (TOXICITY, INSULT, ...) labels the comment
    abusive, on SPAM spammy. ``clientToken`` ``comment:ID`` names the comment, so a later
    suggestion for the same comment replaces the earlier one; it is kept as ``perspective:ID``,
    apart from a moderator's decision on a modq comment that happens to have the id ID.

    :raise 400: empty or over-long text, no or unknown attributes, a wrongly typed field, a
        score outside 0..1.
    :raise 401, 403: see :func:`authenticated_site`.
    :raise 429: see :func:`count_call`.
    """
    site = authenticated_site()
    body = request_body()
    text = comment_text(body)
    check_context(body)
    labels = suggested_labels(body)
    languages = request_languages(body)
    community_id = _optional(body, "communityId", str, "TYPE_STRING")
    client_token = _optional(body, "clientToken", str, "TYPE_STRING")
    count_call(site)

    services = get_services()
    cleaned = strip_invisible(text)
    # Clients fill `languages` from their UI locale (Coral sends "en" for any locale it does not
    # map), so the example records the language of the text itself when it can be told.
    detected = detect_language(cleaned)
    language = detected if detected != "und" or not languages else primary_language(languages[0])
    result = services.scorer_for(site.name).score(cleaned, language)
    example = LabelStore.example(
        site=site.name,
        text=text,
        labels=labels,
        decided_at=utcnow(),
        source=FEEDBACK_SOURCE,
        language=language,
        comment_id=feedback_comment_id(client_token),
        model_scores={k: round(v, 6) for k, v in result.scores.items()},
        model_version=result.model_version,
        community_id=community_id,
    )
    services.labels.record(example)
    return jsonify({"clientToken": client_token} if client_token is not None else {})


@discovery.get("/perspective/$discovery/rest")
def discovery_rest():
    """The methods' discovery document (``?version=v1alpha1``, the default), for clients built with
    Google's API client library (``discovery.build(..., discoveryServiceUrl=...)``).

    :raise 404: another version.
    """
    version = request.args.get("version", VERSION)
    if version != VERSION:
        raise PerspectiveError(
            404, f"No discovery document for version {version!r}; modq serves {VERSION!r}."
        )
    return jsonify(discovery_document(f"{request.url_root}perspective/"))


@bp.route("", defaults={"rest": ""}, methods=_ALL_METHODS)
@bp.route("/<path:rest>", methods=_ALL_METHODS)
def unknown_method(rest: str):
    """Answer paths and methods that are not Perspective's in Google's shape too."""
    if rest in _METHODS:
        failure = PerspectiveError(405, f"{request.method} is not allowed; {rest} takes POST.")
        response = failure.response()
        response.headers["Allow"] = "POST"
        return response
    raise PerspectiveError(
        404,
        f"No Perspective method at {request.path}; modq serves {PREFIX}/comments:analyze and "
        f"{PREFIX}/comments:suggestscore.",
    )


def authenticated_site() -> Site:
    """The site of the ingest key in ``?key=`` (as Perspective clients send it) or a bearer header.

    Sets ``g.api_key`` and ``g.site``, as :func:`service.auth.require_key` does, for the rate
    limits. Statuses follow Google's API front end: no key is 403 PERMISSION_DENIED, a bad ``key``
    parameter 400 INVALID_ARGUMENT (reason API_KEY_INVALID), a bad bearer credential
    401 UNAUTHENTICATED, a key of another role 403 PERMISSION_DENIED.
    """
    # Google's front end takes the key in ``?key=`` or in the X-Goog-Api-Key header (which
    # Google's client libraries send when given an API key).
    query_key = (
        request.args.get("key", "").strip() or request.headers.get("X-Goog-Api-Key", "").strip()
    )
    header = request.headers.get("Authorization")
    bearer = None
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            bearer = value.strip()
    secret = query_key or bearer
    if not secret:
        if header is not None:
            raise _unauthenticated("The Authorization header must be 'Bearer <key>'.")
        raise PerspectiveError(403, "The request is missing a valid API key.")
    try:
        g.api_key, g.site = authenticate(secret, "ingest")
    except Forbidden as error:
        raise PerspectiveError(403, error.message) from None
    except Unauthorized as error:
        if query_key:
            raise PerspectiveError(
                400,
                "API key not valid. Please pass a valid API key.",
                [
                    {
                        "@type": _ERROR_INFO,
                        "reason": "API_KEY_INVALID",
                        "domain": "modq",
                        "metadata": {"detail": error.message},
                    }
                ],
            ) from None
        raise _unauthenticated(error.message) from None
    return g.site


def count_call(site: Site) -> None:
    """Count this call against the site's key and address rate limits, as intake counts a comment.

    Called once a request is read and valid, before any scoring, as intake does, so a malformed
    request costs nothing and a refused one costs no scoring.

    :raise 429: RESOURCE_EXHAUSTED, as Google answers a call over quota, with ``Retry-After`` and
        the same delay in a ``google.rpc.RetryInfo`` detail.
    """
    try:
        limit_rates(site, 1)
    except RateLimited as error:
        raise PerspectiveError(
            429,
            error.message,
            [
                {"@type": _ERROR_INFO, "reason": "RATE_LIMIT_EXCEEDED", "domain": "modq"},
                {"@type": _RETRY_INFO, "retryDelay": f"{error.retry_after}s"},
            ],
            retry_after=error.retry_after,
        ) from None


def _unauthenticated(detail: str) -> PerspectiveError:
    return PerspectiveError(
        401,
        "Request had invalid authentication credentials.",
        [
            {
                "@type": _ERROR_INFO,
                "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                "domain": "modq",
                "metadata": {"detail": detail},
            }
        ],
    )


def request_body() -> dict:
    """The JSON object sent, its field names in the camelCase this module reads; an empty body is
    an empty request, as in protobuf."""
    if not request.get_data(cache=True):
        return {}
    body = json_body()
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a \ud800 escape decodes to a lone surrogate, which no text has
        raise invalid_argument(
            "Invalid JSON payload received. A string holds a lone UTF-16 surrogate escape."
        ) from None
    return camel_case_fields(body)


# Fields whose values are maps keyed by attribute name: their keys ("SEVERE_TOXICITY") are data,
# not field names, and stay as sent.
_ATTRIBUTE_MAPS = frozenset({"requestedAttributes", "attributeScores"})


def camel_case_fields(message: dict, where: str = "") -> dict:
    """``message`` with snake_case field names (``requested_attributes``) in camelCase.

    Google's JSON parser takes a proto field under either name, and clients generated from the
    proto (or written by hand from its docs) send the snake_case one; read only as camelCase,
    such a field would be silently ignored.

    :raise 400: one field sent under both names.
    """
    fields: dict = {}
    sent_as: dict[str, str] = {}
    for name, value in message.items():
        head, *rest = name.split("_")
        camel = head + "".join(part[:1].upper() + part[1:] for part in rest)
        if camel in fields:
            raise invalid_argument(
                f"Invalid JSON payload received. Field '{where}{camel}' is given twice "
                f"(as '{where}{sent_as[camel]}' and as '{where}{name}')."
            )
        sent_as[camel] = name
        if camel in _ATTRIBUTE_MAPS and isinstance(value, dict):
            value = {
                attribute: camel_case_fields(options, f"{where}{camel}.{attribute}.")
                if isinstance(options, dict)
                else options
                for attribute, options in value.items()
            }
        elif isinstance(value, dict):
            value = camel_case_fields(value, f"{where}{camel}.")
        elif isinstance(value, list):
            value = [
                camel_case_fields(item, f"{where}{camel}[{index}].")
                if isinstance(item, dict)
                else item
                for index, item in enumerate(value)
            ]
        fields[camel] = value
    return fields


def comment_text(body: dict) -> str:
    """``comment.text``, checked the way Perspective checks it."""
    comment = _optional(body, "comment", dict, "TYPE_MESSAGE") or {}
    text = comment.get("text")
    if text is not None and not isinstance(text, str):
        raise _invalid_value("comment.text", "TYPE_STRING", text)
    text_type = comment.get("type")
    if text_type not in (None, "PLAIN_TEXT", "TEXT_TYPE_UNSPECIFIED"):
        if text_type == "HTML":
            raise invalid_argument("Currently, only 'PLAIN_TEXT' comments are supported")
        raise invalid_argument("Unknown text type")
    if not text or not strip_invisible(text).strip():
        raise invalid_argument("Comment must be non-empty.", "COMMENT_EMPTY")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise invalid_argument("Comment text too long.", "COMMENT_TOO_LONG")
    return text


def check_context(body: dict) -> None:
    """Accept ``context`` (unused for scoring, as in Perspective), refusing the one bad form."""
    context = _optional(body, "context", dict, "TYPE_MESSAGE")
    if context and context.get("entries") and context.get("articleAndParentComment"):
        raise invalid_argument(
            "Context can have either entries or article_and_parent_comment, but both fields "
            "were populated."
        )


def requested_attributes(body: dict, drop_unsupported: bool = False) -> dict[str, float | None]:
    """Attribute name as requested -> its ``scoreThreshold``, in request order.

    :param drop_unsupported: ``dropUnsupportedAttributes``: attributes modq does not score are
        left out (the answer may then hold none) instead of refused.
    """
    requested = _optional(body, "requestedAttributes", dict, "TYPE_MESSAGE")
    if not requested:
        raise invalid_argument("Missing requested_attributes", "NO_REQUESTED_ATTRIBUTES")
    thresholds: dict[str, float | None] = {}
    # Names are matched whatever their case; one attribute under many spellings would multiply
    # the answer (span scores included) without limit, so each may be requested once.
    spelled: dict[str, str] = {}
    for name, options in requested.items():
        if name.upper() not in ATTRIBUTES:
            if drop_unsupported:
                continue
            raise invalid_argument(f"Unknown requested attribute: {name}")
        first = spelled.setdefault(name.upper(), name)
        if first != name:
            raise invalid_argument(f"Attribute {name.upper()} is requested twice: {first}, {name}")
        where = f"requestedAttributes.{name}"
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise _invalid_value(where, "TYPE_MESSAGE", options)
        score_type = options.get("scoreType")
        if score_type not in (None, SCORE_TYPE, "SCORE_TYPE_UNSPECIFIED"):
            raise invalid_argument(
                f"Requested score type {score_type} is not supported by attribute {name}"
            )
        threshold = options.get("scoreThreshold")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not math.isfinite(threshold)
        ):
            raise _invalid_value(f"{where}.scoreThreshold", "TYPE_FLOAT", threshold)
        thresholds[name] = threshold
    return thresholds


def request_languages(body: dict) -> list[str]:
    """``languages`` as sent (an empty list means none, as in protobuf)."""
    languages = _optional(body, "languages", list, "TYPE_STRING") or []
    for index, language in enumerate(languages):
        if not isinstance(language, str) or not language.strip():
            raise _invalid_value(f"languages[{index}]", "TYPE_STRING", language)
    return languages


def check_language_support(attribute: str, languages: list[str], detected: str) -> None:
    """Refuse languages modq does not score, with Perspective's message for the first attribute.

    :raise 400: a requested language other than en or ko; or, with no languages requested, text
        whose language cannot be told or is neither en nor ko.
    """
    if languages:
        if all(primary_language(code) in SUPPORTED_LANGUAGES for code in languages):
            return
        raise invalid_argument(
            f"Attribute {attribute} does not support request languages: {', '.join(languages)}",
            "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
            languageNotSupportedByAttributeError={
                "requestedLanguages": languages,
                "attribute": attribute,
            },
        )
    if detected == "und":
        raise invalid_argument("Unable to detect language", "LANGUAGE_DETECTION_FAILED")
    if detected not in SUPPORTED_LANGUAGES:
        raise invalid_argument(
            f"Attribute {attribute} does not support request languages: {detected}",
            "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
            languageNotSupportedByAttributeError={
                "detectedLanguages": [detected],
                "attribute": attribute,
            },
        )


def attribute_score(attribute: str, scores: dict[str, float]) -> float:
    """A Perspective attribute's probability from modq's category probabilities.

    SPAM is the spam head. The others come from the abuse head, since modq has no separate
    insult, threat, profanity or identity heads: a head named after the attribute (``insult``)
    is used if a model has one, else TOXICITY, INSULT, PROFANITY, THREAT and IDENTITY_ATTACK are
    the abuse probability itself and SEVERE_TOXICITY is its square, lower everywhere in (0, 1)
    and in the same order. ``*_EXPERIMENTAL`` names read the same as their production names.
    """
    base = attribute.upper().removesuffix("_EXPERIMENTAL")
    head = base.lower()
    if head in scores:
        return scores[head]
    abuse = scores["abuse"]
    return abuse * abuse if base == "SEVERE_TOXICITY" else abuse


def suggested_labels(body: dict) -> dict[str, int]:
    """Labels (0 or 1 per category) from a suggestion's ``attributeScores``.

    A missing ``summaryScore.value`` is 0, as protobuf leaves zeros out; a suggestion with span
    scores only counts its highest span.
    """
    suggested = _optional(body, "attributeScores", dict, "TYPE_MESSAGE")
    if not suggested:
        raise invalid_argument("Missing attribute_scores")
    labels: dict[str, int] = {}
    for name, entry in suggested.items():
        where = f"attributeScores.{name}"
        if not isinstance(entry, dict):
            raise _invalid_value(where, "TYPE_MESSAGE", entry)
        values = [_suggested_value(entry.get("summaryScore"), f"{where}.summaryScore")]
        for index, span in enumerate(entry.get("spanScores") or []):
            if not isinstance(span, dict):
                raise _invalid_value(f"{where}.spanScores[{index}]", "TYPE_MESSAGE", span)
            values.append(_suggested_value(span.get("score"), f"{where}.spanScores[{index}].score"))
        value = max(values)
        key = name.upper()
        if key in DECISION_ATTRIBUTES:
            abusive = DECISION_ATTRIBUTES[key] if value >= 0.5 else 1 - DECISION_ATTRIBUTES[key]
            labels["abuse"] = max(labels.get("abuse", 0), abusive)
        elif key in ATTRIBUTES:
            category = "spam" if key == "SPAM" else "abuse"
            labels[category] = max(labels.get(category, 0), int(value >= 0.5))
        else:
            raise invalid_argument(f"Unknown requested attribute: {name}")
    return labels


def feedback_comment_id(client_token: str | None) -> str | None:
    """The example's comment id for a ``comment:ID`` client token (Coral's form), else None.

    The ID is the platform's, not one modq's intake gave, so it is kept in the namespace of
    Perspective feedback (see :meth:`LabelStore.perspective_comment_id`).
    """
    if client_token and client_token.startswith("comment:"):
        client_id = client_token.removeprefix("comment:").strip()
        return LabelStore.perspective_comment_id(client_id) if client_id else None
    return None


def _suggested_value(score: object, where: str) -> float:
    if score is None:
        return 0.0
    if not isinstance(score, dict):
        raise _invalid_value(where, "TYPE_MESSAGE", score)
    value = score.get("value", 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid_value(f"{where}.value", "TYPE_FLOAT", value)
    if not 0 <= value <= 1:
        # A suggested score is a probability, as Perspective's scores are; 5 is not "very toxic"
        # but a client bug, and keeping it as a label would hide that.
        raise _invalid_value(f"{where}.value", "TYPE_FLOAT", value, "a score is from 0 to 1")
    return float(value)


def _score(value: float) -> dict:
    return {"value": round(value, 6), "type": SCORE_TYPE}


def _optional(body: dict, field: str, kind: type, proto_type: str):
    value = body.get(field)
    if value is not None and not isinstance(value, kind):
        raise _invalid_value(field, proto_type, value)
    return value


def _invalid_value(
    where: str, proto_type: str, value: object, reason: str | None = None
) -> PerspectiveError:
    """Google's message for a bad field value, with ``reason`` after it when the type is right."""
    shown = json.dumps(value, ensure_ascii=False)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    message = f"Invalid value at '{where}' ({proto_type}), {shown}"
    return invalid_argument(f"{message}: {reason}" if reason else message)
