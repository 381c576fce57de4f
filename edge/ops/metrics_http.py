"""``/metrics`` over plain HTTP for ``edge run`` (``[metrics] port``).

``edge serve`` answers ``/metrics`` on its own port; ``edge run`` has no
server, so a workstation's metrics get a small one of their own:
prometheus_client's WSGI server on a daemon thread. The metric names are
:class:`edge.server.metrics.Metrics`' own, so one dashboard reads both.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server

from edge.errors import ConfigError
from edge.server.metrics import Metrics

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from edge.events import Event
    from edge.pipeline.engine import Engine
    from edge.pipeline.load import StepChange

log = logging.getLogger(__name__)

#: Loopback only: a workstation's metrics are counts, but nobody else needs them
#: unless a scraper is set up; see docs/deploy.md.
DEFAULT_HOST = "127.0.0.1"


class MetricsServer:
    """A running ``/metrics`` endpoint; :meth:`close` stops it."""

    def __init__(self, port: int, registry: CollectorRegistry, *, host: str = DEFAULT_HOST) -> None:
        try:
            self._server: WSGIServer
            self._server, self._thread = start_http_server(port, addr=host, registry=registry)
        except OSError as e:
            raise ConfigError(
                f"[metrics] port = {port}: cannot listen on {host}:{port} ({e.strerror}): "
                "stop what uses it or pick another port"
            ) from e
        self.host = host
        self.port = int(self._server.server_address[1])
        log.info("metrics on http://%s:%d/metrics", host, self.port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class RunMetrics:
    """The metrics of one ``edge run``: model latency and events, served when a port is set.

    ``edge_active_calls`` is 1 while the call runs and ``edge_ready`` 1 once the
    models are loaded; the service-only metrics (connections, subscribers) stay 0.
    """

    def __init__(self, port: int | None, engine: Engine, *, host: str = DEFAULT_HOST) -> None:
        self.metrics = Metrics()
        self.metrics.attach(engine)
        engine.load_changed = self._load_changed
        self.metrics.ready.set(1)
        self.metrics.active_calls.set(1)
        self.server = (
            MetricsServer(port, self.metrics.registry, host=host) if port is not None else None
        )

    def observe(self, event: Event) -> None:
        self.metrics.observe(event)

    def _load_changed(self, change: StepChange) -> None:
        """The engine changed its load step ([pipeline.load]): the gauges follow."""
        self.metrics.load_step.set(int(change.step))
        self.metrics.lag.set(change.lag)

    def close(self) -> None:
        self.metrics.active_calls.set(0)
        if self.server is not None:
            self.server.close()
