"""Live alerts across gateway workers: what one worker raises reaches the alert streams open
on the others (NOTIFY with the alerts' ids; each listener reads them and sends them on).

A school's alerts are raised by the worker holding it, while a nurse's dashboard may be
connected to any worker; without this, its stream would show only its own worker's alerts
until the page loaded the list again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

from gateway.alerts.model import Alert, Severity
from gateway.alerts.notification import Channel, Notification, NotificationKind
from gateway.state import StateDB
from gateway.worker_news import WorkerNews

log = logging.getLogger(__name__)

CHANNEL = "campusedge_alerts"
# A NOTIFY payload is at most 8000 bytes: larger groups go out as several notices.
IDS_PER_NOTICE = 500


class OtherWorkers:
    """A channel that tells the other workers of each notification (in the transaction that
    raised it, so not for a step that rolls back), and hands what it hears from them to
    *local* (this worker's alert streams)."""

    # Sent in the consumer's transaction: the notice goes out at its commit.
    transactional = True

    def __init__(
        self, db: StateDB, local: Channel, get_alert: Callable[[int], Alert | None]
    ) -> None:
        self.local = local
        self.get_alert = get_alert
        self.news = WorkerNews(db, CHANNEL, self._heard, "live alerts")

    def start(self) -> None:
        self.news.start()

    def send(self, notification: Notification) -> None:
        ids = [a.id for a in notification.alerts]
        for start in range(0, len(ids), IDS_PER_NOTICE):
            self.news.tell(
                json.dumps(
                    {
                        "kind": notification.kind.value,
                        "severity": notification.severity.value,
                        "at": notification.at.isoformat(),
                        "ids": ids[start : start + IDS_PER_NOTICE],
                    }
                )
            )

    def _heard(self, payload: str | None) -> None:
        if payload is None:
            return  # the pages load their lists again when their streams reconnect
        try:
            data = json.loads(payload)
            alerts = [a for a in (self.get_alert(int(i)) for i in data["ids"]) if a is not None]
            if not alerts:
                return
            self.local.send(
                Notification(
                    kind=NotificationKind(data["kind"]),
                    school=alerts[0].school,
                    rule=alerts[0].rule,
                    severity=Severity(data["severity"]),
                    alerts=tuple(alerts),
                    at=datetime.fromisoformat(data["at"]),
                )
            )
        except Exception:  # another worker's notice must not end this listener
            log.exception("live alerts: could not pass on another worker's notice")

    def close(self) -> None:
        self.news.stop()
