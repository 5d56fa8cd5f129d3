"""The alert service as the gateway runs it: configs, engine, channels, SSE hub, delivery log."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from campusedge.settings import MqttSettings
from gateway.alerts.clock import Clock
from gateway.alerts.config import AlertConfigs
from gateway.alerts.delivery.log import DeliveryLog
from gateway.alerts.delivery.mqtt import MqttAlertPublisher
from gateway.alerts.delivery.sse import SseHub
from gateway.alerts.delivery.webhook import WebhookChannel
from gateway.alerts.engine import AlertEngine
from gateway.alerts.metrics import AlertMetrics
from gateway.alerts.notification import Channel
from gateway.devices import Devices
from gateway.roster import Roster
from gateway.state import StateDB


class AlertService:
    """Everything the alert feature needs, built once per gateway; `start`/`stop` with it."""

    def __init__(
        self,
        db: StateDB,
        roster: Roster,
        devices: Devices,
        mqtt: MqttSettings | None,
        config_dir: Path | None = None,
        warning_levels_file: Path | None = None,
        client_id: str = "campusedge",
        clock: Clock | None = None,
        configs: AlertConfigs | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.db = db
        # Configs are validated here, before any connection is made.
        self.configs = configs or AlertConfigs(config_dir, warning_levels_file)
        self.metrics = AlertMetrics(registry)
        self.hub = SseHub(on_cut=self.metrics.sse_cut.inc)
        self.metrics.watch_sse(lambda: self.hub.subscribers)
        self.delivery_log = DeliveryLog(db, self.metrics)
        self.webhooks = WebhookChannel(self.configs, self.delivery_log)
        channels: list[Channel] = [self.hub, self.webhooks]
        self.mqtt: MqttAlertPublisher | None = None
        if mqtt is not None:
            self.mqtt = MqttAlertPublisher(
                mqtt, self.configs, client_id=f"{client_id}-alerts", delivery_log=self.delivery_log
            )
            channels.append(self.mqtt)
        self.engine = AlertEngine(
            db, roster, devices, self.configs, channels, clock=clock, metrics=self.metrics
        )

    def count(self) -> int:
        """How many alerts have been raised (any state), for summaries such as the demo's."""
        return int(self.db.query("SELECT COUNT(*) AS n FROM alerts")[0]["n"])

    def start(self) -> None:
        if self.mqtt is not None:
            self.mqtt.start()
        self.engine.start()

    def stop(self) -> None:
        self.hub.close()
        self.engine.stop()
