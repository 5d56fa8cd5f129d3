"""Alert records: rules, severities, states, what a rule proposes and what the lifecycle keeps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Rule(StrEnum):
    """Every alert rule; the name is also the last level of the alert's MQTT topic."""

    FEVER = "fever"
    HR_HIGH = "hr_high"
    HR_EXTREME = "hr_extreme"
    HR_LOW = "hr_low"
    HR_SIGNAL_LOST = "hr_signal_lost"
    DEVICE_OFFLINE = "device_offline"
    BATTERY_LOW = "battery_low"
    CLOCK_DRIFT = "clock_drift"
    WARNING_LEVEL = "warning_level"


# Alerts about a person's health; device alerts are about hardware and carry no student.
HEALTH_RULES = frozenset(
    {
        Rule.FEVER,
        Rule.HR_HIGH,
        Rule.HR_EXTREME,
        Rule.HR_LOW,
        Rule.HR_SIGNAL_LOST,
        Rule.WARNING_LEVEL,
    }
)
HEART_RATE_RULES = frozenset({Rule.HR_HIGH, Rule.HR_EXTREME, Rule.HR_LOW, Rule.HR_SIGNAL_LOST})
DEVICE_RULES = frozenset({Rule.DEVICE_OFFLINE, Rule.BATTERY_LOW, Rule.CLOCK_DRIFT})
# What a silence (a maintenance window, set by campus IT or health staff) may hold back: device
# rules only. A health alert always reaches its people; they acknowledge it to stop reminders.
SILENCEABLE_RULES = DEVICE_RULES


@dataclass(frozen=True)
class Candidate:
    """What a rule proposes; the lifecycle decides whether it opens, folds or is a duplicate.

    `key` deduplicates: while an alert with the same key is not resolved, a new candidate
    folds into it. With `fold_window`, it folds only if the open alert was last seen within
    that window (fever: repeat readings of the same student). `source` (device id, seq)
    makes a redelivered message harmless.
    """

    rule: Rule
    key: str
    school: str
    severity: Severity
    at: datetime
    summary: str
    student_id: str | None = None
    class_id: str | None = None
    lesson_id: str | None = None
    teacher_id: str | None = None
    device_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    source: tuple[str, int] | None = None
    fold_window: timedelta | None = None


@dataclass(frozen=True)
class Alert:
    id: int
    rule: Rule
    key: str
    school: str
    severity: Severity
    state: AlertState
    summary: str
    student_id: str | None
    class_id: str | None
    lesson_id: str | None
    teacher_id: str | None
    device_id: str | None
    detail: dict[str, Any]
    count: int
    opened_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: str | None
    last_notified_at: datetime | None
    notify_count: int
    escalation_level: int
    silenced: bool

    @property
    def is_health(self) -> bool:
        return self.rule in HEALTH_RULES and self.student_id is not None


@dataclass(frozen=True)
class AlertEvent:
    """One step in an alert's history: who did what, when."""

    alert_id: int
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]
