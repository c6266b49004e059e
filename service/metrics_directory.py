"""The directory where a server's workers keep their Prometheus metrics for ``/metrics``.

Each gunicorn worker is its own process. In prometheus-client's multiprocess mode every worker
writes its counts to files under ``PROMETHEUS_MULTIPROC_DIR`` and a scrape adds up all the files,
whichever worker answers it. prometheus-client chooses that mode once, when it is first imported,
from the variable; gunicorn with ``preload_app`` imports the app (and prometheus-client with it)
in the master before any server hook runs. So ``service/gunicorn_conf.py`` prepares the directory
when it is evaluated, which covers ``modq serve`` and plain ``gunicorn -c service/gunicorn_conf.py``
alike. This module does not import prometheus-client, for the same reason.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# Directories this process has prepared already. gunicorn evaluates its config file again on
# SIGHUP; by then the running workers count into the directory, and emptying it would lose
# their counts.
_prepared: set[Path] = set()


def prepare_metrics_directory(environ: MutableMapping[str, str] | None = None) -> Path | None:
    """Make ``PROMETHEUS_MULTIPROC_DIR`` ready for a server starting in this process.

    When the variable is set, the directory is created if missing and the files an earlier
    server left are removed, as prometheus-client asks: their counts would otherwise be added to
    this server's. When it is unset, a new empty temporary directory is made, the variable is set
    to it, and the directory is removed when this process exits (forked workers leave it alone).
    A directory this process prepared before is returned as it is.

    :param environ: the environment to read and set; ``os.environ`` by default.
    :return: the directory; None when the variable is unset and prometheus-client is already
        imported in this process (as in a test run that serves apps in process): it counts in
        memory then, and a directory set now would only make ``/metrics`` read files nobody
        writes.
    """
    environ = os.environ if environ is None else environ
    given = environ.get(VARIABLE)
    if given and Path(given) in _prepared:
        return Path(given)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    elif "prometheus_client" in sys.modules:
        return None
    else:
        path = Path(tempfile.mkdtemp(prefix="modq-metrics-"))
        atexit.register(_remove_directory, path, os.getpid())
        environ[VARIABLE] = str(path)
    _prepared.add(path)
    return path


def _remove_directory(path: Path, owner_pid: int) -> None:
    # gunicorn workers are forked from the process that registered this and run it on exit too.
    if os.getpid() == owner_pid:
        shutil.rmtree(path, ignore_errors=True)
