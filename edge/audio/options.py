"""The ``[capture]`` settings: what `edge run` captures on an agent's workstation.

Apart from :mod:`edge.audio.capture` so that the configuration can know them
without the capture machinery; how devices are opened and watched once chosen
is :class:`edge.audio.capture.DeviceOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from edge.settings import POSITIVE, Format, Range, check, setting


@dataclass(frozen=True, kw_only=True)
class CaptureOptions:
    """`edge run`: audio devices on an agent's workstation."""

    SECTION: ClassVar[str] = "capture"

    caller_device: str | None = setting(
        None, help="device name (part of it, any case) or index", example="Headset"
    )
    agent_device: str | None = setting(
        None, help="as caller_device, for the agent's leg", example="USB Audio"
    )
    stereo_device: str | None = setting(
        None, help="both legs from one device: left caller, right agent", example="Line In"
    )
    rate: int | None = setting(
        None,
        help="device sample rate; not set = the device's default",
        range=Range(8000, 384_000),
        example=48000,
    )
    buffer_seconds: float = setting(
        2.0, help="audio buffered per leg before the oldest is dropped", range=POSITIVE
    )
    forward_url: str | None = setting(
        None,
        help="send the call's audio to `edge serve` (its ingest URL); heavier and less "
        "private than publish_url",
        format=Format(r"wss?://\S+", "a ws:// or wss:// URL"),
        example="wss://edge.example.org/ingest",
    )
    forward_token: str | None = setting(
        None, help="ingest token for forward_url", example="<an ingest token>", secret=True
    )
    publish_url: str | None = setting(
        None,
        help="send the call's events (not its audio) to `edge serve` (its publish URL)",
        format=Format(r"wss?://\S+", "a ws:// or wss:// URL"),
        example="wss://edge.example.org/publish",
    )
    publish_token: str | None = setting(
        None, help="ingest token for publish_url", example="<an ingest token>", secret=True
    )
    publish_buffer: int = setting(
        4096,
        help="events kept while the service is away; when full, readings are dropped first",
        range=Range(16),
    )
    agent_id: str = setting("", help="who this workstation's agent is")
    team: str = setting("", help="the agent's team")

    def __post_init__(self) -> None:
        check(self)
