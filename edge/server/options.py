"""The ``[server]``, ``[privacy]`` and ``[[tokens]]`` settings of ``edge serve``.

Plain declarations (no sockets), so the hub, the access rules and the config
loader can share them without loading the server.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from edge.settings import COUNT, PORT, POSITIVE, Format, Range, check, setting

#: The shortest token accepted: a guessable token is no lock.
MIN_TOKEN_LENGTH = 16


class Share(str, enum.Enum):
    """What leaves the process."""

    CUES = "cues"
    TRANSCRIPTS = "transcripts"


class TokenRole(str, enum.Enum):
    AGENT = "agent"  # sees the calls of one agent
    SUPERVISOR = "supervisor"  # sees the calls of the agents in some teams
    INGEST = "ingest"  # sends call audio in


#: What each role's token must also say: (field, how to write it).
TOKEN_NEEDS: dict[TokenRole, tuple[str, str]] = {
    TokenRole.AGENT: ("agent", 'agent = "<agent id>"'),
    TokenRole.SUPERVISOR: ("teams", 'teams = ["<team>", ...]'),
    TokenRole.INGEST: ("source", 'source = "<source name>"'),
}


@dataclass(frozen=True, kw_only=True)
class ServerOptions:
    """`edge serve`: the websocket server."""

    SECTION: ClassVar[str] = "server"

    host: str = setting(
        "127.0.0.1",
        help="0.0.0.0 = every interface (needs [[tokens]])",
        not_empty="use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
    )
    port: int = setting(8765, help="TCP port to listen on", range=PORT)
    tls_cert: Path | None = setting(
        None, help="PEM certificate chain; set tls_key with it", example="/etc/edge/cert.pem"
    )
    tls_key: Path | None = setting(
        None, help="PEM private key of tls_cert", example="/etc/edge/key.pem"
    )
    allowed_origins: tuple[str, ...] = setting(
        (),
        help="browser Origins allowed besides the allowed hosts on this port",
        format=Format(
            r"https?://[^/\s]+",
            "an origin such as https://desk.example.org (scheme and host, no path)",
        ),
        example="https://desk.example.org",
    )
    allowed_hosts: tuple[str, ...] = setting(
        (),
        help="Host names clients use besides localhost, the bound host and IP addresses "
        "(DNS rebinding guard)",
        format=Format(
            r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*",
            "a host name such as desk.example.org (no scheme, no port)",
        ),
        example="desk.example.org",
    )
    max_connections: int = setting(256, help="websocket connections at once", range=COUNT)
    max_message_bytes: int = setting(
        1_048_576, help="largest websocket message accepted", range=Range(1024)
    )
    max_calls_per_source: int = setting(
        64, help="calls one ingest source may have open", range=COUNT
    )
    hello_timeout: float = setting(
        10.0,
        help="seconds a new connection has to send its start or subscribe message",
        range=POSITIVE,
    )
    idle_timeout: float = setting(
        30.0, help="seconds a started call may send nothing before it is ended", range=POSITIVE
    )
    max_ahead_seconds: float = setting(
        15.0,
        help="seconds of audio a live call may send ahead of real time",
        range=POSITIVE,
    )
    compress: bool = setting(
        False,
        help="offer permessage-deflate to clients that ask (fewer bytes, more CPU per "
        "message: for slow links, not a LAN)",
    )
    ping_interval: float = setting(20.0, help="seconds between keepalive pings", range=POSITIVE)
    keepalive: float = setting(
        5.0,
        help="seconds a subscriber may go without a message before it gets a keepalive "
        "(the pages show stale after twice this)",
        range=POSITIVE,
    )
    ping_timeout: float = setting(
        20.0, help="seconds to wait for a pong before closing", range=POSITIVE
    )
    resume_events: int = setting(
        4096, help="per-call events kept so a client can resume", range=Range(16)
    )
    client_queue: int = setting(
        512, help="events queued per subscriber before it is dropped", range=Range(8)
    )
    drain_seconds: float = setting(
        10.0, help="on SIGTERM: seconds calls get to finish", range=POSITIVE
    )
    publish_rate: float = setting(
        100.0,
        help="events per second a published call (edge run --publish) may send on average",
        range=POSITIVE,
    )
    publish_burst: int = setting(
        8192,
        help="events a published call may send at once (a workstation catching up)",
        range=Range(16),
    )
    publisher_grace: float = setting(
        60.0,
        help="seconds a published call waits for its workstation to reconnect before it ends",
        range=POSITIVE,
    )

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True, kw_only=True)
class PrivacyOptions:
    """What leaves the process and what is kept on disk."""

    SECTION: ClassVar[str] = "privacy"

    share: Share = setting(Share.TRANSCRIPTS, help="cues only, or cues and (redacted) transcripts")
    redact: bool = setting(
        True,
        help="mask phone, date-of-birth, SSN, card, email and member/record numbers in transcripts",
    )
    event_log: Path | None = setting(
        None,
        help="folder for a JSONL event log; not set = nothing on disk",
        example="/var/lib/edge/events",
    )
    retention_days: float = setting(7.0, help="days event logs are kept", range=POSITIVE)

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True, kw_only=True)
class TokenSpec:
    """Who may connect to `edge serve`, one [[tokens]] table each."""

    SECTION: ClassVar[str] = "tokens"

    token: str = setting(
        help=f"the secret a client presents; unique, {MIN_TOKEN_LENGTH} characters or more",
        secret=True,
    )
    role: TokenRole = setting(help="what the holder may see or do")
    name: str = setting("", help="who holds it, for logs (the token itself is never logged)")
    agent: str | None = setting(None, help="the agent id (role agent)")
    teams: tuple[str, ...] = setting((), help="the teams seen (role supervisor)")
    source: str | None = setting(None, help="the source name (role ingest)")
    secret: str | None = setting(
        None,
        help="Genesys AudioHook client secret (role ingest): its request signature "
        "is required; not set: the token alone",
        format=Format(
            r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{3}=?|[A-Za-z0-9+/]{2}(?:==)?)?",
            "the base64 client secret of the AudioHook integration",
        ),
        secret=True,
    )

    def __post_init__(self) -> None:
        check(self)
