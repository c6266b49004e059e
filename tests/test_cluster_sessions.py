"""The web sessions and the login throttle, run again against a 3-master Redis Cluster.

Session ids and failure counters are global keys, each used alone (the throttle's two counters
are in different slots and are never touched by one command), so they must work unchanged there.
"""

from __future__ import annotations

from tests.cluster_support import redis_client, redis_cluster, settings  # noqa: F401
from tests.test_ui import (  # noqa: F401
    accounts,
    test_a_copied_cookie_stops_working_at_logout,
    test_failed_logins_are_rate_limited,
    test_logging_in_again_ends_the_browsers_previous_session,
    test_logging_out_ends_only_that_session,
    test_parallel_wrong_passwords_get_five_tries_in_all,
    test_successful_and_refused_logins_do_not_use_up_the_address,
)
