"""A simulated rope base station: ropes that jump, send realtime frames and report results."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from drivers import jump_rope as jr
from drivers.base import DecodeError


@dataclass
class Rope:
    """One rope: counts jumps while a session runs."""

    number: int
    rng: random.Random
    rate_per_s: float = 2.5
    battery_pct: float = 100.0
    packet: int = 0
    status: int = jr.Status.IDLE
    mode: int = jr.Mode.FREE
    set_value: int = 0
    elapsed_s: float = 0.0
    count: float = 0.0
    started_unix_s: int = 0
    trips: int = 0
    rates: list[float] = field(default_factory=list)

    def next_packet(self) -> int:
        self.packet = (self.packet + 1) & 0xFF
        return self.packet

    def start(self, mode: int, set_value: int, unix_s: int) -> None:
        self.status, self.mode, self.set_value = jr.Status.RUNNING, mode, set_value
        self.elapsed_s, self.count, self.trips, self.rates = 0.0, 0.0, 0, []
        self.started_unix_s = unix_s

    def step(self, dt_s: float) -> bool:
        """Advance; True when a countdown has just finished."""
        self.battery_pct = max(0.0, self.battery_pct - dt_s * 0.001)
        if self.status != jr.Status.RUNNING:
            return False
        self.elapsed_s += dt_s
        rate = max(0.5, self.rate_per_s + self.rng.gauss(0, 0.3))
        if self.rng.random() < dt_s * 0.02:  # a trip on the rope costs a second or so
            self.trips += 1
            rate = 0.0
        self.count += rate * dt_s
        self.rates.append(rate * 60)
        done = (self.mode == jr.Mode.COUNTDOWN_TIME and self.elapsed_s >= self.set_value) or (
            self.mode == jr.Mode.COUNTDOWN_COUNT and self.count >= self.set_value
        )
        if done:
            self.status = jr.Status.FINISHED
        return done

    def realtime(self, base_ms: int) -> bytes:
        return jr.Realtime(
            self.number,
            self.next_packet(),
            base_ms & 0xFFFFFFFF,
            self.status,
            self.mode,
            self.set_value,
            min(0xFFFF, int(self.elapsed_s)),
            min(0xFFFF, int(self.count)),
            int(self.battery_pct),
        ).encode()

    def result(self, base_ms: int) -> bytes:
        elapsed = max(1, round(self.elapsed_s))
        count = int(self.count)
        return jr.Result(
            self.number,
            self.next_packet(),
            base_ms & 0xFFFFFFFF,
            self.started_unix_s,
            self.mode,
            self.set_value,
            elapsed,
            count,
            int(count * 60 / elapsed),
            int(max(self.rates, default=0)),
            min(255, self.trips),
        ).encode()


class BaseStation:
    """Many ropes behind one base station; answers the edge's commands."""

    def __init__(
        self,
        ropes: int,
        rng: random.Random,
        first_number: int = 1,
        report_every_s: float = 0.0,
        idle_every_s: float = 10.0,
    ) -> None:
        self.rng = rng
        # 0 reports on every step (contract tests); a real station reports twice a second.
        self.report_every_s = report_every_s
        self.idle_every_s = idle_every_s
        self.clock_skew_s = 0.0
        self.ropes = [
            Rope(first_number + i, rng, rate_per_s=rng.uniform(1.8, 3.2)) for i in range(ropes)
        ]
        self.uptime_ms = rng.randrange(10_000, 10_000_000)
        self.clock_unix_s = 0
        self._cmd = jr.RopeFramer()
        self._next_report = [rng.uniform(0, max(report_every_s, idle_every_s)) for _ in self.ropes]
        self._t = 0.0
        self._synced_at = 0.0

    def clock(self) -> int:
        """The ropes' clock: Unix seconds since the last time sync (0 before one)."""
        if not self.clock_unix_s:
            return 0
        return int(self.clock_unix_s + self._t - self._synced_at)

    def start_all(self, mode: jr.Mode, set_value: int, unix_s: int | None = None) -> None:
        unix_s = self.clock() if unix_s is None else unix_s
        for rope in self.ropes:
            rope.start(mode, set_value, unix_s)

    def step(self, dt_s: float, realtime: bool) -> list[bytes]:
        """Advance all ropes; frames: realtime for running ropes (and all if *realtime*)."""
        self.uptime_ms += int(dt_s * 1000)
        self._t += dt_s
        out = []
        for i, rope in enumerate(self.ropes):
            finished = rope.step(dt_s)
            due = self._t >= self._next_report[i]
            if due:
                running = rope.status == jr.Status.RUNNING
                self._next_report[i] = self._t + (
                    self.report_every_s if running else self.idle_every_s
                )
            if (rope.status == jr.Status.RUNNING and (due or not self.report_every_s)) or (
                realtime and (due or not self.report_every_s)
            ):
                out.append(rope.realtime(self.uptime_ms))
            if finished:
                if not due:  # the last count goes out once, then the result
                    out.append(rope.realtime(self.uptime_ms))
                out.append(rope.result(self.uptime_ms))
                rope.status = jr.Status.IDLE
        return out

    def receive(self, data: bytes) -> list[bytes]:
        """Handle command bytes from the edge; acknowledgement frames to send back."""
        acks = []
        for raw in self._cmd.feed(data):
            try:
                cmd = jr.parse_command(raw)
            except DecodeError:
                continue  # a real base station ignores what it cannot read
            targets = [r for r in self.ropes if cmd.rope in (jr.ALL_ROPES, r.number)]
            if isinstance(cmd, jr.TimeSync):
                self.clock_unix_s = int(cmd.unix_s + self.clock_skew_s)
                self._synced_at = self._t
                ftype = jr.FrameType.TIME_SYNC
            else:
                ftype = jr.FrameType.CONTROL
                for rope in targets:
                    if cmd.action == jr.Action.START:
                        rope.start(cmd.mode, cmd.set_value, self.clock())
                    elif cmd.action == jr.Action.END:
                        rope.status = jr.Status.FINISHED
            for rope in targets:
                acks.append(
                    jr.encode_ack(rope.number, rope.next_packet(), self.uptime_ms, ftype, 0)
                )
        return acks


def sample_frames(rng: random.Random, n: int = 20) -> list[bytes]:
    """Frames of a short countdown-count session (for contract tests)."""
    station = BaseStation(3, rng)
    station.start_all(jr.Mode.COUNTDOWN_COUNT, 10, 1_788_249_600)
    frames: list[bytes] = []
    for _ in range(n):
        frames += station.step(0.5, realtime=False)
    return frames + station.step(1.0, realtime=True)
