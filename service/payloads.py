"""Reading and checking request bodies, with errors that name the offending field."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import request

from service.errors import InvalidRequest

MAX_ID_LENGTH = 256
MAX_METADATA_BYTES = 2048
MAX_NAME_LENGTH = 256
MAX_LANGUAGE_LENGTH = 16
MAX_JSON_DEPTH = 32


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


def json_body() -> dict:
    """The request body as a JSON object.

    :raise 400: the body is empty, not UTF-8, not JSON or not an object.
    :raise 413: the body is over the configured limit (raised by Werkzeug).
    """
    raw = request.get_data(cache=True)
    if not raw:
        raise InvalidRequest("Request body is empty; send a JSON object.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"Request body is not valid UTF-8 (byte {error.start}).") from None
    try:
        body = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InvalidRequest(f"Request body is not valid JSON: {error}.") from None
    if not isinstance(body, dict):
        raise InvalidRequest(f"Request body must be a JSON object, got {_type_name(body)}.")
    _check_depth(body)
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


def _string(
    body: dict, name: str, where: str, required: bool, max_length: int | None
) -> str | None:
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
    return value


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
    comment_id = _string(body, "id", where, required=True, max_length=MAX_ID_LENGTH)
    if not comment_id or not comment_id.isprintable():
        raise InvalidRequest(
            f"Field '{where}id' must be a non-empty string of printable characters.",
            field=f"{where}id",
        )
    text = _string(body, "text", where, required=True, max_length=None)
    article_id = _string(body, "article_id", where, required=False, max_length=MAX_ID_LENGTH)
    language = _string(body, "language", where, required=False, max_length=MAX_LANGUAGE_LENGTH)
    author = body.get("author")
    if author is not None:
        if not isinstance(author, dict):
            raise InvalidRequest(
                f"Field '{where}author' must be an object with 'id' and 'name', got {_type_name(author)}.",
                field=f"{where}author",
            )
        author_id = _string(
            author, "id", f"{where}author.", required=False, max_length=MAX_ID_LENGTH
        )
        name = _string(
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
    elif len(json.dumps(metadata, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise InvalidRequest(
            f"Field '{where}metadata' is larger than {MAX_METADATA_BYTES} bytes as JSON.",
            field=f"{where}metadata",
        )
    return CommentIn(comment_id, text, article_id, author, language or None, metadata)
