"""Prometheus metrics of the edge agent, served on a port of its own when the box config sets one.

The agent's main loop owns the buffer (SQLite) and every counter, and the HTTP server answers
in its own thread: so the loop hands over an immutable snapshot (at most once a second) and a
scrape only reads the latest one, never the agent's state.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

PREFIX = "campusedge_edge"


@dataclass(frozen=True)
class Snapshot:
    """The agent's numbers at one moment."""

    buffered: int = 0
    buffered_bytes: int = 0
    oldest_age_s: float | None = None
    published: int = 0
    acked: int = 0
    dropped: int = 0
    connected: bool = False
    connects: int = 0
    # By device entry (one transport: a base station's ropes share it).
    decode_errors: dict[str, int] = field(default_factory=dict)
    corrupted_frames: dict[str, int] = field(default_factory=dict)
    # By published device id: polls that got no usable answer (Modbus timeouts, exceptions).
    poll_errors: dict[str, int] = field(default_factory=dict)
    # By published device id: Unix time of the last frame decoded for it.
    last_seen_s: dict[str, float] = field(default_factory=dict)
    # By PE-station device id: frames per second its pose pipeline took over the last interval.
    pe_fps: dict[str, float] = field(default_factory=dict)


class EdgeMetrics:
    """A registry of its own (no module-level state) whose one collector reads the snapshot."""

    def __init__(self, edge_id: str) -> None:
        self.edge_id = edge_id
        self._lock = threading.Lock()
        self._snapshot = Snapshot()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def update(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshot = snapshot

    def describe(self) -> list[Metric]:
        return []  # families are known only from a snapshot; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            s = self._snapshot
        yield _gauge("buffer_messages", "Messages in the store-and-forward buffer", s.buffered)
        yield _gauge("buffer_bytes", "Payload bytes in the buffer", s.buffered_bytes)
        if s.oldest_age_s is not None:
            yield _gauge(
                "buffer_oldest_age_seconds",
                "Age of the oldest buffered message (not yet known stored), by its timestamp",
                s.oldest_age_s,
            )
        yield _counter("published", "MQTT publishes (first sends and resends)", s.published)
        yield _counter("acked", "Publishes the broker acknowledged", s.acked)
        yield _counter("dropped", "Messages dropped by the buffer's bound", s.dropped)
        yield _gauge("mqtt_connected", "1 while connected to the broker", int(s.connected))
        yield _counter(
            "mqtt_connects",
            "Connections made to the broker (reconnects are this minus 1)",
            s.connects,
        )
        yield _labelled(
            CounterMetricFamily, "decode_errors", "Frames a driver refused", s.decode_errors
        )
        yield _labelled(
            CounterMetricFamily,
            "corrupted_frames",
            "Frame candidates a framer dropped (bad checksum, overlong line)",
            s.corrupted_frames,
        )
        if s.poll_errors:
            yield _labelled(
                CounterMetricFamily,
                "poll_errors",
                "Polls of a device without a usable answer (timeout, exception response)",
                s.poll_errors,
            )
        yield _labelled(
            GaugeMetricFamily,
            "device_last_seen_timestamp_seconds",
            "When a frame of the device was last decoded (Unix time)",
            s.last_seen_s,
        )
        if s.pe_fps:
            yield _labelled(
                GaugeMetricFamily,
                "pe_fps",
                "Frames per second of a PE station's pipeline",
                s.pe_fps,
            )

    # -- serving ------------------------------------------------------------------------

    def serve(self, host: str, port: int) -> int:
        """Serve `/metrics` on *host*:*port* in a thread of its own; the port bound."""
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        return int(self._server.server_port)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", doc, value=value)


def _labelled(
    family: type[CounterMetricFamily] | type[GaugeMetricFamily],
    name: str,
    doc: str,
    values: dict[str, float] | dict[str, int],
) -> Metric:
    metric = family(f"{PREFIX}_{name}", doc, labels=["device"])
    for device, value in sorted(values.items()):
        metric.add_metric([device], value)
    return metric
