"""A vision screening day: one record per student from the screener in the clinic."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from simulators.faults import Faults, disturb
from simulators.links import PtyLink
from simulators.scenario import Scenario
from simulators.vision_screener import Screener


@dataclass
class ScreeningDay(Scenario):
    times: list[float] = field(default_factory=list)
    screener: Screener | None = None
    link: PtyLink | None = None
    rng: random.Random = field(default_factory=random.Random)
    # The ids the screener sends, one per student in order (a roster's); empty: made up.
    subjects: list[str] = field(default_factory=list)
    _next: int = 0

    @classmethod
    def build(
        cls,
        students: int | None,
        seconds_per_student: float,
        faults: Faults,
        seed: int,
        subjects: list[str] | None = None,
    ) -> ScreeningDay:
        """*students* children (default: every one of *subjects*, else 200), each named by
        the next of *subjects* when given."""
        subjects = subjects or []
        if students is None:
            students = len(subjects) or 200
        if students < 1 or seconds_per_student <= 0:
            raise ValueError("--students must be at least 1 and --seconds-per-student positive")
        if subjects and students > len(subjects):
            raise ValueError(
                f"--students {students}: the roster has only {len(subjects)} "
                "student(s) with an id the screener can send"
            )
        rng = random.Random(seed)
        times, t = [], 0.0
        for _ in range(students):
            t += rng.uniform(0.6, 1.4) * seconds_per_student
            times.append(t)
        day = cls(
            name="screening",
            duration_s=t + 2,
            faults=faults,
            seed=seed,
            times=times,
            screener=Screener(rng),
            rng=rng,
            subjects=subjects[:students],
        )
        day.link = day.pty()
        day.devices = [
            {
                "id": "screener-1",
                "model": "vision_screener_ce_vs1",
                "transport": {"type": "serial", "port": day.link.port},
            }
        ]
        day.counters = {"records": 0}
        return day

    def step(self, t: float, dt: float) -> None:
        assert self.screener is not None and self.link is not None
        while self._next < len(self.times) and self.times[self._next] <= t + dt:
            self._next += 1
            subject = self.subjects[self._next - 1] if self.subjects else None
            line = self.screener.record(self._next, subject)
            self.link.write(disturb(line, self.faults, self.rng))
            self.counters["records"] += 1
            self.frames_sent += 1
