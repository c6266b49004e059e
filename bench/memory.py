"""Redis memory per queued comment: ``INFO memory`` used_memory before and after filling a queue.

The comments go through the real service (``POST /v1/comments/batch``) to a site whose thresholds
queue every comment for review, so the delta holds everything one queued comment costs: its
record, its queue entry, key overhead and any index the service keeps.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

import redis

from bench.load import post_json

BATCH = 100


def fill_queue(base_url: str, key: str, texts: Sequence[str], senders: int = 4) -> int:
    """Send every text once, in batches of 100 from ``senders`` threads; returns how many failed."""
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    failed = [0]
    lock = threading.Lock()

    def send(worker: int) -> None:
        for number in range(worker, len(batches), senders):
            body = {
                "comments": [
                    {
                        "id": f"mem-{number}-{j}",
                        "article_id": f"article-{number % 40}",
                        "author": {"id": f"reader-{(number * BATCH + j) % 997}", "name": "Reader"},
                        "text": text,
                    }
                    for j, text in enumerate(batches[number])
                ]
            }
            status, answer = post_json(base_url, "/v1/comments/batch", body, key, timeout=60)
            bad = (
                len(batches[number])
                if status != 200
                else sum(1 for r in json.loads(answer)["results"] if "error" in r)
            )
            with lock:
                failed[0] += bad

    pool = [threading.Thread(target=send, args=(w,)) for w in range(senders)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return failed[0]


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def memory_per_queued_comment(
    client: redis.Redis, queue_key: str, base_url: str, key: str, texts: Sequence[str]
) -> dict:
    """Fill the queue with ``texts`` and return bytes per queued comment and a breakdown."""
    before = used_memory(client)
    failed = fill_queue(base_url, key, texts)
    after = used_memory(client)
    queued = int(client.zcard(queue_key))
    sample_key = queue_key.rsplit(":", 1)[0] + ":comment:mem-0-0"
    record = client.get(sample_key)
    return {
        "queued": queued,
        "failed": failed,
        "bytes_per_comment": (after - before) / queued if queued else 0.0,
        "sample_record_bytes": len(record) if record else 0,
        "sample_key_memory_usage": client.memory_usage(sample_key) or 0,
        "queue_memory_usage": client.memory_usage(queue_key, samples=0) or 0,
    }
