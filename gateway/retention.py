"""Retention: dead letters, the alert delivery log and the webhook outbox keep so many days."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict, Field

from gateway.alerts.delivery.log import DeliveryLog
from gateway.alerts.delivery.outbox import WebhookOutbox
from gateway.store.base import Store

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
    ) -> None:
        self.settings = settings
        self.store = store
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
        return done

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
