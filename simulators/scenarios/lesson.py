"""A PE lesson: every student wears a band and has a rope; a 1-minute rope test inside."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from drivers import jump_rope as jr
from simulators.faults import Faults, disturb
from simulators.hr_band import Band
from simulators.jump_rope import BaseStation
from simulators.links import PtyLink, StreamServer, ble_record
from simulators.scenario import Scenario

if TYPE_CHECKING:
    from simulators.ble_link import ThreadedBandLink

BAND_PERIOD_S = 1.0  # bands notify once a second
ROPE_TEST_S = 60


def _activity(phase: float) -> float:
    """Class activity level over the lesson (0 rest .. 1 all-out)."""
    if phase < 0.15:
        return 0.45  # warm-up
    if phase < 0.4:
        return 0.6  # skills
    if phase < 0.8:
        return 0.72  # main part
    return 0.25  # cool-down


@dataclass
class Lesson(Scenario):
    students: int = 40
    rope_test_at_s: float = 0.0
    bands: list[Band] = field(default_factory=list)
    _band_due: list[float] = field(default_factory=list)
    _effort: list[float] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    station: BaseStation | None = None
    rope_link: PtyLink | None = None
    ble: StreamServer | None = None
    # With --ble-link the bands are GATT peripherals on a virtual BLE link instead.
    radio: ThreadedBandLink | None = None
    _test_started: bool = False

    @classmethod
    def build(
        cls,
        students: int,
        minutes: float,
        faults: Faults,
        seed: int,
        ble_link: bool = False,
        rope_test_at_min: float | None = None,
    ) -> Lesson:
        if students < 1 or minutes <= 0:
            raise ValueError("--students must be at least 1 and --minutes positive")
        duration = minutes * 60
        if rope_test_at_min is not None and not 0 <= rope_test_at_min * 60 < duration:
            raise ValueError("--rope-test-at must be a minute inside the lesson")
        lesson = cls(
            name="lesson",
            duration_s=duration,
            faults=faults,
            seed=seed,
            students=students,
            rope_test_at_s=(
                rope_test_at_min * 60
                if rope_test_at_min is not None
                else max(0.0, duration * 0.5 - ROPE_TEST_S / 2)
            ),
        )
        rng = lesson.rng = random.Random(seed)
        lesson.bands = [
            Band(
                i + 1, rng, resting_bpm=rng.uniform(75, 95), max_bpm=208 - 0.7 * rng.uniform(9, 15)
            )
            for i in range(students)
        ]
        lesson._band_due = [rng.uniform(0, BAND_PERIOD_S) for _ in lesson.bands]
        lesson._effort = [rng.uniform(0.8, 1.15) for _ in lesson.bands]
        station = lesson.station = BaseStation(students, rng, report_every_s=0.5)
        station.clock_skew_s = faults.clock_skew_s
        for rope in station.ropes:
            if rng.random() < faults.low_battery:
                rope.battery_pct = rng.uniform(4, 12)
        lesson.rope_link = lesson.pty()
        if ble_link:
            # Imported here: the BLE stack takes most of a second to load.
            from simulators.ble_link import ThreadedBandLink

            lesson.radio = ThreadedBandLink(lesson.bands)
            bands_transport = {
                "type": "ble",
                "max_connections": students,
                "hci": f"tcp-client:127.0.0.1:{lesson.radio.hci_port}",
            }
        else:
            lesson.ble = lesson.server()
            bands_transport = {"type": "ble_sim", "host": "127.0.0.1", "port": lesson.ble.port}
        lesson.devices = [
            {
                "id": "gym-bands",
                "model": "hr_band_ce_hrb40",
                "transport": bands_transport,
                "ids": {b.address: f"hr-{b.index:02d}" for b in lesson.bands},
            },
            {
                "id": "gym-ropes",
                "model": "jump_rope_ce_rbs2",
                "transport": {"type": "serial", "port": lesson.rope_link.port},
                "ids": {str(r.number): f"rope-{r.number:02d}" for r in station.ropes},
            },
        ]
        lesson.counters = {"band_notifications": 0, "rope_frames": 0, "rope_results": 0}
        return lesson

    def step(self, t: float, dt: float) -> None:
        assert self.station is not None and self.rope_link is not None
        rng = self.rng
        in_test = self.rope_test_at_s <= t < self.rope_test_at_s + ROPE_TEST_S + 2
        if not self._test_started and t >= self.rope_test_at_s:
            # The teacher starts the 1-minute test on the base station's console.
            self.station.start_all(jr.Mode.COUNTDOWN_TIME, ROPE_TEST_S)
            self._test_started = True
        base = 0.95 if in_test else _activity(t / self.duration_s)
        for i, band in enumerate(self.bands):
            self._band_due[i] -= dt
            if self._band_due[i] > 0:
                continue
            self._band_due[i] += BAND_PERIOD_S
            note = band.step(BAND_PERIOD_S, min(1.0, base * self._effort[i]))
            if self.faults.garbage_rate and rng.random() < self.faults.garbage_rate:
                note = note[:1]  # a notification cut short on the radio
            if self.radio is not None:
                self.radio.notify(i, note)
            elif self.ble is not None:
                self.ble.write(ble_record(band.address, note))
            self.counters["band_notifications"] += 1
            self.frames_sent += 1
        answer = self.station.receive(self.rope_link.read())
        frames = answer + self.station.step(dt, realtime=True)
        for frame in frames:
            self.rope_link.write(disturb(frame, self.faults, rng))
            self.counters["rope_frames"] += 1
            self.counters["rope_results"] += frame[2] == jr.FrameType.RESULT
            self.frames_sent += 1

    def wait_connected(
        self, timeout_s: float, agent_pid: int | None = None, stop: threading.Event | None = None
    ) -> None:
        end = time.monotonic() + timeout_s
        while (
            self.radio is not None
            and self.radio.subscribed < len(self.bands)
            and time.monotonic() < end
            and not (stop is not None and stop.is_set())
        ):
            time.sleep(0.05)
        super().wait_connected(max(0.0, end - time.monotonic()), agent_pid, stop)

    def _set_links(self, up: bool) -> None:
        super()._set_links(up)
        if self.radio is not None:
            self.radio.set_in_range(up)

    def close(self) -> None:
        super().close()
        if self.radio is not None:
            self.radio.close()
