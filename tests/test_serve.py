"""`modq serve`, plain gunicorn with its config and `modq quickstart` as real processes: gunicorn,
a real Redis, HTTP over TCP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from service.apikeys import ApiKeyStore
from service.keys import RedisKeys
from service.sites import SiteStore

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def modq_process(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """Start `modq ARGS...` with the interpreter running the tests, logging to ``log``."""
    return python_process(["-m", "service.entry", *args], env, cwd, log)


def python_process(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """Start the interpreter running the tests with ``args``, logging to ``log``."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **env}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            env=environment, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def wait_until_healthy(
    process: subprocess.Popen, base: str, log: Path, seconds: float = 90
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server did not become healthy:\n{log.read_text()}")


def stop(process: subprocess.Popen, signum: int = signal.SIGTERM, seconds: float = 45) -> int:
    process.send_signal(signum)
    try:
        return process.wait(timeout=seconds)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """`modq serve` with ``env`` on a free port, healthy: the process and its base URL. Killed
    on the way out if the test did not stop it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = modq_process(["serve"], {"PORT": str(port), **env}, REPO, log)
    try:
        wait_until_healthy(server, base, log)
        yield server, base
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def gazette_ingest_key(redis_client) -> str:
    """Create site "gazette" and return a new ingest key of it."""
    keys = RedisKeys()
    SiteStore(redis_client, keys).create("gazette")
    return ApiKeyStore(redis_client, keys).create("gazette", "ingest")[1]


def post_comment(base: str, key: str, comment: dict) -> requests.Response:
    return requests.post(
        f"{base}/v1/comments", json=comment, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )


@pytest.mark.slow
def test_serve_scores_over_http_and_stops_cleanly_on_sigterm(redis_server, redis_client, tmp_path):
    log = tmp_path / "serve.log"
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_1.db").write_bytes(b"left by an earlier run")
    env = {"MODQ_REDIS_URL": redis_server.url, "WEB_CONCURRENCY": "2",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics)}  # fmt: skip
    with serving(env, log) as (server, base):
        secret = gazette_ingest_key(redis_client)

        response = post_comment(
            base, secret, {"id": "c-1", "text": "Thanks, a very clear explainer."}
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert {"id", "site", "decision", "scores", "reasons", "model_version", "status",
                "language"} <= set(result)  # fmt: skip
        assert (result["id"], result["site"]) == ("c-1", "gazette")
        assert (result["decision"], result["status"]) == ("approve", "approved")
        assert set(result["scores"]) == {"spam", "abuse"}

        korean = post_comment(base, secret, {"id": "c-2", "text": "정말 좋은 기사네요"})
        assert korean.status_code == 200 and korean.json()["language"] == "ko"
        assert post_comment(base, "mqi_unknown", {"id": "c-3", "text": "hi"}).status_code == 401
        assert requests.get(f"{base}/readyz", timeout=5).json()["checks"]["redis"] == "ok"

        # Both workers count into the shared metrics directory, emptied at start.
        assert not (metrics / "counter_1.db").exists()
        assert len(list(metrics.glob("*.db"))) >= 1
        scraped = requests.get(f"{base}/metrics", timeout=5)
        assert scraped.status_code == 200 and "modq_http_requests" in scraped.text

        assert stop(server) == 0

    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every log line is JSON
    messages = [record["message"] for record in records]
    assert any("Listening at" in message for message in messages)
    assert any("Shutting down" in message for message in messages)
    assert not any("POST /v1/comments" in message for message in messages)  # no access log
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/healthz", timeout=2)


def readyz_count(base: str) -> float:
    """What one scrape of /metrics says of GET /readyz answered 200."""
    series = 'modq_http_requests_total{endpoint="health.readiness",method="GET",status="200"} '
    text = requests.get(f"{base}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(series):
            return float(line.removeprefix(series))
    return 0.0


def worker_pids(metrics: Path, master: int) -> set[int]:
    """The processes other than the master that have counted into ``metrics``."""
    return {int(f.stem.rsplit("_", 1)[1]) for f in metrics.glob("counter_*.db")} - {master}


def get_readyz(base: str, times: int) -> None:
    """``times`` GET /readyz, 8 at a time, so that every worker takes some."""
    with ThreadPoolExecutor(8) as pool:
        for response in pool.map(
            lambda _: requests.get(f"{base}/readyz", timeout=10), range(times)
        ):
            assert response.status_code == 200, response.text


GUNICORN = ["-m", "gunicorn", "-c", "service/gunicorn_conf.py", "service.wsgi:app"]
MODQ_SERVE = ["-m", "service.entry", "serve"]  # what the `modq` script runs


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "given"),
    [(GUNICORN, False), (GUNICORN, True), (MODQ_SERVE, False)],
    ids=["gunicorn-unset", "gunicorn-given", "modq-serve-unset"],
)
def test_every_workers_metrics_add_up(redis_server, tmp_path, args, given):
    """`modq serve`, and `gunicorn -c service/gunicorn_conf.py` without it: one scrape counts
    the requests of both workers, across a SIGHUP reload; a metrics directory the server made is
    removed when it stops, a given one is emptied at start and kept."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    scratch = tmp_path / "tmp"  # where the server makes its temporary directory
    scratch.mkdir()
    env = {"PORT": str(port), "MODQ_REDIS_URL": redis_server.url, "WEB_CONCURRENCY": "2",
           "TMPDIR": str(scratch)}  # fmt: skip
    if given:
        metrics = tmp_path / "metrics"
        metrics.mkdir()
        (metrics / "counter_1.db").write_bytes(b"left by an earlier run")
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    server = python_process(args, env, REPO, log)
    try:
        wait_until_healthy(server, base, log)
        if given:
            assert not (metrics / "counter_1.db").exists()
            assert list(scratch.iterdir()) == []
        else:
            [metrics] = scratch.glob("modq-metrics-*")

        sent = 0
        while len(worker_pids(metrics, server.pid)) < 2:
            assert sent < 400, f"one worker took every request:\n{log.read_text()}"
            get_readyz(base, 40)
            sent += 40
        # Each scrape is answered by one worker and counts the other's requests too.
        assert [readyz_count(base) for _ in range(6)] == [sent] * 6

        # A reload reads the config again and replaces the workers; the counts stay.
        first_workers = worker_pids(metrics, server.pid)
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while len(worker_pids(metrics, server.pid) - first_workers) < 1:
            assert time.monotonic() < deadline, f"no new worker:\n{log.read_text()}"
            get_readyz(base, 8)
            sent += 8
        get_readyz(base, 40)
        sent += 40
        assert readyz_count(base) == sent

        assert stop(server) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert metrics.exists() is given


def test_a_given_metrics_directory_is_emptied_once_per_process(tmp_path):
    from service.metrics_directory import prepare_metrics_directory

    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_1.db").write_bytes(b"left by an earlier run")
    environ = {"PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    assert prepare_metrics_directory(environ) == metrics
    assert list(metrics.iterdir()) == []
    # gunicorn reads its config again on SIGHUP: the running workers' files stay.
    (metrics / "counter_2.db").write_bytes(b"")
    assert prepare_metrics_directory(environ) == metrics
    assert (metrics / "counter_2.db").exists()
    missing = tmp_path / "new" / "metrics"
    assert prepare_metrics_directory({"PROMETHEUS_MULTIPROC_DIR": str(missing)}) == missing
    assert missing.is_dir()


def test_no_metrics_directory_once_prometheus_client_counts_in_memory():
    from service.metrics_directory import prepare_metrics_directory

    environ: dict[str, str] = {}  # the tests import prometheus-client first, in memory
    assert prepare_metrics_directory(environ) is None and environ == {}


@pytest.mark.slow
def test_quickstart_runs_a_local_redis_and_a_demo_site(tmp_path):
    """What `make run` does, with the data in a scratch directory, started twice."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PORT": str(port), "WEB_CONCURRENCY": "1", "MODQ_REDIS_URL": ""}

    first_log = tmp_path / "first.log"
    first = modq_process(["quickstart"], env, tmp_path, first_log)
    try:
        wait_until_healthy(first, base, first_log)
        output = first_log.read_text()
        ingest = output.split("ingest key:")[1].split()[0]
        assert output.split("moderator key:")[1].split()[0].startswith("mqm_")
        assert "curl -s" in output and f"Bearer {ingest}" in output
        response = post_comment(base, ingest, {"id": "c-1", "text": "Good reporting."})
        assert response.status_code == 200, response.text
        assert response.json()["site"] == "demo"
        assert stop(first) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert "Stopped the local Redis" in first_log.read_text()
    assert (tmp_path / ".modq" / "redis.log").exists()
    assert not (tmp_path / ".modq" / "redis" / "redis.pid").exists()

    second_log = tmp_path / "second.log"
    second = modq_process(["quickstart"], env, tmp_path, second_log)
    try:
        wait_until_healthy(second, base, second_log)
        assert "Site 'demo' exists" in second_log.read_text()
        assert "ingest key:" not in second_log.read_text()
        # The append-only file kept the key and the comment across the restart.
        again = post_comment(base, ingest, {"id": "c-1", "text": "Good reporting."})
        assert again.status_code == 200 and again.json() == response.json()

        # A local Redis killed under it is started again, from its append-only file.
        pidfile = tmp_path / ".modq" / "redis" / "redis.pid"
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while "The local Redis is back." not in second_log.read_text():
            assert time.monotonic() < deadline, second_log.read_text()
            time.sleep(0.2)
        assert "The local Redis exited (status -9" in second_log.read_text()
        wait_until_healthy(second, base, second_log)
        after = post_comment(base, ingest, {"id": "c-1", "text": "Good reporting."})
        assert after.status_code == 200 and after.json() == response.json()
        assert stop(second, signal.SIGINT) in (0, 130)
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
