"""modq's HTTP service: comment intake, scoring decisions and the review queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from service.config import Settings

if TYPE_CHECKING:
    from model.scorer import Scorer


def create_app(
    settings: Settings | None = None,
    scorer: Scorer | None = None,
    connection: redis.Redis | None = None,
    proxies: int | None = None,
) -> Flask:
    """Assemble the Flask app.

    :param settings: defaults to the environment's (``Settings.from_env()``).
    :param scorer: the model to score with; defaults to ``MODQ_MODEL_PATH`` or the shipped model.
    :param connection: a Redis client; defaults to one for ``settings.redis_url``.
    :param proxies: trusted proxies in front; defaults to ``settings.trusted_proxies``
        (``MODQ_TRUSTED_PROXIES``).
    """
    from model.scorer import load_default_model, load_model
    from service import (
        errors,
        health,
        intake,
        logs,
        metrics,
        moderation_api,
        openapi,
        perspective,
        ui,
    )
    from service.extensions import Services
    from service.jsonio import FastJSONProvider

    settings = settings or Settings.from_env()
    if scorer is None:
        scorer = load_model(settings.model_path) if settings.model_path else load_default_model()

    app = Flask(__name__)
    proxies = settings.trusted_proxies if proxies is None else proxies
    if proxies:
        # The client address (login throttling, per-address rate limits, logs) and the scheme
        # (the session cookie's Secure flag) come from the trusted proxies' headers.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["MODQ_MAX_BATCH_BODY_BYTES"] = settings.max_batch_body_bytes
    app.json = FastJSONProvider(app)
    services = Services.build(settings, scorer, connection)
    app.extensions["modq"] = services
    services.models.start()  # the models promoted in the registry, switched to without restart
    health.warn_if_redis_evicts(services.redis)

    logs.init_app(app)
    metrics.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(intake.bp)
    moderation_api.init_app(app)
    ui.init_app(app)
    perspective.init_app(app)
    return app


def start_process_work(app: Flask) -> None:
    """Start what each serving process runs in the background: the model poller, after bringing
    the process's models up to date, and the webhook dispatcher.

    gunicorn calls this in each worker as it boots (``post_worker_init`` in
    ``service/gunicorn_conf.py``), so a quiet worker still delivers webhooks and serves the
    promoted models; under any other server the first request of a process starts them.
    """
    app.extensions["modq"].models.start_polling()
    if getattr(app.extensions["modq"].settings, "webhook_delivery", True):
        app.extensions["modq-webhooks"].start()
