"""The alert engine: committed batches and clock ticks → rules → lifecycle → notifications."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from campusedge.topics import DeviceKind
from gateway.alerts.clock import Clock, SystemClock
from gateway.alerts.config import AlertConfigs
from gateway.alerts.lifecycle import SYSTEM, Lifecycle
from gateway.alerts.lookup import RosterLookup
from gateway.alerts.metrics import AlertMetrics
from gateway.alerts.model import DEVICE_RULES, Alert, AlertState, Candidate, Rule
from gateway.alerts.notification import Channel, NotificationKind
from gateway.alerts.notifier import Notifier
from gateway.alerts.rules import devices as device_rules
from gateway.alerts.rules import fever
from gateway.alerts.rules.heart_rate import HeartRateWatch, RunningLesson
from gateway.alerts.rules.warning_level import Level, SchoolLevels, WarningLevels
from gateway.consumers.cursors import Cursors
from gateway.devices import Devices
from gateway.health.absences import Absences, IllnessAbsences
from gateway.ingest import CommittedBatch
from gateway.roster import Roster
from gateway.state import StateDB
from gateway.store.base import StoredMessage

log = logging.getLogger(__name__)

DEVICE_SILENCE_CHECK = timedelta(seconds=30)
# How often the open warning levels are followed into today without new cases.
LEVEL_CHECK = timedelta(minutes=10)
# Alerts that mean nothing once their lesson is over: a band silent after the lesson is a
# band taken off. A runaway or implausibly low heart rate stays open for someone to close:
# it is about the child, whom the end of a lesson does not make well.
LESSON_END_RULES = frozenset({Rule.HR_SIGNAL_LOST})
# A device condition already alerted (a low battery, a drifting clock) is folded again from
# readings at most this often: a rope reports its battery twice a second, and every fold is a
# state-database write and a history row on the ingest writer thread.
DEVICE_READING_FOLD = timedelta(seconds=60)


# The engine's cursor over the roster's lesson events (beside the consumers' cursors).
LESSON_EVENTS = "alerts.lesson_events"


class AlertEngine:
    """Takes committed messages and statuses (`on_batch`, from the alert consumer, which
    reads the commit log) and runs a tick thread for timed rules.

    Work on the consumer's thread stays small: SQLite writes in the state database and
    hand-offs to channels, whose slow parts (HTTP) run on their own threads.
    """

    def __init__(
        self,
        db: StateDB,
        roster: Roster,
        devices: Devices,
        configs: AlertConfigs,
        channels: Sequence[Channel] = (),
        clock: Clock | None = None,
        tick_s: float = 1.0,
        metrics: AlertMetrics | None = None,
        absences: IllnessAbsences | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.metrics = metrics or AlertMetrics()
        self.configs = configs
        self.devices = devices
        self.roster = roster
        self.lifecycle = Lifecycle(db, self.clock)
        # The health records' absences, read for the warning levels (not written here).
        self.warning_levels = WarningLevels(db, absences or Absences(db))
        self.lookup = RosterLookup(roster)
        self.db = db
        self._lesson_cursor = Cursors(db)
        self.heart_rate = HeartRateWatch(self.clock.now())
        self._last_level_check: datetime | None = None
        self.notifier = Notifier(self.lifecycle, configs, self.clock, list(channels))
        self.tick_s = tick_s
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_silence_check: datetime | None = None
        # Alerts opened but never notified when the gateway last stopped (held for a
        # group): the first tick sends them. Taken now, before this engine holds any.
        self._unsent_at_start = [a.id for a in self.lifecycle.never_notified()]
        # Keys of active device alerts, so that the all-clear of a healthy reading costs no
        # query (battery and clock readings arrive all day).
        self._device_keys = {
            a.key
            for rule in DEVICE_RULES
            for a in self.lifecycle.find(rule=rule, limit=100_000)
            if a.state is not AlertState.RESOLVED
        }
        self._device_folded_at: dict[str, datetime] = {}
        # Lessons running at the last tick (None before the first): one missing from the next
        # tick has ended, and its signal-lost alerts are resolved.
        self._lessons_watched: set[str] | None = None
        self.stats = {
            "batches": 0,
            "candidates": 0,
            "opened": 0,
            "folded": 0,
            "duplicates": 0,
            "silenced": 0,
            "errors": 0,
        }

    @property
    def lock(self) -> threading.RLock:
        """Taken before any state transaction of the engine's (consumer, tick, people)."""
        return self._lock

    # --- committed messages ---------------------------------------------------------------
    def on_batch(self, batch: CommittedBatch) -> None:
        with self._lock:
            self.stats["batches"] += 1
            candidates: list[Candidate] = []
            clears: list[device_rules.Clear] = []
            now = self.clock.now()
            for school, status in batch.statuses:
                cfg = self.configs.for_school(school)
                self._split(
                    device_rules.on_status(school, status, status.ts or now, cfg.devices),
                    candidates,
                    clears,
                )
            for msg in batch.messages:
                cfg = self.configs.for_school(msg.school)
                found = fever.evaluate(msg, cfg.fever, self.lookup)
                if found is not None:
                    candidates.append(found)
                candidates.extend(self.heart_rate.on_message(msg, cfg.heart_rate, self.lookup))
                self._split(
                    [
                        i
                        for i in device_rules.on_message(msg, cfg.devices)
                        if not self._folded_lately(i)
                    ],
                    candidates,
                    clears,
                )
            self._clear(clears)
            self.process(candidates)

    @staticmethod
    def concerns(msg: StoredMessage) -> bool:
        """Whether any rule of `on_batch` can act on *msg*: a gate pass, a bound band's heart
        rate or rope count, a device's battery or clock (the others cost the consumer
        nothing). Screenings are the health consumer's."""
        if msg.kind is DeviceKind.TEMP_GATE:
            return True
        if msg.kind in (DeviceKind.HR_BAND, DeviceKind.JUMP_ROPE) and msg.student_id is not None:
            return True  # a rope counting tells the heart-rate rules a test is on
        return any(metric in device_rules.DEVICE_METRICS for metric, _, _ in msg.readings)

    def resume_heart_rate(self, messages: Iterable[StoredMessage]) -> int:
        """After a restart: run the last minutes' handled heart rates through the watch again.

        A "sustained" window that began before the stop then goes on where it was instead of
        starting from zero (the broker's persistent session delivers what came during the
        stop, so the window has no hole). Silence still counts from this start, so no band is
        reported lost for the time the gateway was down. Returns the readings replayed.
        """
        replayed = 0
        with self._lock:
            candidates: list[Candidate] = []
            for stored in sorted(messages, key=lambda m: (m.ts, m.device_id, m.seq)):
                if stored.kind is not DeviceKind.HR_BAND:
                    continue
                msg = dataclasses.replace(stored, received_at=self.heart_rate.watching_since)
                cfg = self.configs.for_school(stored.school).heart_rate
                candidates.extend(self.heart_rate.on_message(msg, cfg, self.lookup))
                replayed += 1
            # Only an episode the stop cut short, before its alert was raised, opens one now:
            # an alert with the key (open, or already resolved by staff) was handled.
            self.process([c for c in candidates if not self.lifecycle.ever(c.key)])
        return replayed

    def heart_rate_memory_s(self) -> float:
        """How far back `resume_heart_rate` needs readings: the longest sustained window."""
        return max(
            max(c.heart_rate.high_sustain_s, c.heart_rate.low_sustain_s) for c in self.configs.all()
        )

    @staticmethod
    def _split(
        items: list[Candidate | device_rules.Clear],
        candidates: list[Candidate],
        clears: list[device_rules.Clear],
    ) -> None:
        for item in items:
            if isinstance(item, Candidate):
                candidates.append(item)
            else:
                clears.append(item)

    def _folded_lately(self, item: Candidate | device_rules.Clear) -> bool:
        """Whether a reading's device candidate repeats an active alert folded lately."""
        if not isinstance(item, Candidate) or item.key not in self._device_keys:
            return False
        last = self._device_folded_at.get(item.key)
        if last is not None and timedelta(0) <= item.at - last < DEVICE_READING_FOLD:
            return True
        self._device_folded_at[item.key] = item.at
        return False

    def _clear(self, clears: list[device_rules.Clear]) -> None:
        resolved: list[Alert] = []
        for c in clears:
            if c.key in self._device_keys:
                self._device_keys.discard(c.key)
                self._device_folded_at.pop(c.key, None)
                alert = self.lifecycle.resolve_key(c.key, c.outcome)
                if alert is not None:
                    resolved.append(alert)
        for alert in resolved:
            self.notifier.emit(NotificationKind.RESOLVED, [alert])

    # --- the common path ------------------------------------------------------------------
    def process(self, candidates: list[Candidate]) -> list[Alert]:
        """Raise candidates; notify the new ones; follow fevers into the warning level."""
        opened: list[Alert] = []
        fever_days: set[tuple[str, date]] = set()
        with self._lock:
            while candidates:
                c = candidates.pop(0)
                self.stats["candidates"] += 1
                now = self.clock.now()
                try:
                    silenced = self.lifecycle.is_silenced(c, now)
                    result = self.lifecycle.raise_(c, silenced=silenced)
                except Exception:
                    # One candidate's failure must not take the rest of the batch (a fever
                    # behind a battery status) or the notifications already due with it.
                    self.stats["errors"] += 1
                    log.exception("alert candidate %s could not be raised", c.key)
                    continue
                if result.duplicate:
                    self.stats["duplicates"] += 1
                    self.metrics.replayed.inc()
                    continue
                if result.folded:
                    self.stats["folded"] += 1
                    self.metrics.folded.inc()
                    continue
                self.stats["opened"] += 1
                self.metrics.opened.labels(rule=c.rule.value, severity=c.severity.value).inc()
                if c.rule in DEVICE_RULES:
                    self._device_keys.add(c.key)
                    self._device_folded_at[c.key] = c.at
                if silenced:
                    self.stats["silenced"] += 1
                else:
                    opened.append(result.alert)
                if c.rule is Rule.FEVER and c.student_id is not None:
                    zone = self.configs.for_school(c.school).zone
                    fever_days.add((c.school, c.at.astimezone(zone).date()))
                if not candidates and fever_days:
                    for school, day in sorted(fever_days):
                        opened += self._follow_levels(self.levels(school, day), now)
                    fever_days.clear()
            self.notifier.opened(opened)
        return opened

    def levels(self, school: str, day: date) -> SchoolLevels:
        cfg = self.configs.for_school(school)
        return self.warning_levels.compute(
            school, day, cfg.zone, self.configs.warning_levels_for(school)
        )

    def levels_changed(self, school: str, day: date) -> list[Alert]:
        """Re-evaluate a day's warning levels (an absence was entered, a fever cleared);
        the alerts opened, or raised to a higher level (those are notified)."""
        with self._lock:
            raised = self._follow_levels(self.levels(school, day), self.clock.now())
            self.notifier.opened(raised)
        return raised

    def _follow_levels(self, levels: SchoolLevels, now: datetime) -> list[Alert]:
        """Each class's and the school's one warning-level alert follows its level: opened
        above green, changed (with history) when the level moves, resolved when it is back
        to green. Returns the alerts to notify: opened, or raised to a higher level. A day
        older than the one an alert last followed changes nothing (a late fever of last
        week must not undo today's level)."""
        notify: list[Alert] = []
        resolved: list[Alert] = []
        school, day = levels.school, levels.day.isoformat()
        following: dict[str, Alert] = {}
        for a in sorted(
            self.lifecycle.find(school=school, rule=Rule.WARNING_LEVEL, limit=10_000),
            key=lambda a: a.id,
        ):
            if a.state is AlertState.RESOLVED:
                continue
            older = following.get(str(a.detail.get("scope")))
            if older is not None:
                # Releases before this one opened an alert per rise: the newest follows on.
                resolved.append(self.lifecycle.resolve(older.id, SYSTEM, "superseded"))
            following[str(a.detail.get("scope"))] = a
        scopes = {s.scope: s for s in [levels.school_level, *levels.classes]}
        for name in sorted(set(scopes) | set(following)):
            scope, alert = scopes.get(name), following.get(name)
            if alert is not None and str(alert.detail.get("day", "")) > day:
                continue
            level = scope.level if scope is not None else Level.GREEN
            try:
                if level is Level.GREEN:
                    if alert is not None:
                        resolved.append(
                            self.lifecycle.resolve(
                                alert.id,
                                SYSTEM,
                                "level_fell",
                                f"back to green on {day}",
                            )
                        )
                    continue
                assert scope is not None
                c = self.warning_levels.candidate(levels, scope, now)
                if alert is None:
                    result = self.lifecycle.raise_(c)
                    if result.created:
                        self.stats["opened"] += 1
                        self.metrics.opened.labels(
                            rule=c.rule.value, severity=c.severity.value
                        ).inc()
                        notify.append(result.alert)
                elif alert.detail.get("level") != level.value:
                    was = Level(str(alert.detail.get("level", Level.GREEN.value)))
                    changed = self.lifecycle.change(alert.id, c)
                    if level.rank > was.rank:
                        notify.append(changed)
            except Exception:  # one scope's failure must not keep the others from following
                self.stats["errors"] += 1
                log.exception("the warning level of %s %s could not be followed", school, name)
        self.notifier.emit(NotificationKind.RESOLVED, resolved)
        return notify

    # --- people acting on alerts ----------------------------------------------------------
    def acknowledge(self, alert_id: int, actor: str, note: str = "") -> Alert:
        with self._lock:
            return self.lifecycle.acknowledge(alert_id, actor, note)

    def resolve(
        self, alert_id: int, actor: str, outcome: str = "resolved", note: str = ""
    ) -> Alert:
        with self._lock:
            alert = self.lifecycle.resolve(alert_id, actor, outcome, note)
            self._device_keys.discard(alert.key)
            self._device_folded_at.pop(alert.key, None)
            self.notifier.emit(NotificationKind.RESOLVED, [alert])
            return alert

    def recheck(
        self,
        alert_id: int,
        actor: str,
        temperature_c: float,
        method: str = "axillary",
        thermometer: str | None = None,
    ) -> Alert:
        with self._lock:
            alert = self.lifecycle.get(alert_id)
            threshold = (
                self.configs.for_school(alert.school).fever.recheck_threshold_c if alert else 37.3
            )
            updated = self.lifecycle.record_recheck(
                alert_id, actor, temperature_c, threshold, method, thermometer
            )
            if updated.state is AlertState.RESOLVED:
                self.notifier.emit(NotificationKind.RESOLVED, [updated])
            return updated

    # --- timed rules ----------------------------------------------------------------------
    def tick(self) -> None:
        with self._lock:
            now = self.clock.now()
            if self._unsent_at_start:
                self._send_unsent(self._unsent_at_start)
                self._unsent_at_start = []
            self.follow_lessons()
            lessons, stopped = self._running_lessons()
            self._resolve_ended_lessons({lesson.id for _, lesson, _, _ in lessons})
            candidates = self.heart_rate.on_tick(now, lessons, paused=stopped)
            if (
                self._last_silence_check is None
                or now - self._last_silence_check >= DEVICE_SILENCE_CHECK
            ):
                self._last_silence_check = now
                for device in self.devices.all():
                    key = device_rules.offline_key(device.device_id)
                    if key in self._device_keys:
                        continue
                    found = device_rules.silent(device, now, self.configs.for_school(device.school))
                    if found is not None:
                        candidates.append(found)
            self.process(candidates)
            if self._last_level_check is None or now - self._last_level_check >= LEVEL_CHECK:
                self._last_level_check = now
                self._levels_today(now)
            self._renotify(now)
            self.notifier.flush_due()

    def _levels_today(self, now: datetime) -> None:
        """A school's level also falls with time alone (a window moves past its cases, a
        new day starts): the schools with a warning-level alert open follow today's."""
        schools = {
            a.school
            for a in self.lifecycle.find(rule=Rule.WARNING_LEVEL, limit=10_000)
            if a.state is not AlertState.RESOLVED
        }
        for school in sorted(schools):
            today = now.astimezone(self.configs.for_school(school).zone).date()
            self.notifier.opened(self._follow_levels(self.levels(school, today), now))

    def follow_lessons(self) -> list[Alert]:
        """Take the roster's lesson events since this engine's cursor: an ended lesson's
        signal-lost alerts are resolved for whoever ended it. The cursor moves in the same
        transaction as the resolutions, so each event is acted on once, whoever calls this
        (the tick, or the API right after a teacher ends a lesson)."""
        resolved: list[Alert] = []
        with self._lock:
            while True:
                after = self._lesson_cursor.get(LESSON_EVENTS)
                events = self.roster.lesson_events(after)
                if not events:
                    return resolved
                self.lookup.invalidate()
                with self.db.transaction() as conn:
                    for event in events:
                        if event.event == "ended":
                            resolved += self._lesson_ended(event.lesson_id, event.actor)
                    Cursors.save(conn, LESSON_EVENTS, events[-1].position)

    def _lesson_ended(self, lesson_id: str, actor: str) -> list[Alert]:
        lesson = self.roster.lesson(lesson_id)
        when = f" at {lesson.ended_at.isoformat()}" if lesson and lesson.ended_at else ""
        resolved = self.lifecycle.resolve_lesson(
            lesson_id,
            LESSON_END_RULES,
            actor,
            "lesson_ended",
            f"lesson {lesson_id} ended{when}" + ("" if actor == SYSTEM else f" by {actor}"),
        )
        if self._lessons_watched is not None:
            self._lessons_watched.discard(lesson_id)
        self.notifier.resolved(resolved)
        return resolved

    def _resolve_ended_lessons(self, running: set[str]) -> None:
        """Lessons ended by other means than `end_lesson` (or while the gateway was down)."""
        if self._lessons_watched is None:
            self._lessons_watched = self.lifecycle.lessons_with_unresolved(LESSON_END_RULES)
        for lesson_id in sorted(self._lessons_watched - running):
            self._lesson_ended(lesson_id, SYSTEM)
        self._lessons_watched = set(running)

    def _send_unsent(self, alert_ids: list[int]) -> None:
        """Alerts opened but never notified: held for a group when the gateway stopped."""
        ids = set(alert_ids)
        unsent = [a for a in self.lifecycle.never_notified() if a.id in ids]
        if unsent:
            log.info("sending %d alert(s) that were not notified before the last stop", len(unsent))
            self.notifier.opened(unsent)

    def _running_lessons(self) -> tuple[list[RunningLesson], set[str]]:
        """The running lessons with their bands, and those bands stopped cleanly."""
        out: list[RunningLesson] = []
        paused: set[str] = set()
        for lesson in self.roster.lessons(active_only=True):
            school = self.lookup.school_of_class(lesson.class_id)
            if school is None:
                continue
            # Only heart-rate bands can lose a heart-rate signal: a lesson also binds ropes
            # (and other devices) to its students, and those are left out. A device the
            # gateway has never heard from has no recorded kind; it is watched, since a band
            # that never sends (flat, unpaired) is exactly what this rule is for.
            # A band whose last status says its box stopped cleanly is silent on purpose (a
            # restart, the end of a session): not a lost signal to page the teacher about.
            assigned = self.roster.assignments(lesson.id)
            kinds = self.devices.kinds(assigned, school)
            bands = {
                d: s
                for d, s in assigned.items()
                if kinds.get(d, DeviceKind.HR_BAND.value) == DeviceKind.HR_BAND.value
            }
            paused |= self.devices.stopped_cleanly(bands, school)
            out.append((school, lesson, bands, self.configs.for_school(school).heart_rate))
        return out, paused

    def _renotify(self, now: datetime) -> None:
        # Only rows that some school's timing could make due: the tick runs every second
        # and holds the engine lock, so it must not read every open alert each time.
        schools = [c.lifecycle for c in self.configs.all()]
        due = self.lifecycle.unacknowledged(
            notified_before=now - timedelta(minutes=min(c.renotify_minutes for c in schools)),
            opened_before=now - timedelta(minutes=min(c.escalate_minutes for c in schools)),
        )
        escalate: list[Alert] = []
        renotify: list[Alert] = []
        for alert in due:
            cfg = self.configs.for_school(alert.school).lifecycle
            if alert.last_notified_at is None:
                continue  # held in a group, or never sent: the group flush sends it
            if alert.escalation_level == 0 and now - alert.opened_at >= timedelta(
                minutes=cfg.escalate_minutes
            ):
                escalate.append(alert)
            elif now - alert.last_notified_at >= timedelta(minutes=cfg.renotify_minutes):
                renotify.append(alert)
        # Grouped like new alerts: several due at once go out as one message per rule.
        self.notifier.escalate(escalate)
        self.notifier.renotify(renotify)

    # --- running ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="alert-tick", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception:  # keep ticking: a bad row must not stop escalation for all
                log.exception("alert tick failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.notifier.close()
