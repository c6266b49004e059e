"""gunicorn settings for production, used by ``modq serve``, the Dockerfile and ``bench/``.

gunicorn evaluates this file when the server starts (``modq serve``, or
``gunicorn -c service/gunicorn_conf.py service.wsgi:app``), so reading the environment here is
reading it in the entry point. ``GUNICORN_CMD_ARGS`` overrides any setting, for example
``GUNICORN_CMD_ARGS="--access-logfile -"`` turns the access log on.

Environment: ``PORT`` (default 8000), ``WEB_CONCURRENCY`` (workers; default 2 x CPUs + 1, at most
``MAX_DEFAULT_WORKERS``), ``MODQ_LOG_LEVEL``, ``PROMETHEUS_MULTIPROC_DIR`` (where the workers keep
their metrics; unset, a temporary directory for this server); the ``MODQ_*`` variables are
checked here too, so a bad value stops the server before any worker boots.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Mapping

from gunicorn import glogging

from service.config import ConfigError, Settings
from service.logs import JsonFormatter, configure_logging
from service.metrics_directory import prepare_metrics_directory

# Each worker holds the model's tables and a Redis pool; past this many on one host, add hosts
# (the service is stateless) rather than workers. Set WEB_CONCURRENCY to go beyond it.
MAX_DEFAULT_WORKERS = 12


def _port(environ: Mapping[str, str]) -> int:
    raw = environ.get("PORT") or "8000"
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"PORT must be a TCP port number (1-65535), got {raw!r}")
    return int(raw)


def _workers(environ: Mapping[str, str]) -> int:
    raw = environ.get("WEB_CONCURRENCY")
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigError(f"WEB_CONCURRENCY must be a positive integer, got {raw!r}")
        return int(raw)
    # The usual gunicorn starting point for sync workers; CPUs this process may run on.
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(2 * (cpus or 1) + 1, MAX_DEFAULT_WORKERS)


class JsonLogger(glogging.Logger):
    """gunicorn's logger, writing the service's JSON lines (``service.logs``) to stdout.

    A subclass rather than ``logconfig_dict``: with a dict config gunicorn formats an access line
    for every request even when no access log is wanted.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = JsonFormatter()
        for handler in self.error_log.handlers + self.access_log.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
                handler.setStream(sys.stdout)
            handler.setFormatter(formatter)
        configure_logging(logging.getLevelName(self.loglevel))


def _log_level(settings: Settings) -> str:
    if not isinstance(logging.getLevelName(settings.log_level), int):
        raise ConfigError(
            "MODQ_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, "
            f"got {settings.log_level!r}"
        )
    return settings.log_level


# Reading every MODQ_ variable here turns a bad one into one line before anything starts.
_log_level_name = _log_level(Settings.from_env())

port = _port(os.environ)  # not a gunicorn setting; modq's quickstart reads it
bind = [f"0.0.0.0:{port}"]
workers = _workers(os.environ)

# Every worker counts into files under one directory, so that /metrics adds up all the workers
# instead of showing the one that answered. Prepared here, not in a server hook: with preload_app
# the master imports the app, and prometheus-client with it, before the first hook runs, and
# prometheus-client reads the variable once, on import.
prepare_metrics_directory()

worker_class = "sync"

# A request that takes longer than this is a stuck worker: the master kills and replaces it.
timeout = 30
# SIGTERM lets in-flight requests finish for this long before workers are killed.
graceful_timeout = 30
# Sync workers close the connection after each response; this applies when GUNICORN_CMD_ARGS
# switches to gthread or an async worker class behind a load balancer.
keepalive = 5

# Recycle workers now and then so slow leaks cannot build up; the jitter keeps them from all
# restarting at once.
max_requests = 10_000
max_requests_jitter = 1_000

# Build the app (and load the model) once in the master, before forking.
preload_app = True

# Workers signal liveness by touching a file; on a container's disk-backed /tmp that can stall
# for seconds, so use memory when there is some.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Intake logs each comment itself; a second line per request only adds volume.
accesslog = None
errorlog = "-"  # JsonLogger moves it from stderr to stdout
loglevel = _log_level_name.lower()
logger_class = JsonLogger

# gunicorn 25+ opens a control socket under $HOME by default; several servers on one host (tests,
# bench/) would fight over it, and the container user has no home.
control_socket_disable = True


def when_ready(server) -> None:
    """Freeze the preloaded objects out of the garbage collector's reach before forking.

    Otherwise each worker's first collections write to every shared page, copying them.
    """
    gc.freeze()


def post_worker_init(worker) -> None:
    """Start the worker's background work as it boots, not with its first request: webhook
    retries go on and promoted models are loaded in a worker that no request has reached yet."""
    from service import start_process_work

    if "modq" in getattr(worker.wsgi, "extensions", {}):  # not bench/'s echo app, same settings
        start_process_work(worker.wsgi)


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges from the metrics directory prepared above."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
