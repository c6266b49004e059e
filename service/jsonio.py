"""JSON out, fast: orjson for what the intake path writes (responses, stored records, log lines).

orjson writes UTF-8 without escaping, compact, keys in insertion order: the same JSON the
standard library writes with ``ensure_ascii=False`` and compact separators. A value orjson
refuses (a string holding a lone surrogate, an integer beyond 64 bits) is written by the standard
library instead, so nothing that was accepted fails on the way out. Requests are still parsed by
the standard library, which is what decides what counts as valid JSON here.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider


def dumps_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )


def dumps(value: Any) -> str:
    """``value`` as compact JSON text."""
    return dumps_bytes(value).decode("utf-8", "surrogatepass")


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with responses written by orjson (see the module docstring)."""

    ensure_ascii = False
    sort_keys = False

    def response(self, *args: Any, **kwargs: Any) -> Response:
        value = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(value, default=self.default, option=orjson.OPT_APPEND_NEWLINE)
        except TypeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)
