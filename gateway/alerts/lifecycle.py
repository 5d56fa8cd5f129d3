"""Alert lifecycle: open → acknowledged → resolved, with dedup by key, history and silences."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.alerts.clock import Clock
from gateway.alerts.model import (
    SILENCEABLE_RULES,
    Alert,
    AlertEvent,
    AlertState,
    Candidate,
    Rule,
    Severity,
)
from gateway.state import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    rule TEXT NOT NULL,
    school TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    summary TEXT NOT NULL,
    student_id TEXT,
    class_id TEXT,
    lesson_id TEXT,
    teacher_id TEXT,
    device_id TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    count INTEGER NOT NULL DEFAULT 1,
    opened_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    resolved_at TEXT,
    resolved_by TEXT,
    outcome TEXT,
    last_notified_at TEXT,
    notify_count INTEGER NOT NULL DEFAULT 0,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    silenced INTEGER NOT NULL DEFAULT 0
);
-- At most one unresolved alert per key: the database enforces the deduplication.
CREATE UNIQUE INDEX IF NOT EXISTS alerts_active_key ON alerts(key) WHERE state != 'resolved';
CREATE INDEX IF NOT EXISTS alerts_school_opened ON alerts(school, opened_at);
CREATE TABLE IF NOT EXISTS alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS alert_events_alert ON alert_events(alert_id);
-- Which stored message fed which alert: a redelivered message is recognised and ignored.
CREATE TABLE IF NOT EXISTS alert_sources (
    rule TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    PRIMARY KEY (rule, device_id, seq)
);
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school TEXT NOT NULL,
    rule TEXT,
    device_id TEXT,
    class_id TEXT,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    reason TEXT NOT NULL
);
"""

SYSTEM = "system"


class LifecycleError(ValueError):
    """A transition that the alert's state does not allow, or an unknown alert."""


@dataclass(frozen=True)
class RaiseResult:
    alert: Alert
    created: bool
    folded: bool
    duplicate: bool


@dataclass(frozen=True)
class Silence:
    id: int
    school: str
    rule: Rule | None
    device_id: str | None
    class_id: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str

    def matches(self, c: Candidate | Alert, at: datetime) -> bool:
        # A silence is a maintenance window for hardware: it never covers a health alert,
        # whatever it names (a fever at a gate under maintenance is still a child's fever).
        return (
            c.rule in SILENCEABLE_RULES
            and self.school == c.school
            and self.starts_at <= at < self.ends_at
            and (self.rule is None or self.rule == c.rule)
            and (self.device_id is None or self.device_id == c.device_id)
            and (self.class_id is None or self.class_id == c.class_id)
        )


def _silence_text(at: datetime) -> str:
    """A silence's time as stored: UTC, fixed width, so that SQL compares it as text."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _aware(text: str) -> datetime:
    """A stored time; one stored without an offset (older rows) is taken as UTC."""
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _dt(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _alert(r: sqlite3.Row) -> Alert:
    opened = datetime.fromisoformat(r["opened_at"])
    return Alert(
        id=r["id"],
        rule=Rule(r["rule"]),
        key=r["key"],
        school=r["school"],
        severity=Severity(r["severity"]),
        state=AlertState(r["state"]),
        summary=r["summary"],
        student_id=r["student_id"],
        class_id=r["class_id"],
        lesson_id=r["lesson_id"],
        teacher_id=r["teacher_id"],
        device_id=r["device_id"],
        detail=json.loads(r["detail"]),
        count=r["count"],
        opened_at=opened,
        last_seen_at=datetime.fromisoformat(r["last_seen_at"]),
        acknowledged_at=_dt(r["acknowledged_at"]),
        acknowledged_by=r["acknowledged_by"],
        resolved_at=_dt(r["resolved_at"]),
        resolved_by=r["resolved_by"],
        outcome=r["outcome"],
        last_notified_at=_dt(r["last_notified_at"]),
        notify_count=r["notify_count"],
        escalation_level=r["escalation_level"],
        silenced=bool(r["silenced"]),
    )


def _merge_detail(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = {**old, **new}
    # Keep the worst reading seen while folding (a fever's maximum temperature).
    for key in ("max_value",):
        if key in old and key in new:
            merged[key] = max(old[key], new[key])
    return merged


def _folded_summary(active: Alert, c: Candidate) -> str:
    """What a folded alert says: its worst reading, like its `max_value`.

    The summary is what the dashboard and "still open" messages show; a fever first seen at
    38.5 °C and then at 39.1 °C must say 39.1. Rules without a `max_value` describe the
    newest reading, as their detail does.
    """
    old, new = active.detail.get("max_value"), c.detail.get("max_value")
    if isinstance(old, int | float) and isinstance(new, int | float) and new < old:
        return active.summary
    return c.summary


class Lifecycle:
    """Alerts and their history in the gateway's state database."""

    def __init__(self, db: StateDB, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        db.ensure(SCHEMA)
        self._silence_times_in_utc()

    def _silence_times_in_utc(self) -> None:
        """Rewrite silence times stored in another form (an offset other than UTC, none at
        all) as fixed-width UTC text, so that SQL compares them as instants."""
        with self.db.transaction() as conn:
            for row in conn.execute("SELECT id, starts_at, ends_at FROM silences").fetchall():
                starts, ends = (_silence_text(_aware(row[k])) for k in ("starts_at", "ends_at"))
                if (starts, ends) != (row["starts_at"], row["ends_at"]):
                    conn.execute(
                        "UPDATE silences SET starts_at=?, ends_at=? WHERE id=?",
                        (starts, ends, row["id"]),
                    )

    # --- raising ------------------------------------------------------------------------------
    def raise_(self, c: Candidate, silenced: bool = False) -> RaiseResult:
        """Open an alert for *c*, fold it into the open alert with its key, or ignore a replay."""
        with self.db.transaction() as conn:
            if c.source is not None:
                row = conn.execute(
                    "SELECT a.* FROM alert_sources s JOIN alerts a ON a.id = s.alert_id "
                    "WHERE s.rule=? AND s.device_id=? AND s.seq=?",
                    (c.rule.value, c.source[0], c.source[1]),
                ).fetchone()
                if row is not None:
                    return RaiseResult(_alert(row), created=False, folded=False, duplicate=True)
            row = conn.execute(
                "SELECT * FROM alerts WHERE key=? AND state != 'resolved'", (c.key,)
            ).fetchone()
            if row is not None:
                active = _alert(row)
                if c.fold_window is None or c.at - active.last_seen_at <= c.fold_window:
                    return RaiseResult(
                        self._fold(conn, active, c), created=False, folded=True, duplicate=False
                    )
                # Outside the fold window: the old alert is stale; close it so the new one
                # can take the key (still visible in history as expired).
                self._set_resolved(conn, active.id, c.at, SYSTEM, "expired")
            alert = self._insert(conn, c, silenced)
            return RaiseResult(alert, created=True, folded=False, duplicate=False)

    def _insert(self, conn: sqlite3.Connection, c: Candidate, silenced: bool) -> Alert:
        cur = conn.execute(
            "INSERT INTO alerts(key, rule, school, severity, state, summary, student_id, "
            "class_id, lesson_id, teacher_id, device_id, detail, opened_at, last_seen_at, "
            "silenced) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                c.key,
                c.rule.value,
                c.school,
                c.severity.value,
                AlertState.OPEN.value,
                c.summary,
                c.student_id,
                c.class_id,
                c.lesson_id,
                c.teacher_id,
                c.device_id,
                json.dumps(dict(c.detail)),
                _iso(c.at),
                _iso(c.at),
                int(silenced),
            ),
        )
        alert_id = int(cur.lastrowid or 0)
        self._event(
            conn,
            alert_id,
            c.at,
            SYSTEM,
            "opened",
            {"summary": c.summary, "silenced": silenced, **dict(c.detail)},
        )
        self._source(conn, c, alert_id)
        return self._get(conn, alert_id)

    def _fold(self, conn: sqlite3.Connection, active: Alert, c: Candidate) -> Alert:
        severity = c.severity if c.severity.rank > active.severity.rank else active.severity
        detail = _merge_detail(active.detail, dict(c.detail))
        conn.execute(
            "UPDATE alerts SET count=count+1, last_seen_at=MAX(last_seen_at, ?), "
            "severity=?, detail=?, summary=? WHERE id=?",
            (_iso(c.at), severity.value, json.dumps(detail), _folded_summary(active, c), active.id),
        )
        self._event(conn, active.id, c.at, SYSTEM, "folded", dict(c.detail))
        self._source(conn, c, active.id)
        return self._get(conn, active.id)

    @staticmethod
    def _source(conn: sqlite3.Connection, c: Candidate, alert_id: int) -> None:
        if c.source is not None:
            conn.execute(
                "INSERT OR IGNORE INTO alert_sources(rule, device_id, seq, alert_id) "
                "VALUES (?,?,?,?)",
                (c.rule.value, c.source[0], c.source[1], alert_id),
            )

    @staticmethod
    def _event(
        conn: sqlite3.Connection,
        alert_id: int,
        at: datetime,
        actor: str,
        action: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO alert_events(alert_id, at, actor, action, detail) VALUES (?,?,?,?,?)",
            (alert_id, _iso(at), actor, action, json.dumps(detail or {}, default=str)),
        )

    @staticmethod
    def _get(conn: sqlite3.Connection, alert_id: int) -> Alert:
        row = conn.execute("SELECT * FROM alerts WHERE id=?", (alert_id,)).fetchone()
        if row is None:
            raise LifecycleError(f"no alert {alert_id}")
        return _alert(row)

    # --- transitions by people ----------------------------------------------------------------
    def acknowledge(self, alert_id: int, actor: str, note: str = "") -> Alert:
        now = self.clock.now()
        with self.db.transaction() as conn:
            alert = self._get(conn, alert_id)
            if alert.state is not AlertState.OPEN:
                raise LifecycleError(
                    f"alert {alert_id} is {alert.state.value}; only an open "
                    "alert can be acknowledged"
                )
            conn.execute(
                "UPDATE alerts SET state=?, acknowledged_at=?, acknowledged_by=? WHERE id=?",
                (AlertState.ACKNOWLEDGED.value, _iso(now), actor, alert_id),
            )
            self._event(conn, alert_id, now, actor, "acknowledged", {"note": note})
            return self._get(conn, alert_id)

    def resolve(
        self, alert_id: int, actor: str, outcome: str = "resolved", note: str = ""
    ) -> Alert:
        now = self.clock.now()
        with self.db.transaction() as conn:
            alert = self._get(conn, alert_id)
            if alert.state is AlertState.RESOLVED:
                raise LifecycleError(f"alert {alert_id} is already resolved")
            self._set_resolved(conn, alert_id, now, actor, outcome, note)
            return self._get(conn, alert_id)

    def _set_resolved(
        self,
        conn: sqlite3.Connection,
        alert_id: int,
        at: datetime,
        actor: str,
        outcome: str,
        note: str = "",
    ) -> None:
        conn.execute(
            "UPDATE alerts SET state=?, resolved_at=?, resolved_by=?, outcome=? WHERE id=?",
            (AlertState.RESOLVED.value, _iso(at), actor, outcome, alert_id),
        )
        self._event(conn, alert_id, at, actor, "resolved", {"outcome": outcome, "note": note})

    def resolve_key(self, key: str, outcome: str) -> Alert | None:
        """Resolve the active alert with *key* on the system's behalf (a device came back)."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id FROM alerts WHERE key=? AND state != 'resolved'", (key,)
            ).fetchone()
            if row is None:
                return None
            self._set_resolved(conn, row["id"], now, SYSTEM, outcome)
            return self._get(conn, row["id"])

    def resolve_lesson(
        self, lesson_id: str, rules: Collection[Rule], actor: str, outcome: str, note: str
    ) -> list[Alert]:
        """Resolve the unresolved alerts of *rules* raised in lesson *lesson_id*."""
        now = self.clock.now()
        marks = ",".join("?" * len(rules))
        with self.db.transaction() as conn:
            ids = [
                int(r["id"])
                for r in conn.execute(
                    f"SELECT id FROM alerts WHERE lesson_id=? AND rule IN ({marks}) "
                    "AND state != 'resolved' ORDER BY id",
                    (lesson_id, *(r.value for r in rules)),
                )
            ]
            for alert_id in ids:
                self._set_resolved(conn, alert_id, now, actor, outcome, note)
            return [self._get(conn, alert_id) for alert_id in ids]

    def lessons_with_unresolved(self, rules: Collection[Rule]) -> set[str]:
        """Lessons that have an unresolved alert of one of *rules*."""
        marks = ",".join("?" * len(rules))
        return {
            r["lesson_id"]
            for r in self.db.query(
                f"SELECT DISTINCT lesson_id FROM alerts WHERE rule IN ({marks}) "
                "AND state != 'resolved' AND lesson_id IS NOT NULL",
                tuple(r.value for r in rules),
            )
        }

    def record_recheck(
        self, alert_id: int, actor: str, temperature_c: float, threshold_c: float, method: str
    ) -> Alert:
        """A contact-thermometer recheck: confirms the fever or clears the alert."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            alert = self._get(conn, alert_id)
            if alert.rule is not Rule.FEVER:
                raise LifecycleError(
                    f"alert {alert_id} is a {alert.rule.value} alert; only "
                    "fever alerts take a recheck"
                )
            if alert.state is AlertState.RESOLVED:
                raise LifecycleError(f"alert {alert_id} is already resolved")
            confirmed = temperature_c >= threshold_c
            detail = {
                **alert.detail,
                "recheck_c": temperature_c,
                "recheck_method": method,
                "recheck_by": actor,
                "recheck_at": _iso(now),
                "confirmed": confirmed,
            }
            conn.execute("UPDATE alerts SET detail=? WHERE id=?", (json.dumps(detail), alert_id))
            self._event(
                conn,
                alert_id,
                now,
                actor,
                "recheck",
                {
                    "temperature_c": temperature_c,
                    "method": method,
                    "threshold_c": threshold_c,
                    "confirmed": confirmed,
                },
            )
            if confirmed:
                if alert.state is AlertState.OPEN:
                    conn.execute(
                        "UPDATE alerts SET state=?, acknowledged_at=?, "
                        "acknowledged_by=? WHERE id=?",
                        (AlertState.ACKNOWLEDGED.value, _iso(now), actor, alert_id),
                    )
                    self._event(
                        conn,
                        alert_id,
                        now,
                        actor,
                        "acknowledged",
                        {"note": "fever confirmed by recheck"},
                    )
            else:
                self._set_resolved(conn, alert_id, now, actor, "cleared", "recheck below threshold")
            return self._get(conn, alert_id)

    # --- notification bookkeeping -------------------------------------------------------------
    def mark_notified(
        self,
        alert_ids: Iterable[int],
        at: datetime,
        action: str,
        escalation_level: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record that the alerts went out; *action* names how in their history (`notified`,
        `renotified`, `escalated`), never `opened`, which is the alert's own first step."""
        ids = list(alert_ids)
        if not ids:
            return
        with self.db.transaction() as conn:
            for alert_id in ids:
                if escalation_level is None:
                    conn.execute(
                        "UPDATE alerts SET last_notified_at=?, "
                        "notify_count=notify_count+1 WHERE id=?",
                        (_iso(at), alert_id),
                    )
                else:
                    conn.execute(
                        "UPDATE alerts SET last_notified_at=?, "
                        "notify_count=notify_count+1, escalation_level=? WHERE id=?",
                        (_iso(at), escalation_level, alert_id),
                    )
                self._event(conn, alert_id, at, SYSTEM, action, detail)

    def never_notified(self) -> list[Alert]:
        return [
            _alert(r)
            for r in self.db.query(
                "SELECT * FROM alerts WHERE state='open' AND silenced=0 "
                "AND last_notified_at IS NULL ORDER BY id"
            )
        ]

    def unacknowledged(
        self, notified_before: datetime | None = None, opened_before: datetime | None = None
    ) -> list[Alert]:
        """Open, unsilenced, already notified alerts; with the cut-offs, only those that were
        last notified before one or opened (and not yet escalated) before the other."""
        sql = (
            "SELECT * FROM alerts WHERE state='open' AND silenced=0 "
            "AND last_notified_at IS NOT NULL"
        )
        params: list[object] = []
        if notified_before is not None and opened_before is not None:
            sql += " AND (last_notified_at <= ? OR (escalation_level=0 AND opened_at <= ?))"
            params += [notified_before.isoformat(), opened_before.isoformat()]
        return [_alert(r) for r in self.db.query(sql + " ORDER BY id", tuple(params))]

    # --- reading ------------------------------------------------------------------------------
    def get(self, alert_id: int) -> Alert | None:
        rows = self.db.query("SELECT * FROM alerts WHERE id=?", (alert_id,))
        return _alert(rows[0]) if rows else None

    def ever(self, key: str) -> bool:
        """Whether an alert with *key* was ever raised (any state)."""
        return bool(self.db.query("SELECT 1 FROM alerts WHERE key=? LIMIT 1", (key,)))

    def active(self, key: str) -> Alert | None:
        rows = self.db.query("SELECT * FROM alerts WHERE key=? AND state != 'resolved'", (key,))
        return _alert(rows[0]) if rows else None

    def find(
        self,
        *,
        school: str | None = None,
        rule: Rule | None = None,
        state: AlertState | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
        readable: tuple[Collection[Rule], Collection[Rule], str | None] | None = None,
    ) -> list[Alert]:
        """Newest first; `readable` (see visibility.readable) narrows it to one person's."""
        sql, params = "SELECT * FROM alerts WHERE 1=1", list[object]()
        for column, value in (
            ("school", school),
            ("rule", rule and rule.value),
            ("state", state and state.value),
        ):
            if value is not None:
                sql += f" AND {column}=?"
                params.append(value)
        if readable is not None:
            anyone, own, teacher_id = readable
            marks = ",".join("?" * len(anyone)) or "NULL"
            sql += f" AND (rule IN ({marks})"
            params.extend(r.value for r in anyone)
            if own and teacher_id is not None:
                sql += f" OR (rule IN ({','.join('?' * len(own))}) AND teacher_id=?)"
                params.extend([*(r.value for r in own), teacher_id])
            sql += ")"
        if since is not None:
            sql += " AND opened_at >= ?"
            params.append(since.isoformat())
        if until is not None:
            sql += " AND opened_at < ?"
            params.append(until.isoformat())
        sql += " ORDER BY id DESC LIMIT ?"
        return [_alert(r) for r in self.db.query(sql, (*params, limit))]

    def history(self, alert_id: int) -> list[AlertEvent]:
        return [
            AlertEvent(
                r["alert_id"],
                datetime.fromisoformat(r["at"]),
                r["actor"],
                r["action"],
                json.loads(r["detail"]),
            )
            for r in self.db.query(
                "SELECT * FROM alert_events WHERE alert_id=? ORDER BY id", (alert_id,)
            )
        ]

    # --- silences -----------------------------------------------------------------------------
    def add_silence(
        self,
        school: str,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        reason: str,
        rule: Rule | None = None,
        device_id: str | None = None,
        class_id: str | None = None,
    ) -> Silence:
        if starts_at.tzinfo is None or ends_at.tzinfo is None:
            raise LifecycleError("a silence's starts_at and ends_at need a UTC offset")
        starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
        if ends_at <= starts_at:
            raise LifecycleError("a silence must end after it starts")
        if rule is not None and rule not in SILENCEABLE_RULES:
            raise LifecycleError(
                f"rule: {rule.value} alerts are never silenced; a silence covers device rules "
                f"only ({', '.join(sorted(r.value for r in SILENCEABLE_RULES))})"
            )
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO silences(school, rule, device_id, class_id, starts_at, ends_at, "
                "created_by, reason) VALUES (?,?,?,?,?,?,?,?)",
                (
                    school,
                    rule.value if rule else None,
                    device_id,
                    class_id,
                    _silence_text(starts_at),
                    _silence_text(ends_at),
                    created_by,
                    reason,
                ),
            )
            silence_id = int(cur.lastrowid or 0)
        found = [s for s in self.silences() if s.id == silence_id]
        return found[0]

    def delete_silence(self, silence_id: int) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM silences WHERE id=?", (silence_id,)).rowcount > 0

    def silences(
        self, school: str | None = None, active_at: datetime | None = None
    ) -> list[Silence]:
        sql, params = "SELECT * FROM silences WHERE 1=1", list[object]()
        if school is not None:
            sql += " AND school=?"
            params.append(school)
        if active_at is not None:
            # Fixed-width UTC text on both sides: text order is time order.
            sql += " AND starts_at <= ? AND ends_at > ?"
            params += [_silence_text(active_at)] * 2
        return [
            Silence(
                r["id"],
                r["school"],
                Rule(r["rule"]) if r["rule"] else None,
                r["device_id"],
                r["class_id"],
                _aware(r["starts_at"]),
                _aware(r["ends_at"]),
                r["created_by"],
                r["reason"],
            )
            for r in self.db.query(sql + " ORDER BY id", tuple(params))
        ]

    def is_silenced(self, c: Candidate | Alert, at: datetime) -> bool:
        if c.rule not in SILENCEABLE_RULES:
            return False  # no query for the alerts no silence can cover
        return any(s.matches(c, at) for s in self.silences(c.school, active_at=at))


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)
