"""The ``[fleet]`` settings: the Redis that joins several ``edge serve`` nodes.

Standard library only, so the config loader and ``edge doctor`` know them
without the Redis client. Empty ``redis_url`` (the default): the embedded,
in-process hub; one box is the whole system and nothing here is used.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from edge.settings import POSITIVE, Format, Order, Range, check, setting

#: The longest ``lost_after``: a dead node's calls are marked lost on every
#: wallboard within ``lost_after`` + 1 s (issue 16: "within 10 s").
MAX_LOST_AFTER = 9.0

_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"


@dataclass(frozen=True, kw_only=True)
class FleetOptions:
    """`edge serve`: several nodes sharing their calls through Redis Streams (docs/fleet.md).

    Every node appends the events of the calls it serves to Redis and mirrors
    every other node's calls, so any node serves any agent, wallboard and
    call detail. Not set (``redis_url`` empty): this process is the whole system.
    """

    SECTION: ClassVar[str] = "fleet"
    RULES: ClassVar[tuple[Order, ...]] = (Order("heartbeat", "lost_after", strict=True),)

    redis_url: str = setting(
        "",
        help="the Redis every node shares (redis://host:6379/0, rediss:// for TLS, "
        "unix:///run/redis.sock); empty = the embedded hub, one node",
        format=Format(
            r"|(rediss?://([A-Za-z0-9._-]+@)?[^\s/@:]+(:\d+)?(/\d+)?|unix:///\S+)",
            "a URL such as redis://redis.internal:6379/0 or rediss://... for TLS, with no "
            "password in it (set [fleet] password), or empty",
        ),
        example="redis://127.0.0.1:6379/0",
    )
    username: str = setting("", help="the Redis ACL user; empty = the default user")
    password: str | None = setting(
        None,
        help="the Redis password (AUTH; with username, the ACL user's); not set = none; "
        "better in EDGE_FLEET__PASSWORD than in the file",
        secret=True,
    )
    tls_ca: Path | None = setting(
        None,
        help="PEM CA bundle that signed the Redis server's certificate (rediss://); "
        "not set = the system's",
        example="/etc/edge/redis-ca.pem",
    )
    node_id: str = setting(
        "",
        help="this node's name in the fleet, unique; empty = host name and process id",
        format=Format(f"({_NAME})?", "a name of letters, digits, '.', '_' or '-', 64 at most"),
    )
    key_prefix: str = setting(
        "edge",
        help="prefix of every Redis key, so several floors can share one Redis",
        format=Format(_NAME, "a name of letters, digits, '.', '_' or '-', 64 at most"),
    )
    heartbeat: float = setting(
        2.0, help="seconds between a node's heartbeats", range=Range(0.1, 5.0)
    )
    lost_after: float = setting(
        6.0,
        help="seconds without a heartbeat before a node's calls are marked lost on wallboards",
        range=Range(0.5, MAX_LOST_AFTER),
    )
    stream_events: int = setting(
        4096, help="events kept per call in Redis (resume and late-joining nodes)", range=Range(16)
    )
    floor_events: int = setting(
        100_000,
        help="events kept in each node's floor stream, which the other nodes read",
        range=Range(1000),
    )
    buffer: int = setting(
        20_000,
        help="events a node holds while Redis is unreachable; when full, readings go first",
        range=Range(64),
    )
    timeout: float = setting(
        2.0, help="seconds a Redis command may take before the bus counts as down", range=POSITIVE
    )
    analyse: bool = setting(
        True,
        help="false = a hub node: loads no models, takes published calls and subscribers only",
    )

    def __post_init__(self) -> None:
        check(self)

    @property
    def enabled(self) -> bool:
        return bool(self.redis_url)

    def node_name(self) -> str:
        """``node_id``, else this machine's host name and this process's id."""
        return self.node_id or f"{socket.gethostname() or 'node'}-{os.getpid()}"


def client_options(options: FleetOptions) -> dict[str, Any]:
    """The Redis client's keyword arguments for ``[fleet]`` (the service's and the doctor's)."""
    extra: dict[str, Any] = {}
    if options.redis_url.startswith("rediss://") and options.tls_ca is not None:
        extra["ssl_ca_certs"] = str(options.tls_ca)
    return {
        "username": options.username or None,
        "password": options.password,
        "socket_timeout": options.timeout,
        "socket_connect_timeout": options.timeout,
        "decode_responses": True,
        "client_name": f"edge-{options.node_name()}",
        **extra,
    }


def where(url: str) -> str:
    """The Redis a URL names, for messages (the URL holds no password: the settings refuse it)."""
    return url.split("://", 1)[-1].rsplit("@", 1)[-1] or url
