"""The core intake and queue tests, run again against a 3-master Redis Cluster.

The fixtures (tests/cluster_support.py) start three redis-server processes in cluster mode, split
the 16384 hash slots between them and join them. The tests of test_intake and test_queue are
imported here, so pytest collects them once more with fixtures that point at the cluster.
"""

from __future__ import annotations

from tests.cluster_support import redis_client, redis_cluster, settings  # noqa: F401, F811
from tests.test_intake import *  # noqa: F403
from tests.test_queue import *  # noqa: F403


def test_the_cluster_really_spreads_sites_over_nodes(redis_client):  # noqa: F811
    from service.keys import RedisKeys

    keys = RedisKeys()
    slots = {redis_client.keyslot(keys.queue(f"site{i}")) for i in range(20)}
    owners = {redis_client.get_node_from_key(keys.queue(f"site{i}")).port for i in range(20)}
    assert len(slots) > 1 and len(owners) == 3
    site = "demo"
    same = {
        redis_client.keyslot(k)
        for k in (keys.queue(site), keys.leases(site), keys.comment(site, "x"), keys.audit(site))
    }
    assert len(same) == 1


def test_a_changed_retention_applies_on_the_cluster(ingest, services, redis_client):  # noqa: F811
    import json
    import time

    from service.queue import iso
    from service.retention import Retained, RetentionKeeper

    for comment_id in ("old", "new"):
        assert ingest({"id": comment_id, "text": f"Comment {comment_id}."}).status_code == 200
    old = services.keys.comment("demo", "old")
    record = json.loads(redis_client.get(old))
    record["received_at"] = iso(time.time() - 20 * 86_400)
    redis_client.set(old, json.dumps(record), keepttl=True)
    redis_client.hset(services.keys.reports("demo", "gone"), "reader-9", "{}")

    done = RetentionKeeper(redis_client, services.keys).apply("demo", 7)
    assert done == Retained(comments=1, removed=1, orphan_reports=1)
    assert not redis_client.exists(old)
    assert 6.99 * 86_400 < redis_client.ttl(services.keys.comment("demo", "new")) <= 7 * 86_400
