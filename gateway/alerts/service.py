"""The alert service as the gateway runs it: configs, engine, channels, SSE hub, delivery log."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from campusedge.settings import MqttSettings
from gateway.alerts.clock import Clock
from gateway.alerts.config import AlertConfigs
from gateway.alerts.delivery.log import DeliveryLog, DeliveryRecord
from gateway.alerts.delivery.mqtt import MqttAlertPublisher
from gateway.alerts.delivery.other_workers import OtherWorkers
from gateway.alerts.delivery.sse import SseHub
from gateway.alerts.delivery.webhook import WebhookChannel
from gateway.alerts.engine import AlertEngine
from gateway.alerts.lifecycle import Silence
from gateway.alerts.metrics import AlertMetrics
from gateway.alerts.model import Alert, AlertEvent, AlertState, Rule
from gateway.alerts.notification import Channel
from gateway.alerts.rules.warning_level import SchoolLevels
from gateway.alerts.visibility import Readable
from gateway.devices import Devices
from gateway.health.absences import IllnessAbsences
from gateway.i18n import Catalogs
from gateway.roster import Roster
from gateway.state import StateDB
from gateway.tables.alerts import alerts


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
        absences: IllnessAbsences | None = None,
        catalogs: Catalogs | None = None,
        dashboard_url: str | None = None,
        district_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.db = db
        # Configs are validated here, before any connection is made.
        self.configs = configs or AlertConfigs(
            config_dir, warning_levels_file, district_of=district_of
        )
        self.metrics = AlertMetrics(registry)
        self.hub = SseHub(on_cut=self.metrics.sse_cut.inc)
        self.metrics.watch_sse(lambda: self.hub.subscribers)
        self.delivery_log = DeliveryLog(db, self.metrics)
        self.webhooks = WebhookChannel(self.configs, self.delivery_log, catalogs, dashboard_url)
        channels: list[Channel] = [self.hub, self.webhooks]
        self.mqtt: MqttAlertPublisher | None = None
        if mqtt is not None:
            self.mqtt = MqttAlertPublisher(
                mqtt, self.configs, client_id=f"{client_id}-alerts", delivery_log=self.delivery_log
            )
            channels.append(self.mqtt)
        # Several processes on one PostgreSQL state (gateway workers): a stream open on one
        # shows the alerts another raises.
        self.other_workers: OtherWorkers | None = None
        if db.dialect == "postgresql":
            self.other_workers = OtherWorkers(db, self.hub, self.get)
            channels.append(self.other_workers)
        self.engine = AlertEngine(
            db,
            roster,
            devices,
            self.configs,
            channels,
            clock=clock,
            metrics=self.metrics,
            absences=absences,
        )

    # --- what people do with alerts (the API's entry points; the engine's parts stay inside) ---
    def find(
        self,
        *,
        school: str | None = None,
        rule: Rule | None = None,
        state: AlertState | None = None,
        limit: int = 500,
        readable: Readable | None = None,
        schools: Collection[str] | None = None,
    ) -> list[Alert]:
        """Newest first; *readable* (see visibility.readable) narrows it to one person's,
        *schools* to those schools' alerts."""
        return self.engine.lifecycle.find(
            school=school,
            rule=rule,
            state=state,
            limit=limit,
            readable=readable,
            schools=schools,
        )

    def get(self, alert_id: int) -> Alert | None:
        return self.engine.lifecycle.get(alert_id)

    def history(self, alert_id: int) -> list[AlertEvent]:
        return self.engine.lifecycle.history(alert_id)

    def acknowledge(self, alert_id: int, actor: str, note: str = "") -> Alert:
        return self.engine.acknowledge(alert_id, actor, note)

    def resolve(self, alert_id: int, actor: str, outcome: str, note: str = "") -> Alert:
        return self.engine.resolve(alert_id, actor, outcome, note)

    def recheck(
        self,
        alert_id: int,
        actor: str,
        temperature_c: float,
        method: str,
        thermometer: str | None = None,
    ) -> Alert:
        return self.engine.recheck(alert_id, actor, temperature_c, method, thermometer)

    def silences(self, school: str | None = None) -> list[Silence]:
        return self.engine.lifecycle.silences(school)

    def add_silence(
        self,
        school: str,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        reason: str,
        rule: Rule | None = None,
        device_id: str | None = None,
    ) -> Silence:
        return self.engine.lifecycle.add_silence(
            school, starts_at, ends_at, created_by, reason, rule, device_id
        )

    def delete_silence(self, silence_id: int, schools: Collection[str] | None = None) -> bool:
        return self.engine.lifecycle.delete_silence(silence_id, schools)

    def follow_lessons(self) -> list[Alert]:
        """Act now on lessons the roster has ended since the engine last looked."""
        return self.engine.follow_lessons()

    def now(self) -> datetime:
        return self.engine.clock.now()

    def today(self, school: str) -> date:
        """The date now in *school*'s time zone."""
        return self.now().astimezone(self.configs.for_school(school).zone).date()

    def levels(self, school: str, day: date) -> SchoolLevels:
        return self.engine.levels(school, day)

    def levels_changed(self, school: str, day: date) -> None:
        """Re-evaluate a day's warning levels after new counts (an absence entered)."""
        self.engine.levels_changed(school, day)

    def deliveries(self, notification_id: str | None, limit: int) -> list[DeliveryRecord]:
        return self.delivery_log.entries(notification_id=notification_id, limit=limit)

    def schools_of(self, alert_ids: Iterable[int]) -> dict[int, str]:
        """The school of each of *alert_ids* that exists."""
        ids = sorted(set(alert_ids))
        found: dict[int, str] = {}
        for start in range(0, len(ids), 10_000):  # SQLite's limit on a statement's variables
            rows = self.db.query(
                select(alerts.c.id, alerts.c.school).where(
                    alerts.c.id.in_(ids[start : start + 10_000])
                )
            )
            found.update((r["id"], r["school"]) for r in rows)
        return found

    def count(self) -> int:
        """How many alerts have been raised (any state), for summaries such as the demo's."""
        return int(self.db.query(select(func.count().label("n")).select_from(alerts))[0]["n"])

    def start(self) -> None:
        if self.mqtt is not None:
            self.mqtt.start()
        if self.other_workers is not None:
            self.other_workers.start()
        self.engine.start()

    def stop(self) -> None:
        self.hub.close()
        self.engine.stop()
        if self.other_workers is not None:
            self.other_workers.close()
