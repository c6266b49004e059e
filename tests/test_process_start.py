"""What each serving process starts as it boots: the models brought up to date, and webhook
delivery, before any request reaches it (gunicorn's ``post_worker_init`` calls
``start_process_work``)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from model.scorer import DEFAULT_MODEL_DIR
from service import start_process_work
from service.registry import ModelRegistry


def renamed_model(tmp_path: Path, version: str) -> Path:
    """A copy of the default model under another version (the manifest names it; the files'
    hashes do not cover it)."""
    folder = tmp_path / version
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "version": version}))
    return folder


def in_forked_child(work) -> str:
    """Run ``work`` in a forked process, as gunicorn runs a worker, and return what it returns."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, str(work()).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as answer:
        return answer.read()


def test_a_forked_worker_scores_with_the_model_promoted_after_its_parent_loaded(
    services, site, tmp_path
):
    # The parent (gunicorn's master) loaded its models when the app was made; a promotion
    # follows; a worker forked later must not score with what the parent loaded.
    registry = ModelRegistry(services.redis, services.keys)
    version = registry.register(renamed_model(tmp_path, "2026.01.01-switched")).version
    registry.promote(version, "demo")
    served = in_forked_child(lambda: services.models.scorer_for("demo").version)
    assert served == version


@pytest.mark.parametrize("server", ["gunicorn", "other"])
def test_a_booting_worker_starts_webhook_delivery_and_model_polling_before_any_request(app, server):
    dispatcher = app.extensions["modq-webhooks"]
    models = app.extensions["modq"].models

    def boot() -> bool:
        if server == "gunicorn":  # the hook gunicorn calls in each worker it boots
            from service import gunicorn_conf

            gunicorn_conf.post_worker_init(SimpleNamespace(wsgi=app))
        else:
            start_process_work(app)
        return dispatcher._pid == os.getpid() and models._poller_pid == os.getpid()

    assert in_forked_child(boot) == "True"


def test_a_stopped_model_poller_ends_and_the_loaded_models_keep_scoring(services, site, tmp_path):
    """``stop_polling`` ends the background thread (a worker shutting down, a test ending)."""
    models = services.models
    models.poll_seconds = 0.05
    registry = ModelRegistry(services.redis, services.keys)
    version = registry.register(renamed_model(tmp_path, "2026.01.01-stopped")).version
    registry.promote(version, "demo")
    before = set(threading.enumerate())
    assert models.scorer_for("demo").version == version  # starts this process's poller
    [poller] = [t for t in set(threading.enumerate()) - before if t.name == "modq-model-poller"]
    models.stop_polling()
    poller.join(timeout=5)
    assert not poller.is_alive()
    assert models.scorer_for("demo").version == version
