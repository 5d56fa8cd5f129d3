"""Notification fan-out with grouping: one notification for a cluster of alerts of one rule."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from gateway.alerts.clock import Clock
from gateway.alerts.config import AlertConfigs
from gateway.alerts.lifecycle import Lifecycle
from gateway.alerts.model import Alert, AlertState, Rule, Severity
from gateway.alerts.notification import Channel, Notification, NotificationKind

log = logging.getLogger(__name__)


def _worst(alerts: list[Alert]) -> Severity:
    return max((a.severity for a in alerts), key=lambda s: s.rank)


def _by_school_rule(alerts: list[Alert]) -> dict[tuple[str, Rule], list[Alert]]:
    groups: dict[tuple[str, Rule], list[Alert]] = {}
    for a in alerts:
        groups.setdefault((a.school, a.rule), []).append(a)
    return groups


# A group of notifications: one kind (opened, still open, escalated) of one rule at one school.
GroupKey = tuple[NotificationKind, str, Rule]
# Kinds sent grouped over the school's `group_interval_s`; a resolution goes out at once.
GROUPED_KINDS = (NotificationKind.OPENED, NotificationKind.RENOTIFIED, NotificationKind.ESCALATED)


class Notifier:
    """Groups notifications by (kind, school, rule) and hands them to every channel.

    New alerts, re-notifications and escalations are grouped alike: the first of a group goes
    out at once; the same kind of the same rule at the same school within the school's
    `group_interval_s` after that is held and sent together when the interval ends. Twenty
    bands lost in one lesson are one "still open" message and one escalation, not twenty.
    """

    def __init__(
        self, lifecycle: Lifecycle, configs: AlertConfigs, clock: Clock, channels: list[Channel]
    ) -> None:
        self.lifecycle = lifecycle
        self.configs = configs
        self.clock = clock
        self.channels = channels
        self._last_sent: dict[GroupKey, datetime] = {}
        self._held: dict[GroupKey, list[Alert]] = {}
        # Alerts waiting in some group: a re-notification or escalation stays due (and is
        # found again at every tick) until its group goes out, and must be held only once.
        self._held_ids: set[int] = set()
        self._lock = threading.Lock()
        # While a consumer's transaction is open: sends to channels that keep nothing in the
        # state database, held until it commits (see `after_commit`).
        self._deferred: list[tuple[Channel, Notification]] | None = None

    def opened(self, alerts: list[Alert]) -> None:
        self._group(NotificationKind.OPENED, alerts)

    def renotify(self, alerts: list[Alert]) -> None:
        self._group(NotificationKind.RENOTIFIED, alerts)

    def escalate(self, alerts: list[Alert]) -> None:
        self._group(NotificationKind.ESCALATED, alerts)

    def resolved(self, alerts: list[Alert]) -> None:
        """Resolutions go out at once, one notification per (school, rule)."""
        for (_, _), members in _by_school_rule(alerts).items():
            self.emit(NotificationKind.RESOLVED, members)

    def _interval(self, school: str) -> timedelta:
        return timedelta(seconds=self.configs.for_school(school).lifecycle.group_interval_s)

    def _group(self, kind: NotificationKind, alerts: list[Alert]) -> None:
        now = self.clock.now()
        for (school, rule), members in _by_school_rule(alerts).items():
            key = (kind, school, rule)
            interval = self._interval(school)
            with self._lock:
                members = [a for a in members if a.id not in self._held_ids]
                if not members:
                    continue
                last = self._last_sent.get(key)
                if interval and last is not None and now - last < interval:
                    self._held.setdefault(key, []).extend(members)
                    self._held_ids.update(a.id for a in members)
                    continue
                self._last_sent[key] = now
            self._send(kind, members)

    def flush_due(self) -> None:
        """Send held groups whose interval has run out."""
        now = self.clock.now()
        due: list[tuple[NotificationKind, list[Alert]]] = []
        with self._lock:
            for key, members in list(self._held.items()):
                interval = self._interval(key[1])
                if now - self._last_sent.get(key, now - interval) >= interval:
                    del self._held[key]
                    self._held_ids.difference_update(a.id for a in members)
                    self._last_sent[key] = now
                    due.append((key[0], members))
        for kind, members in due:
            fresh = [self.lifecycle.get(a.id) or a for a in members]
            if kind is not NotificationKind.OPENED:
                # A reminder is for alerts still waiting for someone: those acknowledged or
                # resolved while held have been taken care of.
                fresh = [a for a in fresh if a.state is AlertState.OPEN]
            # Alerts acknowledged while held for their first notification still go out: the
            # group tells of the cluster.
            self._send(kind, fresh)

    def _send(self, kind: NotificationKind, alerts: list[Alert]) -> None:
        self.emit(kind, alerts, escalation_level=1 if kind is NotificationKind.ESCALATED else None)

    def held(self, rule: Rule | None = None, kind: NotificationKind | None = None) -> int:
        with self._lock:
            return sum(
                len(v)
                for (k, _, r), v in self._held.items()
                if rule in (None, r) and kind in (None, k)
            )

    def emit(
        self, kind: NotificationKind, alerts: list[Alert], escalation_level: int | None = None
    ) -> Notification | None:
        if not alerts:
            return None
        n = Notification(
            kind=kind,
            school=alerts[0].school,
            rule=alerts[0].rule,
            severity=_worst(alerts),
            alerts=tuple(alerts),
            at=self.clock.now(),
        )
        if kind is not NotificationKind.RESOLVED:
            # The first notification of an alert is "notified" in its history: "opened" is the
            # alert's own first step, and two "opened" rows read as if it had opened twice.
            action = "notified" if kind is NotificationKind.OPENED else kind.value
            self.lifecycle.mark_notified(
                [a.id for a in alerts],
                n.at,
                action,
                escalation_level,
                {"notification_id": n.id, "alerts": len(alerts)},
            )
        for channel in self.channels:
            if self._deferred is not None and not getattr(channel, "transactional", False):
                self._deferred.append((channel, n))
            else:
                self._deliver(channel, n)
        return n

    @staticmethod
    def _deliver(channel: Channel, n: Notification) -> None:
        try:
            channel.send(n)
        except Exception:  # one broken channel must not keep the others from their alerts
            log.exception("channel %r failed to take notification %s", channel, n.id)

    @contextmanager
    def after_commit(self) -> Iterator[None]:
        """Hold sends to channels outside the state database until the block ends cleanly.

        The alert consumer wraps its step in this, outside its state transaction: an alert
        it raises is sent on MQTT and SSE only once raised for good, never for a step that
        a crash or an error rolls back (and that raises it again later), and no channel's
        own writes (its delivery log) wait on a transaction held by the step that sends.
        A channel marked `transactional` (the webhook outbox, a row in the state database)
        is written inside the transaction, and commits or rolls back with the alert. Every
        caller holds the engine's lock, so one step defers at a time.
        """
        self._deferred = []
        try:
            yield
        except BaseException:
            self._deferred = None
            raise
        pending, self._deferred = self._deferred, None
        for channel, n in pending:
            self._deliver(channel, n)

    def close(self) -> None:
        for channel in self.channels:
            channel.close()
