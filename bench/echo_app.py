"""The bare Flask JSON echo app the intake path is measured against.

Served under the same gunicorn settings as the service (``service/gunicorn_conf.py``) with
``bench.echo_app:create_app()``: it parses the JSON body and answers with it, and does nothing else.
"""

from __future__ import annotations

from flask import Flask, jsonify, request


def create_app() -> Flask:
    """A Flask app with ``POST /echo`` (answers the parsed body) and ``GET /healthz``."""
    app = Flask(__name__)
    app.json.ensure_ascii = False

    @app.post("/echo")
    def echo():
        return jsonify(request.get_json())

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    return app
