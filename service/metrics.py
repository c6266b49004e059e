"""Prometheus metrics at ``/metrics``.

Under gunicorn every worker is its own process, so counters are kept in prometheus-client's
multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set (``modq serve`` sets it) and summed at
scrape time. Queue depth and age are read from Redis when scraped, so they are the same whichever
worker answers.
"""

from __future__ import annotations

import logging
import os
import time

from flask import Flask, Response, g, request
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

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class QueueCollector(Collector):
    """Queue depth and oldest item age per site, and the model version, read at scrape time."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        services = self.app.extensions["modq"]
        depth = GaugeMetricFamily(
            "modq_queue_depth", "Comments waiting for review.", labels=["site"]
        )
        age = GaugeMetricFamily(
            "modq_queue_oldest_age_seconds", "Age of the oldest comment waiting.", labels=["site"]
        )
        model = GaugeMetricFamily(
            "modq_model_info", "The default model in use.", labels=["version"]
        )
        model.add_metric([services.scorer.version], 1.0)
        try:
            now = time.time()
            for site in services.sites.names():
                pending, oldest = services.queue_summary(site)
                depth.add_metric([site], pending)
                age.add_metric([site], max(0.0, now - oldest) if oldest else 0.0)
        except Exception as error:  # a scrape must still answer when Redis is down
            log.warning("queue metrics unavailable: %s", error.__class__.__name__)
        yield depth
        yield age
        yield model


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

    def registry(self, app: Flask) -> CollectorRegistry:
        registry = CollectorRegistry(auto_describe=True)
        if self.multiprocess:
            multiprocess.MultiProcessCollector(registry)
        else:
            for metric in (self.requests, self.latency, self.decisions, self.unstored_analyses):
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
        categories = [c for c, p in scores.items() if p >= thresholds.get(c, 1.0)] or ["none"]
        for category in categories:
            self.decisions.labels(decision, category, source).inc()


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
        metrics.requests.labels(endpoint, request.method, str(response.status_code)).inc()
        if started is not None:
            metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def serve_metrics():
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    app.extensions["modq.metrics"] = metrics
    return metrics
