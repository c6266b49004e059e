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
