"""Notification fan-out with grouping: one notification for a cluster of alerts of one rule."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from gateway.alerts.clock import Clock
from gateway.alerts.config import AlertConfigs
from gateway.alerts.lifecycle import Lifecycle
from gateway.alerts.model import Alert, Rule, Severity
from gateway.alerts.notification import Channel, Notification, NotificationKind

log = logging.getLogger(__name__)


def _worst(alerts: list[Alert]) -> Severity:
    return max((a.severity for a in alerts), key=lambda s: s.rank)


class Notifier:
    """Groups new alerts by (school, rule) and hands notifications to every channel.

    The first alert of a group goes out at once; alerts of the same group within the school's
    `group_interval_s` after that are held and sent together when the interval ends.
    """

    def __init__(self, lifecycle: Lifecycle, configs: AlertConfigs, clock: Clock,
                 channels: list[Channel]) -> None:
        self.lifecycle = lifecycle
        self.configs = configs
        self.clock = clock
        self.channels = channels
        self._last_sent: dict[tuple[str, Rule], datetime] = {}
        self._held: dict[tuple[str, Rule], list[Alert]] = {}
        self._lock = threading.Lock()

    def opened(self, alerts: list[Alert]) -> None:
        now = self.clock.now()
        groups: dict[tuple[str, Rule], list[Alert]] = {}
        for a in alerts:
            groups.setdefault((a.school, a.rule), []).append(a)
        for key, members in groups.items():
            interval = timedelta(seconds=self.configs.for_school(key[0])
                                 .lifecycle.group_interval_s)
            with self._lock:
                last = self._last_sent.get(key)
                if interval and last is not None and now - last < interval:
                    self._held.setdefault(key, []).extend(members)
                    continue
                self._last_sent[key] = now
            self.emit(NotificationKind.OPENED, members)

    def flush_due(self) -> None:
        """Send held groups whose interval has run out."""
        now = self.clock.now()
        due: list[list[Alert]] = []
        with self._lock:
            for key, members in list(self._held.items()):
                interval = timedelta(seconds=self.configs.for_school(key[0])
                                     .lifecycle.group_interval_s)
                if now - self._last_sent.get(key, now - interval) >= interval:
                    del self._held[key]
                    self._last_sent[key] = now
                    due.append(members)
        for members in due:
            # Alerts acknowledged while held still go out: the group tells of the cluster.
            fresh = [self.lifecycle.get(a.id) or a for a in members]
            self.emit(NotificationKind.OPENED, fresh)

    def held(self, rule: Rule | None = None) -> int:
        with self._lock:
            return sum(len(v) for (_, r), v in self._held.items() if rule in (None, r))

    def emit(self, kind: NotificationKind, alerts: list[Alert],
             escalation_level: int | None = None) -> Notification | None:
        if not alerts:
            return None
        n = Notification(kind=kind, school=alerts[0].school, rule=alerts[0].rule,
                         severity=_worst(alerts), alerts=tuple(alerts), at=self.clock.now())
        if kind is not NotificationKind.RESOLVED:
            # The first notification of an alert is "notified" in its history: "opened" is the
            # alert's own first step, and two "opened" rows read as if it had opened twice.
            action = "notified" if kind is NotificationKind.OPENED else kind.value
            self.lifecycle.mark_notified([a.id for a in alerts], n.at, action,
                                         escalation_level,
                                         {"notification_id": n.id, "alerts": len(alerts)})
        for channel in self.channels:
            try:
                channel.send(n)
            except Exception:  # one broken channel must not keep the others from their alerts
                log.exception("channel %r failed to take notification %s", channel, n.id)
        return n

    def close(self) -> None:
        for channel in self.channels:
            channel.close()
