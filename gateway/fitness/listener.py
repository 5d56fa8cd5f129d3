"""The ingest listener: device results become scored test results; live values feed lesson views.

Runs on the ingest writer thread after each commit, so it does one roster look-up per device
per batch for live values and one transaction for all of a batch's results. It is idempotent:
results are keyed by (device_id, seq) and live values keep the newest device timestamp, so a
message redelivered after a crash changes nothing.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter

from gateway.fitness.device_events import RESULT_EVENTS, NotATestResult, result_of_event
from gateway.fitness.results import FitnessResults, NewResult, ResultError
from gateway.ingest import CommittedBatch
from gateway.lessons.live import LIVE_METRICS, Latest, LiveLessons
from gateway.roster import Binding, LessonKind, Roster
from gateway.store.base import StoredMessage

log = logging.getLogger(__name__)


class FitnessListener:
    """Binds device messages to students through the roster at the message's device time."""

    def __init__(self, roster: Roster, results: FitnessResults, live: LiveLessons,
                 registry: CollectorRegistry) -> None:
        self.roster = roster
        self.results = results
        self.live = live
        self.outcomes = Counter("campusedge_fitness_device_results",
                                "Device result events by outcome (accepted, unbound, ...)",
                                ["outcome"], registry=registry)

    def __call__(self, batch: CommittedBatch) -> None:
        pending: list[NewResult] = []
        bindings: dict[str, Binding | None] = {}
        for message in batch.messages:
            if message.event_type in RESULT_EVENTS:
                new = self._result(message)
                if new is not None:
                    pending.append(new)
            if any(metric in LIVE_METRICS for metric, _, _ in message.readings):
                if message.device_id not in bindings:
                    # Live values are for the lesson open now; one look-up per device per
                    # batch (a batch spans milliseconds, lessons minutes).
                    bindings[message.device_id] = self.roster.bind(message.device_id,
                                                                   message.ts)
                self._live(message, bindings[message.device_id])
        if pending:
            self._record(pending)

    def _live(self, message: StoredMessage, binding: Binding | None) -> None:
        if binding is None:
            return
        for metric, value, _unit in message.readings:
            if metric in LIVE_METRICS:
                self.live.update(binding.lesson_id, binding.student_id, metric,
                                 Latest(value, message.ts, message.device_id))

    def _count(self, outcome: str, message: StoredMessage, detail: str) -> None:
        self.outcomes.labels(outcome=outcome).inc()
        # An unbound result is most often a device nobody assigned: worth a teacher's look.
        log.log(logging.WARNING if outcome == "unbound" else logging.INFO,
                "device result %s/%s not recorded (%s): %s", message.device_id, message.seq,
                outcome, detail)

    def _result(self, message: StoredMessage) -> NewResult | None:
        try:
            found = result_of_event(message)
        except NotATestResult as exc:
            self._count(exc.reason, message, str(exc))
            return None
        binding = self.roster.bind(message.device_id, message.ts)
        if binding is None:
            self._count("unbound", message, f"no lesson binds {message.device_id} at "
                        f"{message.ts.isoformat()}")
            return None
        lesson = self.roster.lesson(binding.lesson_id)
        if lesson is None or lesson.kind is not LessonKind.FITNESS_TEST:
            self._count("not_test_session", message,
                        f"lesson {binding.lesson_id} is not a fitness_test session")
            return None
        return NewResult(lesson_id=binding.lesson_id, student_id=binding.student_id,
                         item=found.item, raw_value=found.value, measured_at=message.ts,
                         source="device", device_id=message.device_id, seq=message.seq)

    def _record(self, pending: list[NewResult]) -> None:
        for new, outcome in zip(pending, self.results.record(pending), strict=True):
            if isinstance(outcome, ResultError):
                self.outcomes.labels(outcome="rejected").inc()
                log.warning("device result %s/%s for student %s refused: %s", new.device_id,
                            new.seq, new.student_id, outcome)
            else:
                # A redelivery is accepted again (and stored once).
                self.outcomes.labels(outcome="accepted").inc()
