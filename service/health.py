"""Health checks for load balancers and orchestrators."""

from __future__ import annotations

import redis
from flask import Blueprint, jsonify

from service.extensions import get_services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def liveness():
    """Liveness: answers while the process can serve; checks nothing else."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readiness():
    """Readiness: Redis answers and a model is loaded. 503 names what is not ready."""
    services = get_services()
    checks = {"model": services.scorer.version}
    try:
        services.redis.ping()
        checks["redis"] = "ok"
    except redis.exceptions.RedisError as error:
        checks["redis"] = f"unavailable: {error.__class__.__name__}"
        response = jsonify({"status": "unavailable", "checks": checks})
        response.status_code = 503
        response.headers["Retry-After"] = "2"
        return response
    # A model assigned to a site that this process could not load: the site is scored by
    # another (named here) until it loads. Still ready: every host would fail the same way, and
    # taking them all out would stop intake instead of scoring with a fallback.
    failed = services.models.failed_loads()
    if failed:
        checks["site_models"] = {
            site: f"{version} not loaded; {services.models.scorer_now(site).version} scores it"
            for site, version in sorted(failed.items())
        }
        return jsonify({"status": "degraded", "checks": checks})
    return jsonify({"status": "ok", "checks": checks})
