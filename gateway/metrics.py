"""Prometheus metrics of the gateway, in a registry of its own (no module-level state)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# The device label of devices that are not enrolled: in brackets, which no device id may
# contain, so it never merges with a real device's series.
UNKNOWN_DEVICE = "(unknown)"


class GatewayMetrics:
    """Counters and gauges for ingest; one instance per gateway, rendered at /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "campusedge_messages_received", "MQTT messages received", ["channel"], registry=r
        )
        self.stored = Counter("campusedge_messages_stored", "Messages durably stored", registry=r)
        self.duplicates = Counter(
            "campusedge_messages_duplicate",
            "Messages already stored (redelivery or device resend)",
            registry=r,
        )
        self.dead_letters = Counter(
            "campusedge_dead_letters", "Rejected messages by reason", ["reason"], registry=r
        )
        self.batch_seconds = Histogram(
            "campusedge_batch_commit_seconds",
            "Time to commit one batch to the store",
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.batch_size = Histogram(
            "campusedge_batch_size",
            "Messages per committed batch",
            registry=r,
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2000),
        )
        self.queue_depth = Gauge(
            "campusedge_ingest_queue_depth", "Messages received but not yet committed", registry=r
        )
        self.connected = Gauge(
            "campusedge_mqtt_connected", "1 while connected to the broker", registry=r
        )
        self.device_last_seen = Gauge(
            "campusedge_device_last_seen_timestamp_seconds",
            "When a device's last message was received",
            ["device_id", "kind"],
            registry=r,
        )
        self.device_messages = Counter(
            "campusedge_device_messages",
            "Messages stored per device",
            ["device_id", "kind"],
            registry=r,
        )
        self.device_dead_letters = Counter(
            "campusedge_device_dead_letters",
            'Rejected messages per known device; others under device_id="(unknown)"',
            ["device_id"],
            registry=r,
        )
        # By channel only: the device ids are whatever an unenrolled publisher makes up.
        self.unknown_device = Counter(
            "campusedge_unknown_device_messages",
            "Messages refused by strict enrolment (device not in the fleet registry under "
            "its school, or a status claiming another box)",
            ["channel"],
            registry=r,
        )
        self.health_problem = Gauge(
            "campusedge_health_problem",
            "1 while this reason makes /healthz fail (see Ingest.problems)",
            ["reason"],
            registry=r,
        )
        self.mqtt_side_restarts = Counter(
            "campusedge_mqtt_process_restarts",
            "Times the watchdog restarted an MQTT process that made no progress",
            registry=r,
        )
        self.dead_letter_notices_dropped = Counter(
            "campusedge_dead_letter_notices_dropped",
            "Dead letters stored but not republished on the dead-letter topic (queue full)",
            registry=r,
        )
        self.push_requests = Counter(
            "campusedge_push_requests",
            "HTTP push requests (POST /api/ingest) by outcome: stored, duplicate, dead_lettered, "
            "refused (no, unknown or another device's token), failed (the store)",
            ["outcome"],
            registry=r,
        )
        self.store_errors = Counter(
            "campusedge_store_errors", "Failed batch commits (retried)", registry=r
        )
        self.translations_missing = Counter(
            "campusedge_translations_missing",
            "Messages shown in English because the language's catalog lacks them",
            ["language"],
            registry=r,
        )

    def count_missing_translation(self, language: str, message: str) -> None:
        """The hook of gateway.i18n.Catalogs; by language only, as message ids are long."""
        self.translations_missing.labels(language=language).inc()

    def count_devices(
        self,
        seen: Mapping[tuple[str, str, str], tuple[datetime, int]],
        enrolled: Collection[tuple[str, str]],
    ) -> None:
        """Per-device last-seen time and message count of a committed batch; *seen* maps
        (school, device id, kind) to (last received, messages).

        Only enrolled devices (school, device id) get series of their own: a device id is
        whatever a publisher puts in the topic, and /metrics must not grow three series per
        invented id. The others are counted together under UNKNOWN_DEVICE, per kind.
        """
        unknown: dict[str, tuple[float, int]] = {}
        for (school, device_id, kind), (at, count) in seen.items():
            if (school, device_id) in enrolled:
                self.device_last_seen.labels(device_id=device_id, kind=kind).set(at.timestamp())
                self.device_messages.labels(device_id=device_id, kind=kind).inc(count)
            else:
                last, total = unknown.get(kind, (0.0, 0))
                unknown[kind] = (max(last, at.timestamp()), total + count)
        for kind, (last, total) in unknown.items():
            self.device_last_seen.labels(device_id=UNKNOWN_DEVICE, kind=kind).set(last)
            self.device_messages.labels(device_id=UNKNOWN_DEVICE, kind=kind).inc(total)
