"""Load generators: wrk (Debian's package) with ``driver.lua``, else a Python one.

Closed loop measures the most a server does; the paced pass sends at a fixed rate (wrk2-style)
and measures latency from when each request was due, so a stall is not hidden by the generator
waiting for it.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DRIVER = Path(__file__).with_name("driver.lua")
_PACED_SECTION = re.compile(r"-- PACED_ONLY_BEGIN.*?-- PACED_ONLY_END", re.S)


@dataclass
class LoadResult:
    """What one load run measured. ``per_request`` turns requests into items (batch: 100)."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    per_request: int = 1
    generator: str = "wrk"
    # Paced wrk runs: wrk's own figures, timed from when each request went out.
    uncorrected_p50_ms: float | None = None
    uncorrected_p99_ms: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def items_per_second(self) -> float:
        return self.requests_per_second * self.per_request


def write_texts(texts: Sequence[str], path: Path) -> Path:
    """One JSON string literal per line, for driver.lua to splice into bodies."""
    path.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts), "utf-8")
    return path


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    base_url: str,
    path: str,
    key: str | None,
    texts_file: Path,
    seconds: float,
    mode: str = "single",
    batch_size: int = 1,
    rate: float = 0.0,
    connections: int = 16,
    threads: int = 2,
) -> LoadResult:
    """Drive ``base_url + path`` with wrk; ``rate`` > 0 paces the requests (total per second)."""
    script = DRIVER.read_text()
    if rate <= 0:
        script = _PACED_SECTION.sub("", script)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            handle.name,
            base_url,
            "--",
            mode,
            path,
            key or "-",
            str(texts_file),
            uuid.uuid4().hex[:10],
            str(batch_size),
            str(rate / threads if rate > 0 else 0),
            str(threads),
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        Path(handle.name).unlink(missing_ok=True)
    line = next((x for x in output.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    values = {k: int(v) for k, v in (pair.split("=") for pair in line.split()[1:])}
    errors = sum(
        values[k]
        for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    p50, p99 = values["p50_us"], values["p99_us"]
    result = LoadResult(
        values["requests"],
        values["duration_us"] / 1e6,
        p50 / 1000,
        p99 / 1000,
        errors,
        batch_size if mode == "batch" else 1,
    )
    if rate > 0 and "paced_p99_us" in values:
        result.p50_ms, result.p99_ms = values["paced_p50_us"] / 1000, values["paced_p99_us"] / 1000
        result.uncorrected_p50_ms, result.uncorrected_p99_ms = p50 / 1000, p99 / 1000
    return result


# --- The Python generator: used when wrk is missing, and for claim+decide ----------------------


def post_json(
    base_url: str, path: str, body: object, key: str | None = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    """One POST on a fresh connection (the sync workers close it after each response anyway)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        connection.request("POST", path, json.dumps(body, ensure_ascii=False).encode(), headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def run_threads(target: Callable[[int], None], count: int) -> None:
    """Run ``target(0)`` ... ``target(count - 1)`` in as many threads and wait for them all."""
    pool = [threading.Thread(target=target, args=(w,)) for w in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def run_python(
    send: Callable[[int, int], int], seconds: float, workers: int = 8, rate: float = 0.0
) -> LoadResult:
    """Call ``send(worker, n)`` (returns the HTTP status) from ``workers`` threads for ``seconds``.

    With ``rate`` each thread keeps its own fixed schedule and latency counts from the due time.
    """
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    started = time.perf_counter()
    stop_at = started + seconds
    interval = workers / rate if rate > 0 else 0.0

    def loop(worker: int) -> None:
        mine, n = [], 0
        due = started + worker * interval / workers
        while True:
            if rate > 0:
                now = time.perf_counter()
                if due > now:
                    time.sleep(due - now)
            begin = due if rate > 0 else time.perf_counter()
            if begin >= stop_at:
                break
            status = send(worker, n)
            mine.append(time.perf_counter() - begin)
            if status >= 400:
                with lock:
                    errors[0] += 1
            n += 1
            due += interval
        with lock:
            latencies.extend(mine)

    run_threads(loop, workers)
    elapsed = time.perf_counter() - started
    return LoadResult(
        len(latencies),
        elapsed,
        percentile(latencies, 50) * 1000,
        percentile(latencies, 99) * 1000,
        errors[0],
        generator="python",
    )


def python_comment_load(
    base_url: str,
    path: str,
    key: str | None,
    texts: Sequence[str],
    seconds: float,
    batch_size: int = 1,
    rate: float = 0.0,
) -> LoadResult:
    """The Python equivalent of :func:`run_wrk`, for machines without wrk."""
    run_id = uuid.uuid4().hex[:10]

    def comment(worker: int, n: int) -> dict:
        return {
            "id": f"{run_id}-{worker}-{n}",
            "article_id": f"article-{n % 40}",
            "author": {"id": f"reader-{n % 997}", "name": f"Reader {n % 997}"},
            "text": texts[(n * 7 + worker) % len(texts)],
        }

    def send(worker: int, n: int) -> int:
        if batch_size > 1:
            body = {"comments": [comment(worker, n * batch_size + j) for j in range(batch_size)]}
        else:
            body = comment(worker, n)
        return post_json(base_url, path, body, key)[0]

    result = run_python(send, seconds, rate=rate)
    result.per_request = batch_size
    return result


def claim_and_decide(
    base_url: str,
    site: str,
    key: str,
    seconds: float,
    moderators: int = 4,
    claim_size: int = 10,
    reject_share: float = 0.1,
) -> tuple[LoadResult, dict]:
    """Moderators in a loop: claim ``claim_size`` items, then decide each one.

    :return: decisions per second with the latency of every call (claims and decisions), and
        the p50/p99 of claims and of decisions apart.
    """
    claims: list[float] = []
    decisions: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    queue_path = f"/v1/sites/{site}/queue"

    def moderator(worker: int) -> None:
        mine_claims, mine_decisions, n = [], [], 0
        while time.perf_counter() < stop_at:
            begin = time.perf_counter()
            status, body = post_json(
                base_url, f"{queue_path}/claim", {"limit": claim_size, "lease_seconds": 120}, key
            )
            mine_claims.append(time.perf_counter() - begin)
            items = json.loads(body).get("items", []) if status == 200 else []
            if status != 200:
                with lock:
                    errors[0] += 1
            if not items:
                break
            for item in items:
                n += 1
                verdict = "reject" if (n * 7919 + worker) % 100 < reject_share * 100 else "approve"
                begin = time.perf_counter()
                status, _ = post_json(
                    base_url,
                    f"{queue_path}/{item['id']}/decision",
                    {"decision": verdict, "labels": []},
                    key,
                )
                mine_decisions.append(time.perf_counter() - begin)
                if status != 200:
                    with lock:
                        errors[0] += 1
        with lock:
            claims.extend(mine_claims)
            decisions.extend(mine_decisions)

    started = time.perf_counter()
    run_threads(moderator, moderators)
    elapsed = time.perf_counter() - started
    every = claims + decisions
    result = LoadResult(
        len(decisions),
        elapsed,
        percentile(every, 50) * 1000,
        percentile(every, 99) * 1000,
        errors[0],
        generator="python",
    )
    detail = {
        "claims": len(claims),
        "claim_p50_ms": percentile(claims, 50) * 1000,
        "claim_p99_ms": percentile(claims, 99) * 1000,
        "decision_p50_ms": percentile(decisions, 50) * 1000,
        "decision_p99_ms": percentile(decisions, 99) * 1000,
        "mean_claim_ms": statistics.fmean(claims) * 1000 if claims else 0.0,
    }
    return result, detail
