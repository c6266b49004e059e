"""``python -m bench --smoke`` still runs end to end and prints its table (numbers not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ROWS = (
    "bare Flask echo app",
    "POST /v1/comments",
    "POST /v1/comments/batch",
    "paced at 50%",
    "Redis memory per queued 250-char comment",
    "claim",
    "score one 250-char comment in process",
    "training on 1,000 comments",
)


@pytest.mark.slow
def test_bench_smoke_prints_every_row_and_exits_0():
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    for row in ROWS:
        assert row in run.stdout, f"{row!r} missing from:\n{run.stdout}"
    assert "targets met:" in run.stdout


@pytest.mark.slow
def test_bench_queue_row_queues_its_own_comments_when_the_memory_part_is_skipped(tmp_path):
    rows_file = tmp_path / "rows.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(rows_file)]
        + ["--skip", "memory", "--skip", "training", "--skip", "scoring"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    [queue] = [row for row in json.loads(rows_file.read_text()) if row["name"].startswith("claim")]
    assert queue["items_per_second"] > 0, queue
    assert queue["errors"] == 0, queue
