"""Prometheus metrics of the service (``/metrics``), one registry per service.

Counters move as things happen; gauges are read when scraped, through the
small :class:`Gauges` view the service gives, never from its insides.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from edge.events import CueRaised, Event
from edge.fleet.stats import BusStats
from edge.server.hub import View

if TYPE_CHECKING:
    from edge.pipeline.engine import Engine

# Seconds: from a VAD batch (milliseconds) to a long final on a busy CPU.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


class Gauges(Protocol):
    """What the service reports of its state when ``/metrics`` is scraped."""

    def live_calls(self) -> int:
        """Calls streaming now."""
        ...

    def queued_frames(self) -> int:
        """Audio frames waiting, summed over every live call's channels."""
        ...

    def open_connections(self) -> int:
        """Open websocket connections, ingest and subscribers."""
        ...

    def subscribers(self, view: View) -> int:
        """Subscribers watching ``view``."""
        ...

    def dropped_readings(self) -> int:
        """Readings dropped for slow subscribers so far."""
        ...

    def ready(self) -> bool:
        """True once the models are loaded."""
        ...

    def held_calls(self) -> int:
        """Calls the hub holds: live ones and those ended less than its linger ago."""
        ...

    def outbox_messages(self) -> int:
        """Messages queued for subscribers, summed over their outboxes."""
        ...

    def tasks(self) -> int:
        """The service's asyncio tasks (a leak check: bounded by the load)."""
        ...

    def load_step(self) -> int:
        """The engine's load step: 0 normal .. 4 at capacity (edge.pipeline.load)."""
        ...

    def lag_seconds(self) -> float:
        """The worst live call's lag, seconds, when the engine last looked."""
        ...

    def bus(self) -> BusStats | None:
        """The fleet bus's figures; None on the embedded hub."""
        ...


class Metrics:
    """Counters the service moves; gauges read from the service when scraped."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.stage_seconds = Histogram(
            "edge_stage_seconds",
            "Model job latency by stage, waiting for the worker included",
            ["stage"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.calls_started = Counter("edge_calls_started", "Calls started", registry=r)
        self.active_calls = Gauge("edge_active_calls", "Calls streaming now", registry=r)
        self.events = Counter("edge_events", "Events emitted by type", ["type"], registry=r)
        self.cues = Counter("edge_cues_raised", "Cues raised by kind", ["cue", "level"], registry=r)
        self.dropped_frames = Counter(
            "edge_dropped_frames", "Audio frames dropped: input faster than processing", registry=r
        )
        self.queue_depth = Gauge(
            "edge_queue_frames", "Audio frames waiting per live call channel, summed", registry=r
        )
        self.ingest_errors = Counter(
            "edge_ingest_refused", "Ingest connections refused, by close code", ["code"], registry=r
        )
        self.model_errors = Counter(
            "edge_model_errors", "Model jobs that failed, by stage", ["stage"], registry=r
        )
        self.connections = Gauge("edge_connections", "Open websocket connections", registry=r)
        self.subscribers = Gauge("edge_subscribers", "Subscribers by view", ["view"], registry=r)
        self.subscriber_dropped = Gauge(
            "edge_subscriber_dropped_messages",
            "Readings dropped for slow subscribers (superseded ones excluded)",
            registry=r,
        )
        self.slow_disconnects = Counter(
            "edge_subscriber_slow_disconnects",
            "Subscribers disconnected as hopelessly slow",
            registry=r,
        )
        self.feedback = Counter(
            "edge_cue_feedback", "Agents' feedback on cues", ["cue", "verdict"], registry=r
        )
        self.feedback_lost = Counter(
            "edge_feedback_lost_verdicts",
            "Verdicts on cues not kept: the store's disk failing or slower than the feedback",
            registry=r,
        )
        self.event_log_lost = Counter(
            "edge_event_log_lost_lines",
            "Event log lines lost: disk full, folder gone, or writes slower than events",
            registry=r,
        )
        self.handoffs = Counter(
            "edge_handoffs",
            "Hand-offs recommended on automated calls, by reason",
            ["reason"],
            registry=r,
        )
        self.handoff_deliveries = Counter(
            "edge_handoff_deliveries",
            "Hand-off webhooks by result: sent, failed (every attempt) or dropped (queue full)",
            ["result"],
            registry=r,
        )
        self.batch_size = Histogram(
            "edge_batch_size",
            "Jobs per batched model call, by model (vad, text: [pipeline.batching])",
            ["model"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
        self.window_fallbacks = Gauge(
            "edge_asr_window_fallbacks",
            "Whisper decodes on a short encoder window that looped so far, by kind: final and "
            "partial ones were redone on the full 30 s window, speculative ones (during a "
            "pause) left to the final",
            ["kind"],
            registry=r,
        )
        self.ready = Gauge("edge_ready", "1 when the models are loaded", registry=r)
        self.held_calls = Gauge(
            "edge_hub_calls", "Calls held: live and recently ended (linger)", registry=r
        )
        self.outbox_messages = Gauge(
            "edge_outbox_messages", "Messages queued for subscribers, summed", registry=r
        )
        self.tasks = Gauge("edge_asyncio_tasks", "asyncio tasks of the service", registry=r)
        self.load_step = Gauge(
            "edge_load_step",
            "What the calls give up to keep up: 0 normal, 1 fewer partials, 2 greedy finals, "
            "3 fewer voice readings, 4 at capacity (new calls refused)",
            registry=r,
        )
        self.lag = Gauge(
            "edge_lag_seconds",
            "The worst live call's lag: audio waiting, or a final waiting since speech ended",
            registry=r,
        )
        self.refused_at_capacity = Counter(
            "edge_calls_refused_at_capacity",
            "New calls refused (1013) because the service was at capacity",
            registry=r,
        )
        # The fleet ([fleet] redis_url); 0 on the embedded hub.
        self.bus_connected = Gauge(
            "edge_fleet_connected", "1 while the fleet bus (Redis) answers", registry=r
        )
        self.bus_buffered = Gauge(
            "edge_fleet_buffered_events", "Events held for Redis (it is slow or away)", registry=r
        )
        self.bus_dropped = Gauge(
            "edge_fleet_dropped_events",
            "Events dropped from a full fleet buffer, by kind (reading first; other: none left)",
            ["kind"],
            registry=r,
        )
        self.bus_mirrored = Gauge(
            "edge_fleet_mirrored_calls", "Calls of other nodes held here", registry=r
        )
        self.bus_lost_calls = Gauge(
            "edge_fleet_lost_calls", "Calls marked lost: their node stopped beating", registry=r
        )

    def attach(self, engine: Engine) -> None:
        """Follow ``engine``: its jobs' latency and failures, its batches, its window fall-backs."""
        engine.observe = self.stage
        engine.failed = self.model_error
        engine.batched = self.batch
        for kind in ("final", "partial", "speculative"):
            self.window_fallbacks.labels(kind=kind).set_function(
                functools.partial(engine.window_fallbacks, kind)
            )

    def observe(self, event: Event) -> None:
        self.events.labels(type=event.type).inc()
        if isinstance(event, CueRaised):
            self.cues.labels(cue=event.cue.value, level=event.level.value).inc()

    def model_error(self, stage: str) -> None:
        """A model job failed (each one; a call reports each stage's first in an event)."""
        self.model_errors.labels(stage=stage).inc()

    def batch(self, model: str, size: int) -> None:
        self.batch_size.labels(model=model).observe(size)

    def stage(self, stage: str, seconds: float) -> None:
        self.stage_seconds.labels(stage=stage).observe(seconds)

    def render(self, gauges: Gauges) -> tuple[bytes, str]:
        self.active_calls.set(gauges.live_calls())
        self.queue_depth.set(gauges.queued_frames())
        self.subscriber_dropped.set(gauges.dropped_readings())
        self.connections.set(gauges.open_connections())
        for view in View:
            self.subscribers.labels(view=view.value).set(gauges.subscribers(view))
        self.ready.set(1 if gauges.ready() else 0)
        self.held_calls.set(gauges.held_calls())
        self.outbox_messages.set(gauges.outbox_messages())
        self.tasks.set(gauges.tasks())
        self.load_step.set(gauges.load_step())
        self.lag.set(gauges.lag_seconds())
        bus = gauges.bus()
        if bus is not None:
            self.bus_connected.set(1 if bus.connected else 0)
            self.bus_buffered.set(bus.buffered)
            self.bus_dropped.labels(kind="reading").set(bus.dropped_readings)
            self.bus_dropped.labels(kind="other").set(bus.lost_events)
            self.bus_mirrored.set(bus.mirrored_calls)
            self.bus_lost_calls.set(bus.lost_calls)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
