"""Prometheus metrics at ``/metrics``.

Under gunicorn every worker is its own process, so counters are kept in prometheus-client's
multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set (``service/gunicorn_conf.py`` sets it
for every server) and summed at scrape time. Queue depth and age, and the webhook outboxes, are
read from Redis when scraped, so they are the same whichever worker answers.
"""

from __future__ import annotations

import collections
import logging
import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, g, has_app_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from service.sites import Site

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class QueueCollector(Collector):
    """Per site, read at scrape time: queue depth and oldest item age, webhook events waiting and
    dead, and the model serving it; and the default model."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        services = self.app.extensions["modq"]
        try:
            names = services.sites.names()
        except Exception as error:  # a scrape must still answer when Redis is down
            log.warning("site metrics unavailable: %s", error.__class__.__name__)
            names = []
        yield from self._queues(services, names)
        yield from self._webhooks(services, names)
        yield from self._models(services, names)

    def _queues(self, services, names: list[str]):
        depth = GaugeMetricFamily(
            "modq_queue_depth", "Comments waiting for review.", labels=["site"]
        )
        age = GaugeMetricFamily(
            "modq_queue_oldest_age_seconds", "Age of the oldest comment waiting.", labels=["site"]
        )
        try:
            now = time.time()
            for site in names:
                pending, oldest = services.queue_summary(site)
                depth.add_metric([site], pending)
                age.add_metric([site], max(0.0, now - oldest) if oldest else 0.0)
        except Exception as error:  # a scrape must still answer when Redis is down
            log.warning("queue metrics unavailable: %s", error.__class__.__name__)
        yield depth
        yield age

    def _webhooks(self, services, names: list[str]):
        pending = GaugeMetricFamily(
            "modq_webhook_pending",
            "Webhook events waiting for delivery or a retry.",
            labels=["site"],
        )
        dead = GaugeMetricFamily(
            "modq_webhook_dead_letters",
            "Webhook events that failed every attempt, until replayed.",
            labels=["site"],
        )
        try:
            pipe = services.redis.pipeline(transaction=False)
            for site in names:
                pipe.hlen(services.keys.webhook_events(site))
                pipe.hlen(services.keys.webhook_dead(site))
            counts = pipe.execute()
            for index, site in enumerate(names):
                pending.add_metric([site], counts[2 * index])
                dead.add_metric([site], counts[2 * index + 1])
        except Exception as error:
            log.warning("webhook metrics unavailable: %s", error.__class__.__name__)
        yield pending
        yield dead

    def _models(self, services, names: list[str]):
        model = GaugeMetricFamily(
            "modq_model_info", "The default model in use.", labels=["version"]
        )
        model.add_metric([services.scorer.version], 1.0)
        serving = GaugeMetricFamily(
            "modq_site_model_info",
            "The model that scores each site's comments in this process.",
            labels=["site", "version"],
        )
        failed = GaugeMetricFamily(
            "modq_model_load_failed",
            "Promoted models this process could not load (it serves the previous one).",
            labels=["scope", "version"],
        )
        for scope, version in sorted(services.models.failed_loads().items()):
            failed.add_metric([scope, version], 1.0)
        try:
            for site in names:
                serving.add_metric([site, services.scorer_for(site).version], 1.0)
        except Exception as error:
            log.warning("model metrics unavailable: %s", error.__class__.__name__)
        yield model
        yield serving
        yield failed


class Metrics:
    """The service's own metrics; one instance per app."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.requests = Counter(
            "modq_http_requests",
            "HTTP requests by endpoint and status.",
            ["endpoint", "method", "status"],
            registry=None,
        )
        self.latency = Histogram(
            "modq_http_request_duration_seconds",
            "HTTP request latency by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        self.decisions = Counter(
            "modq_decisions",
            "Decisions by outcome, category and source (model or moderator).",
            ["decision", "category", "source"],
            registry=None,
        )
        self.unstored_analyses = Counter(
            "modq_unstored_analyses",
            "Texts scored with doNotStore: counted, never kept.",
            registry=None,
        )
        self.webhook_deliveries = Counter(
            "modq_webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, failed, dead_letter).",
            ["site", "outcome"],
            registry=None,
        )

    def registry(self, app: Flask) -> CollectorRegistry:
        registry = CollectorRegistry(auto_describe=True)
        if self.multiprocess:
            multiprocess.MultiProcessCollector(registry)
        else:
            for metric in (
                self.requests,
                self.latency,
                self.decisions,
                self.unstored_analyses,
                self.webhook_deliveries,
            ):
                registry.register(metric)
        registry.register(QueueCollector(app))
        return registry

    def count_decision(
        self,
        decision: str,
        scores: dict[str, float],
        thresholds: dict[str, float],
        source: str = "model",
    ) -> None:
        """Count one decision under the categories that reached their review threshold."""
        self.count_decisions([(decision, scores)], thresholds, source)

    def count_decisions(
        self,
        decisions: Iterable[tuple[str, dict[str, float]]],
        thresholds: dict[str, float],
        source: str = "model",
    ) -> None:
        """Count decisions (each with its scores), one increment per series: a batch's hundred
        comments fall into a few series, and each increment of a series shared by the workers
        takes a lock and writes its file."""
        counts: collections.Counter[tuple[str, str]] = collections.Counter()
        for decision, scores in decisions:
            categories = [c for c, p in scores.items() if p >= thresholds.get(c, 1.0)]
            counts.update((decision, category) for category in categories or ["none"])
        for (decision, category), count in counts.items():
            self.decisions.labels(decision, category, source).inc(count)

    def count_webhook_delivery(self, site: str, outcome: str) -> None:
        """Count one webhook delivery attempt."""
        self.webhook_deliveries.labels(site, outcome).inc()


def count_moderator_decision(site: Site, decision: str, scores: dict[str, float]) -> None:
    """Count a moderator's decision in the current app's metrics (nothing outside an app, as in
    a command)."""
    if not has_app_context():
        return
    metrics = current_app.extensions.get("modq.metrics")
    if metrics is not None:
        metrics.count_decision(decision, scores, site.review_thresholds, source="moderator")


_HTTP_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
)


def init_app(app: Flask) -> Metrics:
    """Count requests and latencies and serve ``/metrics``."""
    metrics = Metrics()
    registry = metrics.registry(app)

    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response):
        started = g.get("metrics_started")
        endpoint = request.endpoint or "unmatched"
        # Any client can send any method name; each would be a new series kept until restart.
        method = request.method if request.method in _HTTP_METHODS else "other"
        metrics.requests.labels(endpoint, method, str(response.status_code)).inc()
        if started is not None:
            metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def serve_metrics():
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    app.extensions["modq.metrics"] = metrics
    return metrics
