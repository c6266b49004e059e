"""A local 3-master Redis Cluster for the tests, and fixtures that point the app at it.

A test module imports these fixtures together with the tests it wants to run on the cluster;
pytest then collects those tests again with the module's ``settings`` and ``redis_client``.
"""

from __future__ import annotations

import time

import pytest
import redis
from redis.cluster import RedisCluster

from service.config import Settings
from tests.conftest import RedisServer

SLOTS = 16384


class RedisClusterNodes:
    """Three masters on free ports, owning a third of the slots each."""

    def __init__(self) -> None:
        self.nodes = [
            RedisServer(
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                "2000",
                "--cluster-config-file",
                "nodes.conf",
            )
            for _ in range(3)
        ]

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        clients = [redis.Redis(port=n.port) for n in self.nodes]
        bounds = [0, SLOTS // 3, 2 * SLOTS // 3, SLOTS]
        for index, client in enumerate(clients):
            client.execute_command("CLUSTER ADDSLOTS", *range(bounds[index], bounds[index + 1]))
        for node in self.nodes[1:]:
            clients[0].execute_command("CLUSTER MEET", "127.0.0.1", node.port)
        deadline = time.monotonic() + 30
        while not all(
            c.execute_command("CLUSTER INFO").get("cluster_state") == "ok"
            if isinstance(c.execute_command("CLUSTER INFO"), dict)
            else b"cluster_state:ok" in c.execute_command("CLUSTER INFO")
            for c in clients
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("the test Redis Cluster did not come up")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()


@pytest.fixture(scope="module")
def redis_cluster():
    cluster = RedisClusterNodes()
    cluster.start()
    yield cluster
    cluster.cleanup()


@pytest.fixture
def redis_client(redis_cluster):
    client = RedisCluster.from_url(redis_cluster.url)
    client.flushall(target_nodes=RedisCluster.PRIMARIES)
    yield client
    client.close()


@pytest.fixture
def settings(redis_cluster, redis_client) -> Settings:
    return Settings(redis_url=redis_cluster.url, cache_seconds=0, redis_cluster=True)
