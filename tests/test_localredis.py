"""The test and development redis-server: a port taken between choosing it and starting the server
(by another process, or a cluster node's bus port) moves it to another free port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.localredis import CLUSTER_BUS_OFFSET, RedisProcess, RedisStartError


@contextmanager
def listening_on(port: int) -> Iterator[None]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield


def assert_moves_when_taken(server: RedisProcess, offset: int) -> None:
    """Take the server's chosen port + ``offset`` before it starts: it starts on another one."""
    chosen = server.port
    with listening_on(chosen + offset):
        server.start(timeout=10)
        try:
            assert server.port != chosen
            assert server.client().ping()
        finally:
            server.stop()


def test_a_chosen_port_taken_before_start_moves_the_server(tmp_path: Path) -> None:
    assert_moves_when_taken(RedisProcess(tmp_path), 0)


def test_a_cluster_node_whose_bus_port_is_taken_moves(tmp_path: Path) -> None:
    server = RedisProcess(tmp_path, options={"cluster-enabled": "yes"})
    assert_moves_when_taken(server, CLUSTER_BUS_OFFSET)


def test_a_port_asked_for_is_not_changed(tmp_path: Path) -> None:
    probe = RedisProcess(tmp_path / "probe")
    with listening_on(probe.port):
        server = RedisProcess(tmp_path, port=probe.port)
        with pytest.raises(RedisStartError, match="exited at start"):
            server.start(timeout=10)
        assert server.port == probe.port
