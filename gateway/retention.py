"""Retention: how many days each kind of record is kept, and the sweep that removes the rest."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict, Field

from gateway.alerts.delivery.log import DeliveryLog
from gateway.alerts.delivery.outbox import WebhookOutbox
from gateway.auth import Role, User
from gateway.privacy import purge
from gateway.state import StateDB
from gateway.store.base import Store
from gateway.tables.people import audit_log

# Who the audit log names for what the sweep removed.
SWEEP_ACTOR = User("retention", "retention sweep", Role.CAMPUS_IT)
# The classes of students' data whose removal the audit log records (counts, no names).
_AUDITED = ("raw_readings", "health_alerts", "vision_records", "fitness_results", "audit_log")

log = logging.getLogger(__name__)


class RetentionSettings(BaseModel):
    """How long each kind of record is kept (CAMPUSEDGE_RETENTION as JSON)."""

    model_config = ConfigDict(extra="forbid")

    dead_letter_days: int = Field(default=30, ge=1, description="rejected messages")
    delivery_log_days: int = Field(
        default=90, ge=1, description="every attempt to deliver an alert notification"
    )
    webhook_outbox_days: int = Field(
        default=7,
        ge=1,
        description="a webhook delivery still waiting after this long is given up",
    )
    # Students' data (docs/security.md, "Retention", gives each default and its source).
    raw_readings_days: int = Field(
        default=180, ge=1, description="messages and readings in the readings store"
    )
    health_alert_days: int = Field(
        default=365,
        ge=1,
        description="resolved health alerts with their history, and recorded absences",
    )
    vision_record_days: int = Field(
        default=3 * 365, ge=1, description="vision screenings and their referrals"
    )
    fitness_result_days: int = Field(
        default=6 * 365, ge=1, description="fitness-test results (a primary school's six years)"
    )
    audit_days: int = Field(
        default=365,
        ge=180,
        description="the audit log; the Cybersecurity Law (art. 21) asks for at least 6 months",
    )
    sweep_interval_s: float = Field(default=3600, ge=1, description="how often to sweep")


class RetentionSweep:
    """Removes what is past its retention, at start and then every `sweep_interval_s`.

    Each part is swept on its own: a store that cannot answer now does not keep the delivery
    log from being swept, and the next sweep tries again.
    """

    def __init__(
        self,
        settings: RetentionSettings,
        store: Store,
        delivery_log: DeliveryLog | None,
        outbox: WebhookOutbox | None,
        registry: CollectorRegistry,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        db: StateDB | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.db = db
        self.delivery_log = delivery_log
        self.outbox = outbox
        self.now = now
        self.removed = Counter(
            "campusedge_retention_removed",
            "Records removed as past their retention, by kind",
            ["what"],
            registry=registry,
        )
        self.errors = Counter(
            "campusedge_retention_errors",
            "Retention sweeps of a kind that failed (tried again at the next sweep)",
            ["what"],
            registry=registry,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> dict[str, int]:
        """One sweep of every part; returns how many records each lost."""
        now = self.now()
        s = self.settings
        parts: dict[str, Callable[[], int]] = {
            "dead_letters": lambda: self.store.delete_dead_letters(
                now - timedelta(days=s.dead_letter_days)
            ),
        }
        if self.delivery_log is not None:
            delivery_log = self.delivery_log
            parts["delivery_log"] = lambda: delivery_log.delete_before(
                now - timedelta(days=s.delivery_log_days)
            )
        if self.outbox is not None and self.delivery_log is not None:
            parts["webhook_outbox"] = lambda: self._expire_outbox(
                now - timedelta(days=s.webhook_outbox_days)
            )
        cutoffs = {
            "raw_readings": now - timedelta(days=s.raw_readings_days),
            "health_alerts": now - timedelta(days=s.health_alert_days),
            "vision_records": now - timedelta(days=s.vision_record_days),
            "fitness_results": now - timedelta(days=s.fitness_result_days),
            "audit_log": now - timedelta(days=s.audit_days),
        }
        parts["raw_readings"] = lambda: self.store.delete_messages(cutoffs["raw_readings"])
        if self.db is not None:
            db = self.db
            parts["health_alerts"] = lambda: purge.purge_health_alerts(db, cutoffs["health_alerts"])
            parts["vision_records"] = lambda: purge.purge_vision_records(
                db, cutoffs["vision_records"]
            )
            parts["fitness_results"] = lambda: purge.purge_fitness_results(
                db, cutoffs["fitness_results"]
            )
            parts["audit_log"] = lambda: purge.purge_audit_log(db, cutoffs["audit_log"])
        done: dict[str, int] = {}
        for what, remove in parts.items():
            try:
                done[what] = remove()
            except Exception:  # the next sweep tries again; the others go on
                self.errors.labels(what=what).inc()
                log.exception(
                    "retention of %s failed; trying again in %g s", what, s.sweep_interval_s
                )
                continue
            self.removed.labels(what=what).inc(done[what])
            if done[what]:
                log.info("retention: removed %d %s", done[what], what.replace("_", " "))
                if what in _AUDITED:
                    self._record(what, done[what], cutoffs[what], now)
        return done

    def _record(self, what: str, removed: int, before: datetime, now: datetime) -> None:
        """The audit log keeps what the sweep removed of students' data: counts, no names."""
        if self.db is None:
            return
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    audit_log.insert().values(
                        at=now.isoformat(),
                        user_id=SWEEP_ACTOR.id,
                        role=SWEEP_ACTOR.role.value,
                        action="retention_purge",
                        subject_type="data_class",
                        subject_id=what,
                        detail=f"removed {removed} records from before {before.isoformat()}",
                    )
                )
        except Exception:  # the removal stands; only its record is missing
            log.exception("could not record the retention of %s in the audit log", what)

    def _expire_outbox(self, before: datetime) -> int:
        assert self.outbox is not None and self.delivery_log is not None
        expired = self.outbox.expire(before)
        for target, row in expired:
            self.delivery_log.record(
                row.notification_id,
                "webhook",
                target.split("|", 1)[0],
                row.attempts,
                "gave_up",
                row.alert_ids,
                error=f"still waiting after {self.settings.webhook_outbox_days} days (retention)",
            )
        return len(expired)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sweep()
            self._stop.wait(self.settings.sweep_interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
