"""Prometheus metrics of the service (``/metrics``), one registry per service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from edge.events import CueRaised, Event
from edge.server.hub import View

if TYPE_CHECKING:
    from edge.server.app import Service

# Seconds: from a VAD batch (milliseconds) to a long final on a busy CPU.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


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
        self.ready = Gauge("edge_ready", "1 when the models are loaded", registry=r)

    def observe(self, event: Event) -> None:
        self.events.labels(type=event.type).inc()
        if isinstance(event, CueRaised):
            self.cues.labels(cue=event.cue.value, level=event.level.value).inc()

    def stage(self, stage: str, seconds: float) -> None:
        self.stage_seconds.labels(stage=stage).observe(seconds)

    def render(self, service: Service) -> tuple[bytes, str]:
        self.active_calls.set(len(service.live))
        self.queue_depth.set(
            sum(
                r.queue.qsize()
                for live in service.live.values()
                for r in live.call.runners.values()
            )
        )
        self.subscriber_dropped.set(service.hub.dropped)
        self.connections.set(service.connections)
        for view in View:
            subs = service.hub.subscriptions
            self.subscribers.labels(view=view.value).set(sum(s.view is view for s in subs))
        self.ready.set(1 if service.engine is not None else 0)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
