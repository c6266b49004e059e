"""Reading and checking request bodies, with errors that name the offending field."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from service.errors import InvalidRequest, UnsupportedContentType

MAX_ID_LENGTH = 256
MAX_METADATA_BYTES = 2048
MAX_NAME_LENGTH = 256
MAX_LANGUAGE_LENGTH = 16
MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 64
# A language tag as BCP 47 writes it ("en", "EN", "en-US", "en_GB", "zh-Hant-TW").
_LANGUAGE_TAG_RE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


def _check_depth(value: object, limit: int = MAX_JSON_DEPTH) -> None:
    # json.loads turns extreme nesting into RecursionError; this bounds what handlers walk.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise InvalidRequest(f"JSON nested deeper than {limit} levels.")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    # 1e999 parses to infinity, which JSON cannot hold either.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range for a number")
    return value


def _bounded_int(text: str) -> int:
    # Python refuses to read integers of over 4,300 digits with a message about its own
    # settings; no field here takes a number anywhere near this long.
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        digits = len(text.lstrip("-"))
        raise ValueError(f"a number of {digits} digits is longer than any field takes")
    return int(text)


def _body_bytes() -> bytes:
    """The raw body, refused with 413 when it is over the limit however it was sent.

    A body with ``Content-Length`` over the limit is refused by Werkzeug before it is read. A
    chunked body has no length up front; Werkzeug stops reading it at the limit, so one more
    byte is read from the server's stream to tell a body of exactly the limit from a longer one,
    which would otherwise be parsed cut short.
    """
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if (
        limit is not None
        and len(raw) >= limit
        and request.content_length is None
        and request.environ.get("wsgi.input_terminated")
        and request.environ["wsgi.input"].read(1)
    ):
        raise RequestEntityTooLarge()
    return raw


def _check_content_type() -> None:
    # A missing Content-Type is read as JSON: the body is JSON whatever the client forgot to say.
    mimetype = request.mimetype
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedContentType(
            f"Content-Type {mimetype!r} is not JSON; send the body as application/json."
        )


def json_value() -> object:
    """The request body as a JSON value of any type (object, array, ...).

    :raise 400: the body is empty, not UTF-8, not JSON (``NaN`` and ``Infinity`` included),
        nested deeper than ``MAX_JSON_DEPTH`` or holds a number of more than ``MAX_INT_DIGITS``
        digits.
    :raise 413: the body is over the configured limit, with or without ``Content-Length``.
    :raise 415: the ``Content-Type`` names a type other than JSON.
    """
    _check_content_type()
    raw = _body_bytes()
    if not raw:
        raise InvalidRequest("Request body is empty; send a JSON object.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"Request body is not valid UTF-8 (byte {error.start}).") from None
    try:
        body = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except RecursionError:
        raise InvalidRequest(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.") from None
    except ValueError as error:
        raise InvalidRequest(f"Request body is not valid JSON: {error}.") from None
    _check_depth(body)
    return body


def json_body() -> dict:
    """The request body as a JSON object; ``json_value``'s errors, and 400 for another type."""
    body = json_value()
    if not isinstance(body, dict):
        raise InvalidRequest(f"Request body must be a JSON object, got {_type_name(body)}.")
    return body


def _type_name(value: object) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def string_field(
    body: dict, name: str, where: str, required: bool, max_length: int | None
) -> str | None:
    """Field ``name`` of ``body``: None when absent (400 when ``required``), else text.

    :raise 400: not a string, longer than ``max_length``, or holding a lone surrogate; the
        message names ``where`` + ``name``.
    """
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"Field '{where}{name}' is required.", field=f"{where}{name}")
        return None
    if not isinstance(value, str):
        raise InvalidRequest(
            f"Field '{where}{name}' must be a string, got {_type_name(value)}.",
            field=f"{where}{name}",
        )
    if max_length is not None and len(value) > max_length:
        raise InvalidRequest(
            f"Field '{where}{name}' is longer than {max_length} characters.", field=f"{where}{name}"
        )
    if not is_unicode_text(value):
        raise InvalidRequest(
            f"Field '{where}{name}' holds a lone UTF-16 surrogate (an escape from \\ud800 to "
            "\\udfff without its pair), which is not a character; send valid Unicode text.",
            field=f"{where}{name}",
        )
    return value


def echoed_id(raw: object, *names: str) -> str | None:
    """The id a batch item's result can repeat: the first of ``names`` in ``raw`` that is text
    a response can carry, else None (the item's place in the results still tells which it was)."""
    if not isinstance(raw, dict):
        return None
    for name in names:
        value = raw.get(name)
        if value is not None:
            ok = isinstance(value, str) and len(value) <= MAX_ID_LENGTH and is_unicode_text(value)
            return value if ok else None
    return None


def is_unicode_text(value: str) -> bool:
    """Whether ``value`` can be written as UTF-8: JSON's ``\\ud800`` escapes decode to lone
    surrogates, which Python strings hold but no response, Redis command or hash can carry."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_language_tag(value: str) -> bool:
    """Whether ``value`` reads as a language tag ("en", "EN", "en-US", "en_GB", "zh-Hant-TW")."""
    return _LANGUAGE_TAG_RE.fullmatch(value.strip()) is not None


def primary_language(code: str) -> str:
    """``en`` for ``en``, ``EN``, ``en-US`` or ``en_GB``."""
    return code.strip().replace("_", "-").split("-")[0].lower()


@dataclass(frozen=True)
class CommentIn:
    """A comment as a site sends it."""

    id: str
    text: str
    article_id: str | None
    author: dict | None
    language: str | None
    metadata: dict


def parse_comment(body: object, where: str = "") -> CommentIn:
    """Check one comment object; ``where`` prefixes field names in errors (``comments[3].``).

    :raise 400: a required field is missing or a field has the wrong type or size.
    """
    if not isinstance(body, dict):
        raise InvalidRequest(
            f"'{where.rstrip('.') or 'body'}' must be an object, got {_type_name(body)}."
        )
    comment_id = string_field(body, "id", where, required=True, max_length=MAX_ID_LENGTH)
    if not comment_id or not comment_id.isprintable():
        raise InvalidRequest(
            f"Field '{where}id' must be a non-empty string of printable characters.",
            field=f"{where}id",
        )
    text = string_field(body, "text", where, required=True, max_length=None)
    article_id = string_field(body, "article_id", where, required=False, max_length=MAX_ID_LENGTH)
    language = string_field(body, "language", where, required=False, max_length=MAX_LANGUAGE_LENGTH)
    if language is not None and language.strip():
        if not is_language_tag(language):
            raise InvalidRequest(
                f"Field '{where}language' is {language!r}, not a language tag; send one such "
                "as 'en', 'ko' or 'en-US', or leave it out to have it detected.",
                field=f"{where}language",
            )
        language = primary_language(language)
    author = body.get("author")
    if author is not None:
        if not isinstance(author, dict):
            raise InvalidRequest(
                f"Field '{where}author' must be an object with 'id' and 'name', got {_type_name(author)}.",
                field=f"{where}author",
            )
        author_id = string_field(
            author, "id", f"{where}author.", required=False, max_length=MAX_ID_LENGTH
        )
        name = string_field(
            author, "name", f"{where}author.", required=False, max_length=MAX_NAME_LENGTH
        )
        author = {"id": author_id, "name": name}
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise InvalidRequest(
            f"Field '{where}metadata' must be an object, got {_type_name(metadata)}.",
            field=f"{where}metadata",
        )
    else:
        written = json.dumps(metadata, ensure_ascii=False)
        if not is_unicode_text(written):
            raise InvalidRequest(
                f"Field '{where}metadata' holds a lone UTF-16 surrogate (an escape from \\ud800 "
                "to \\udfff without its pair), which is not a character; send valid Unicode.",
                field=f"{where}metadata",
            )
        if len(written.encode()) > MAX_METADATA_BYTES:
            raise InvalidRequest(
                f"Field '{where}metadata' is larger than {MAX_METADATA_BYTES} bytes as JSON.",
                field=f"{where}metadata",
            )
    return CommentIn(comment_id, text, article_id, author, language or None, metadata)
