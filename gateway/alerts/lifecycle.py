"""Alert lifecycle: open → acknowledged → resolved, with dedup by key, history and silences."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    bindparam,
    case,
    delete,
    insert,
    or_,
    select,
    update,
)

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
from gateway.i18n import N_, Worded
from gateway.state import StateDB, insert_or_ignore, serialize
from gateway.tables.alerts import alert_events, alert_sources, alerts, silences

SYSTEM = "system"


class LifecycleError(Worded, ValueError):
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


def _alert(r: RowMapping) -> Alert:
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

    # --- raising ------------------------------------------------------------------------------
    def raise_(self, c: Candidate, silenced: bool = False) -> RaiseResult:
        """Open an alert for *c*, fold it into the open alert with its key, or ignore a replay."""
        with self.db.transaction() as conn:
            # Two gateway workers raising one key take turns (PostgreSQL), so that the second
            # folds into the first's alert instead of failing on the one-active-key index.
            serialize(conn, f"alert:{c.key}")
            if c.source is not None:
                s = alert_sources.c
                row = (
                    conn.execute(
                        select(alerts)
                        .join(alert_sources, alerts.c.id == s.alert_id)
                        .where(
                            s.rule == c.rule.value,
                            s.device_id == c.source[0],
                            s.seq == c.source[1],
                        )
                    )
                    .mappings()
                    .first()
                )
                if row is not None:
                    return RaiseResult(_alert(row), created=False, folded=False, duplicate=True)
            row = conn.execute(_ACTIVE, {"key": c.key}).mappings().first()
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

    def _insert(self, conn: Connection, c: Candidate, silenced: bool) -> Alert:
        alert_id: int = conn.execute(
            _INSERT_ALERT,
            {
                "key": c.key,
                "rule": c.rule.value,
                "school": c.school,
                "severity": c.severity.value,
                "state": AlertState.OPEN.value,
                "summary": c.summary,
                "student_id": c.student_id,
                "class_id": c.class_id,
                "lesson_id": c.lesson_id,
                "teacher_id": c.teacher_id,
                "device_id": c.device_id,
                "detail": json.dumps(dict(c.detail)),
                "opened_at": _iso(c.at),
                "last_seen_at": _iso(c.at),
                "silenced": int(silenced),
            },
        ).scalar_one()
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

    def _fold(self, conn: Connection, active: Alert, c: Candidate) -> Alert:
        severity = c.severity if c.severity.rank > active.severity.rank else active.severity
        detail = _merge_detail(active.detail, dict(c.detail))
        seen = _iso(c.at)
        conn.execute(
            update(alerts)
            .where(alerts.c.id == active.id)
            .values(
                count=alerts.c.count + 1,
                last_seen_at=case(
                    (alerts.c.last_seen_at > seen, alerts.c.last_seen_at), else_=seen
                ),
                severity=severity.value,
                detail=json.dumps(detail),
                summary=_folded_summary(active, c),
            )
        )
        self._event(conn, active.id, c.at, SYSTEM, "folded", dict(c.detail))
        self._source(conn, c, active.id)
        return self._get(conn, active.id)

    @staticmethod
    def _source(conn: Connection, c: Candidate, alert_id: int) -> None:
        if c.source is not None:
            conn.execute(
                insert_or_ignore(conn, alert_sources),
                {
                    "rule": c.rule.value,
                    "device_id": c.source[0],
                    "seq": c.source[1],
                    "alert_id": alert_id,
                },
            )

    @staticmethod
    def _event(
        conn: Connection,
        alert_id: int,
        at: datetime,
        actor: str,
        action: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        conn.execute(
            _INSERT_EVENT,
            {
                "alert_id": alert_id,
                "at": _iso(at),
                "actor": actor,
                "action": action,
                "detail": json.dumps(detail or {}, default=str),
            },
        )

    @staticmethod
    def _get(conn: Connection, alert_id: int, *, lock: bool = False) -> Alert:
        """The alert; with *lock*, its row stays locked until the transaction ends
        (PostgreSQL), so that a transition reads and writes it as one step."""
        query = select(alerts).where(alerts.c.id == alert_id)
        row = conn.execute(query.with_for_update() if lock else query).mappings().first()
        if row is None:
            raise LifecycleError(N_("no alert {alert_id}"), alert_id=alert_id)
        return _alert(row)

    # --- transitions by people ----------------------------------------------------------------
    def acknowledge(self, alert_id: int, actor: str, note: str = "") -> Alert:
        now = self.clock.now()
        with self.db.transaction() as conn:
            alert = self._get(conn, alert_id, lock=True)
            if alert.state is not AlertState.OPEN:
                raise LifecycleError(
                    N_("alert {alert_id} is {state}; only an open alert can be acknowledged"),
                    alert_id=alert_id,
                    state=alert.state.value,
                )
            self._set_acknowledged(conn, alert_id, now, actor)
            self._event(conn, alert_id, now, actor, "acknowledged", {"note": note})
            return self._get(conn, alert_id)

    def resolve(
        self, alert_id: int, actor: str, outcome: str = "resolved", note: str = ""
    ) -> Alert:
        now = self.clock.now()
        with self.db.transaction() as conn:
            alert = self._get(conn, alert_id, lock=True)
            if alert.state is AlertState.RESOLVED:
                raise LifecycleError(N_("alert {alert_id} is already resolved"), alert_id=alert_id)
            self._set_resolved(conn, alert_id, now, actor, outcome, note)
            return self._get(conn, alert_id)

    @staticmethod
    def _set_acknowledged(conn: Connection, alert_id: int, at: datetime, actor: str) -> None:
        conn.execute(
            update(alerts)
            .where(alerts.c.id == alert_id)
            .values(
                state=AlertState.ACKNOWLEDGED.value, acknowledged_at=_iso(at), acknowledged_by=actor
            )
        )

    def _set_resolved(
        self,
        conn: Connection,
        alert_id: int,
        at: datetime,
        actor: str,
        outcome: str,
        note: str = "",
    ) -> None:
        conn.execute(
            update(alerts)
            .where(alerts.c.id == alert_id)
            .values(
                state=AlertState.RESOLVED.value,
                resolved_at=_iso(at),
                resolved_by=actor,
                outcome=outcome,
            )
        )
        self._event(conn, alert_id, at, actor, "resolved", {"outcome": outcome, "note": note})

    def change(self, alert_id: int, c: Candidate) -> Alert:
        """Move an open alert to what *c* now says (a warning level that rose or fell, but not
        to green): severity, summary and detail follow, even downwards, and its history keeps
        the step."""
        with self.db.transaction() as conn:
            before = self._get(conn, alert_id, lock=True)
            if before.state is AlertState.RESOLVED:
                raise LifecycleError(N_("alert {alert_id} is resolved"), alert_id=alert_id)
            conn.execute(
                update(alerts)
                .where(alerts.c.id == alert_id)
                .values(
                    severity=c.severity.value,
                    summary=c.summary,
                    detail=json.dumps(dict(c.detail)),
                    last_seen_at=_iso(c.at),
                )
            )
            self._event(
                conn,
                alert_id,
                c.at,
                SYSTEM,
                "changed",
                {"summary": c.summary, "severity": c.severity.value, **dict(c.detail)},
            )
            return self._get(conn, alert_id)

    def resolve_key(self, key: str, outcome: str) -> Alert | None:
        """Resolve the active alert with *key* on the system's behalf (a device came back)."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            serialize(conn, f"alert:{key}")
            row = conn.execute(_ACTIVE.with_for_update(), {"key": key}).mappings().first()
            if row is None:
                return None
            self._set_resolved(conn, row["id"], now, SYSTEM, outcome)
            return self._get(conn, row["id"])

    def resolve_lesson(
        self, lesson_id: str, rules: Collection[Rule], actor: str, outcome: str, note: str
    ) -> list[Alert]:
        """Resolve the unresolved alerts of *rules* raised in lesson *lesson_id*."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            ids: list[int] = list(
                conn.execute(
                    select(alerts.c.id)
                    .where(
                        alerts.c.lesson_id == lesson_id,
                        alerts.c.rule.in_([r.value for r in rules]),
                        alerts.c.state != AlertState.RESOLVED.value,
                    )
                    .order_by(alerts.c.id)
                    .with_for_update()
                ).scalars()
            )
            for alert_id in ids:
                self._set_resolved(conn, alert_id, now, actor, outcome, note)
            return [self._get(conn, alert_id) for alert_id in ids]

    def lessons_with_unresolved(self, rules: Collection[Rule]) -> set[str]:
        """Lessons that have an unresolved alert of one of *rules*."""
        return {
            r["lesson_id"]
            for r in self.db.query(
                select(alerts.c.lesson_id)
                .distinct()
                .where(
                    alerts.c.rule.in_([r.value for r in rules]),
                    alerts.c.state != AlertState.RESOLVED.value,
                    alerts.c.lesson_id.is_not(None),
                )
            )
        }

    def record_recheck(
        self,
        alert_id: int,
        actor: str,
        temperature_c: float,
        threshold_c: float,
        method: str,
        thermometer: str | None = None,
    ) -> Alert:
        """A contact-thermometer recheck: confirms the fever or clears the alert."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            alert = self._get(conn, alert_id, lock=True)
            if alert.rule is not Rule.FEVER:
                raise LifecycleError(
                    N_("alert {alert_id} is a {rule} alert; only fever alerts take a recheck"),
                    alert_id=alert_id,
                    rule=alert.rule.value,
                )
            if alert.state is AlertState.RESOLVED:
                raise LifecycleError(N_("alert {alert_id} is already resolved"), alert_id=alert_id)
            confirmed = temperature_c >= threshold_c
            detail = {
                **alert.detail,
                "recheck_c": temperature_c,
                "recheck_method": method,
                "recheck_thermometer": thermometer,
                "recheck_by": actor,
                "recheck_at": _iso(now),
                "confirmed": confirmed,
            }
            conn.execute(
                update(alerts).where(alerts.c.id == alert_id).values(detail=json.dumps(detail))
            )
            self._event(
                conn,
                alert_id,
                now,
                actor,
                "recheck",
                {
                    "temperature_c": temperature_c,
                    "method": method,
                    "thermometer": thermometer,
                    "threshold_c": threshold_c,
                    "confirmed": confirmed,
                },
            )
            if confirmed:
                if alert.state is AlertState.OPEN:
                    self._set_acknowledged(conn, alert_id, now, actor)
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
                changes: dict[str, Any] = {
                    "last_notified_at": _iso(at),
                    "notify_count": alerts.c.notify_count + 1,
                }
                if escalation_level is not None:
                    changes["escalation_level"] = escalation_level
                conn.execute(update(alerts).where(alerts.c.id == alert_id).values(changes))
                self._event(conn, alert_id, at, SYSTEM, action, detail)

    def never_notified(self) -> list[Alert]:
        return [
            _alert(r)
            for r in self.db.query(
                _UNSILENCED_OPEN.where(alerts.c.last_notified_at.is_(None)).order_by(alerts.c.id)
            )
        ]

    def unacknowledged(
        self, notified_before: datetime | None = None, opened_before: datetime | None = None
    ) -> list[Alert]:
        """Open, unsilenced, already notified alerts; with the cut-offs, only those that were
        last notified before one or opened (and not yet escalated) before the other."""
        a = alerts.c
        query = _UNSILENCED_OPEN.where(a.last_notified_at.is_not(None))
        if notified_before is not None and opened_before is not None:
            query = query.where(
                or_(
                    a.last_notified_at <= notified_before.isoformat(),
                    (a.escalation_level == 0) & (a.opened_at <= opened_before.isoformat()),
                )
            )
        return [_alert(r) for r in self.db.query(query.order_by(a.id))]

    # --- reading ------------------------------------------------------------------------------
    def get(self, alert_id: int) -> Alert | None:
        rows = self.db.query(select(alerts).where(alerts.c.id == alert_id))
        return _alert(rows[0]) if rows else None

    def ever(self, key: str) -> bool:
        """Whether an alert with *key* was ever raised (any state)."""
        return bool(self.db.query(select(alerts.c.id).where(alerts.c.key == key).limit(1)))

    def active(self, key: str) -> Alert | None:
        rows = self.db.query(_ACTIVE, {"key": key})
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
        schools: Collection[str] | None = None,
    ) -> list[Alert]:
        """Newest first; `readable` (see visibility.readable) narrows it to one person's,
        *schools* to those schools' alerts."""
        a = alerts.c
        query = select(alerts)
        if schools is not None:
            query = query.where(a.school.in_(sorted(schools)))
        for column, value in (
            (a.school, school),
            (a.rule, rule and rule.value),
            (a.state, state and state.value),
        ):
            if value is not None:
                query = query.where(column == value)
        if readable is not None:
            anyone, own, teacher_id = readable
            # An empty IN () matches nothing, on both databases.
            allowed: ColumnElement[bool] = a.rule.in_([r.value for r in anyone])
            if own and teacher_id is not None:
                allowed = or_(
                    allowed, a.rule.in_([r.value for r in own]) & (a.teacher_id == teacher_id)
                )
            query = query.where(allowed)
        if since is not None:
            query = query.where(a.opened_at >= since.isoformat())
        if until is not None:
            query = query.where(a.opened_at < until.isoformat())
        return [_alert(r) for r in self.db.query(query.order_by(a.id.desc()).limit(limit))]

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
                select(alert_events)
                .where(alert_events.c.alert_id == alert_id)
                .order_by(alert_events.c.id)
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
            raise LifecycleError(N_("a silence's starts_at and ends_at need a UTC offset"))
        starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
        if ends_at <= starts_at:
            raise LifecycleError(N_("a silence must end after it starts"))
        if rule is not None and rule not in SILENCEABLE_RULES:
            raise LifecycleError(
                N_(
                    "rule: {rule} alerts are never silenced; "
                    "a silence covers device rules only ({rules})"
                ),
                rule=rule.value,
                rules=", ".join(sorted(r.value for r in SILENCEABLE_RULES)),
            )
        with self.db.transaction() as conn:
            silence_id: int = conn.execute(
                insert(silences)
                .values(
                    school=school,
                    rule=rule.value if rule else None,
                    device_id=device_id,
                    class_id=class_id,
                    starts_at=_silence_text(starts_at),
                    ends_at=_silence_text(ends_at),
                    created_by=created_by,
                    reason=reason,
                )
                .returning(silences.c.id)
            ).scalar_one()
        found = [s for s in self.silences() if s.id == silence_id]
        return found[0]

    def delete_silence(self, silence_id: int, schools: Collection[str] | None = None) -> bool:
        """Whether silence *silence_id* (of one of *schools*, when given) was found and ended."""
        gone = delete(silences).where(silences.c.id == silence_id)
        if schools is not None:
            gone = gone.where(silences.c.school.in_(sorted(schools)))
        with self.db.transaction() as conn:
            return conn.execute(gone).rowcount > 0

    def silences(
        self, school: str | None = None, active_at: datetime | None = None
    ) -> list[Silence]:
        query = select(silences)
        if school is not None:
            query = query.where(silences.c.school == school)
        if active_at is not None:
            # Fixed-width UTC text on both sides: text order is time order.
            at = _silence_text(active_at)
            query = query.where(silences.c.starts_at <= at, silences.c.ends_at > at)
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
            for r in self.db.query(query.order_by(silences.c.id))
        ]

    def is_silenced(self, c: Candidate | Alert, at: datetime) -> bool:
        if c.rule not in SILENCEABLE_RULES:
            return False  # no query for the alerts no silence can cover
        return any(s.matches(c, at) for s in self.silences(c.school, active_at=at))


# Statements built once: building one costs more than running it on SQLite.
_INSERT_ALERT = insert(alerts).returning(alerts.c.id)
_INSERT_EVENT = insert(alert_events)
_ACTIVE = select(alerts).where(
    alerts.c.key == bindparam("key"), alerts.c.state != AlertState.RESOLVED.value
)
_UNSILENCED_OPEN = select(alerts).where(
    alerts.c.state == AlertState.OPEN.value, alerts.c.silenced == 0
)


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)
