"""Prometheus metrics of the alert feature, registered in the gateway's own registry."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or CollectorRegistry(auto_describe=True)
        self.registry = r
        self.opened = Counter(
            "campusedge_alerts_opened",
            "Alerts opened, by rule and severity",
            ["rule", "severity"],
            registry=r,
        )
        self.folded = Counter(
            "campusedge_alerts_folded",
            "Matches folded into an open alert with the same key",
            registry=r,
        )
        self.replayed = Counter(
            "campusedge_alerts_replayed", "Redelivered messages recognised and ignored", registry=r
        )
        self.deliveries = Counter(
            "campusedge_alert_deliveries",
            "Webhook delivery attempts by outcome",
            ["target", "status"],
            registry=r,
        )
        self.sse_clients = Gauge(
            "campusedge_alert_sse_clients", "Dashboards connected to the alert stream", registry=r
        )

        self.sse_cut = Counter(
            "campusedge_alert_sse_clients_cut",
            "Alert streams cut off because their client fell too far behind (not reading)",
            registry=r,
        )

    def watch_sse(self, count: Callable[[], int]) -> None:
        self.sse_clients.set_function(count)
