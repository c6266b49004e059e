"""Health checks for load balancers and orchestrators."""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, jsonify

from service.extensions import get_services

bp = Blueprint("health", __name__)
log = logging.getLogger("modq.health")


def evicting_policies(connection: redis.Redis) -> set[str]:
    """The ``maxmemory-policy`` of Redis when it is not ``noeviction`` (one per node of a
    cluster); empty when it is, or when Redis does not say (unreachable, CONFIG disabled)."""
    try:
        answer = connection.config_get("maxmemory-policy")
    except redis.exceptions.RedisError:
        return set()
    answers = (
        answer.values() if answer and isinstance(next(iter(answer.values())), dict) else [answer]
    )
    found = {str(a.get("maxmemory-policy", "noeviction")) for a in answers if isinstance(a, dict)}
    return found - {"noeviction"}


def warn_if_redis_evicts(connection: redis.Redis) -> None:
    """Say at start when Redis may evict keys: modq's keys are its data, not a cache."""
    policies = evicting_policies(connection)
    if policies:
        log.warning(
            "redis maxmemory-policy is %s: a full Redis will evict queued comments, labels and "
            "models; set it to noeviction (README, Persistence)",
            ", ".join(sorted(policies)),
        )


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
