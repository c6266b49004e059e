"""The ``modq`` command's entry point.

``modq serve`` runs gunicorn in this process (``modq quickstart`` runs ``modq serve`` as a child,
through this entry point too), and the workers must count into one metrics directory so that
any worker's ``/metrics`` adds up all of them. prometheus-client chooses between that and
counting in memory once, when it is first imported, and the CLI imports it (through the queue
and metrics modules) long before gunicorn's config is read. So the directory is made ready here,
before the CLI is imported (``service/metrics_directory.py``).
"""

from __future__ import annotations

import sys

from service.metrics_directory import prepare_metrics_directory

SERVING_COMMANDS = frozenset({"serve"})


def main() -> None:
    if SERVING_COMMANDS.intersection(sys.argv[1:2]):
        prepare_metrics_directory()
    from service.cli import main as cli

    cli(prog_name="modq")


if __name__ == "__main__":
    main()
