"""The processes a bench run drives: its own redis-server and gunicorn servers, on free ports.

Both apps run under ``service/gunicorn_conf.py`` (the production settings ``modq serve`` uses),
so they get the same worker count and worker class; only the WSGI app differs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from service.cli import GUNICORN_CONFIG
from service.localredis import free_port

ROOT = Path(__file__).resolve().parent.parent


class GunicornServer:
    """``gunicorn -c service/gunicorn_conf.py APP`` on a free port, logging to a file.

    :param app: gunicorn's app argument, e.g. ``service.wsgi:app``.
    :param environ: extra environment (``MODQ_REDIS_URL``, ``WEB_CONCURRENCY``...).
    :param health_path: polled until it answers 200.
    """

    def __init__(self, app: str, workdir: Path, environ: dict[str, str], health_path: str) -> None:
        self.app = app
        self.port = free_port()
        self.health_path = health_path
        name = app.split(":")[0].replace(".", "-")
        self.log_path = workdir / f"{name}.log"
        self.metrics_dir = Path(tempfile.mkdtemp(prefix="metrics-", dir=workdir))
        self.environ = {
            **os.environ,
            **environ,
            "PORT": str(self.port),
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
        }
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GunicornServer:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), self.app],
                cwd=ROOT,
                env=self.environ,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + self.health_path, timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.app} did not start; see {self.log_path}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
