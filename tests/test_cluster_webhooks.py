"""The webhook delivery tests, run again against a 3-master Redis Cluster.

A module of their own, because they bring fixtures of the same names as the queue tests'.
"""

from __future__ import annotations

from tests.cluster_support import redis_client, redis_cluster, settings  # noqa: F401
from tests.test_webhooks import *  # noqa: F403
