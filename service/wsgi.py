"""The WSGI application for gunicorn, ``service.wsgi:app``.

The only module that builds the app when imported: gunicorn imports it once in the master
(``preload_app``), so the model is loaded (and its per-word cache filled) once and the workers
share it copy-on-write.
"""

from __future__ import annotations

from service import create_app

app = create_app()
app.extensions["modq"].scorer.warm()
