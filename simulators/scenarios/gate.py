"""A morning at the entrance: students pass two temperature gates; a few have a fever."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from simulators.faults import Faults, disturb
from simulators.links import PtyLink, StreamServer
from simulators.scenario import Scenario
from simulators.temp_gate import Gate


@dataclass
class MorningGate(Scenario):
    arrivals: list[tuple[float, int, bool, int]] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    serial: PtyLink | None = None
    tcp: StreamServer | None = None
    # Card or face id of student number i at index i - 1 (a roster's); empty: made up.
    subjects: list[str] = field(default_factory=list)
    _next: int = 0

    @classmethod
    def build(
        cls,
        students: int | None,
        fever_rate: float,
        window_minutes: float,
        faults: Faults,
        seed: int,
        subjects: list[str] | None = None,
    ) -> MorningGate:
        """*students* arrivals (default: every one of *subjects*, else 1000), each named by
        the next of *subjects* when given."""
        subjects = subjects or []
        if students is None:
            students = len(subjects) or 1000
        if students < 1 or not 0 <= fever_rate <= 1 or window_minutes <= 0:
            raise ValueError("--students >= 1, --fever-rate in 0..1, --window-minutes > 0")
        if subjects and students > len(subjects):
            raise ValueError(
                f"--students {students}: the roster has only {len(subjects)} "
                "student(s) with a card or face id the gate can send"
            )
        rng = random.Random(seed)
        window = window_minutes * 60
        # Arrivals bunch up in the middle of the window (buses, the bell).
        arrivals = sorted(
            (rng.betavariate(2.5, 2.5) * window, i + 1, rng.random() < fever_rate, rng.randrange(2))
            for i in range(students)
        )
        scenario = cls(
            name="gate",
            duration_s=window + 5,
            faults=faults,
            seed=seed,
            arrivals=arrivals,
            rng=rng,
            subjects=subjects[:students],
            gates=[Gate(rng, clock_skew_s=faults.clock_skew_s), Gate(rng)],
        )
        scenario.serial = scenario.pty()
        scenario.tcp = scenario.server()
        scenario.devices = [
            {
                "id": "gate-north",
                "model": "temp_gate_ce_tg100",
                "transport": {"type": "serial", "port": scenario.serial.port},
            },
            {
                "id": "gate-south",
                "model": "temp_gate_ce_tg200",
                "transport": {"type": "tcp", "host": "127.0.0.1", "port": scenario.tcp.port},
            },
        ]
        scenario.counters = {"passes": 0, "fevers": 0}
        return scenario

    def step(self, t: float, dt: float) -> None:
        assert self.serial is not None and self.tcp is not None
        while self._next < len(self.arrivals) and self.arrivals[self._next][0] <= t + dt:
            _, student, fever, gate_no = self.arrivals[self._next]
            self._next += 1
            subject = self.subjects[student - 1] if self.subjects else None
            line = self.gates[gate_no].passing(student, datetime.now(UTC), fever, subject)
            if gate_no == 0:
                self.serial.write(disturb(line, self.faults, self.rng))
            else:
                self.tcp.write(line)
            self.counters["passes"] += 1
            self.counters["fevers"] += fever
            self.frames_sent += 1
