"""`edge run`'s /metrics endpoint: a real HTTP server scraped and parsed as Prometheus does."""

import socket
import types
import urllib.request

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from edge.errors import ConfigError
from edge.events import CallEnded
from edge.ops.metrics_http import MetricsServer, RunMetrics


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_run_metrics_count_events_and_model_latency():
    """Events, stage timings, batch sizes and Whisper's window fall-backs of the run appear
    on /metrics under the service's names."""
    fallbacks = {"final": 0, "partial": 0, "speculative": 0}
    engine = types.SimpleNamespace(window_fallbacks=fallbacks.__getitem__)
    metrics = RunMetrics(0, engine)
    try:
        assert metrics.server is not None and metrics.server.port > 0
        engine.observe("asr_final", 0.3)
        engine.batched("vad", 5)
        engine.batched("vad", 1)
        fallbacks["partial"] = 2  # read when scraped
        metrics.observe(CallEnded(stream_time=11.0, duration=11.0))
        samples = scrape(metrics.server.url)
    finally:
        metrics.close()
    assert samples[("edge_events_total", (("type", "call.ended"),))] == 1
    assert samples[("edge_stage_seconds_count", (("stage", "asr_final"),))] == 1
    assert samples[("edge_batch_size_count", (("model", "vad"),))] == 2
    assert samples[("edge_batch_size_sum", (("model", "vad"),))] == 6
    assert samples[("edge_asr_window_fallbacks", (("kind", "partial"),))] == 2
    assert samples[("edge_asr_window_fallbacks", (("kind", "final"),))] == 0
    assert samples[("edge_ready", ())] == 1 and samples[("edge_active_calls", ())] == 1
    with pytest.raises(OSError):
        urllib.request.urlopen(metrics.server.url, timeout=2)  # closed


def test_no_port_serves_nothing():
    """[metrics] port not set: the run still counts, nothing listens."""
    metrics = RunMetrics(None, types.SimpleNamespace(window_fallbacks=lambda kind: 0))
    assert metrics.server is None
    metrics.close()


def test_a_busy_port_is_one_config_error():
    """A port in use: a ConfigError naming [metrics] port, not a traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"\[metrics\] port = {port}: cannot listen"):
            MetricsServer(port, CollectorRegistry())
