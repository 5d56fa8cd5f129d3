"""Modbus RTU (pyserial) and TCP devices, polled through pymodbus's clients.

A byte transport like the others to the device runner: each `read` that falls due polls every
unit on the link and returns one frame per unit that answered (drivers/modbus.py lays it
out), tagged by unit when the link carries several (an RS-485 line, a TCP gateway in front of
one). A request that times out after its retries, an exception response, or an answer with
the wrong number of registers costs that unit's poll: it is counted (`poll_errors`, by unit) and
the next poll tries again. A unit that misses `offline_after` polls in a row is reported
offline (its `source_state`); when every unit on the link has, or the connection is lost, the
transport fails and the runner opens it again with its back-off.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.pdu import ModbusPDU

from drivers import modbus
from edge.transports.base import SourceState, TransportError

log = logging.getLogger(__name__)

# What pymodbus raises on an answer it cannot parse: its own exceptions, and for bytes that
# are not Modbus at all whatever its decoders meet (a short PDU: struct.error, IndexError).
_BAD_ANSWER = (ModbusException, struct.error, IndexError, ValueError, KeyError)


@dataclass
class UnitState:
    """The poll record of one unit."""

    polls: int = 0
    errors: int = 0
    missed: int = 0  # polls in a row without an answer
    last_error: str | None = None


class ModbusPoller:
    """Polls the register map of *cfg* from each unit of one link."""

    def __init__(
        self,
        cfg: modbus.Config,
        *,
        host: str | None = None,
        tcp_port: int = 502,
        serial_port: str | None = None,
        baudrate: int | None = None,
        units: Mapping[str | None, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (host is None) == (serial_port is None):
            raise ValueError("a Modbus link is either TCP (host) or RTU (serial_port)")
        if not cfg.points:
            raise ValueError("the Modbus register map has no points: nothing to poll")
        self.cfg = cfg
        self._host = host
        self._tcp_port = tcp_port
        self._serial_port = serial_port
        self._baudrate = baudrate or cfg.baudrate
        self.units: dict[str | None, int] = dict(units or {None: cfg.unit_id})
        self.state: dict[str | None, UnitState] = {s: UnitState() for s in self.units}
        self._blocks = modbus.plan(cfg)
        self._clock = clock
        self._next = 0.0
        self._client: ModbusTcpClient | ModbusSerialClient | None = None

    @property
    def description(self) -> str:
        if self._host is not None:
            return f"modbus tcp {self._host}:{self._tcp_port}"
        return f"modbus rtu {self._serial_port} at {self._baudrate} baud"

    @property
    def poll_errors(self) -> dict[str | None, int]:
        """Polls that failed, by unit (source)."""
        return {source: s.errors for source, s in self.state.items()}

    def open(self) -> None:
        cfg = self.cfg
        client: ModbusTcpClient | ModbusSerialClient
        if self._host is not None:
            client = ModbusTcpClient(
                self._host, port=self._tcp_port, timeout=cfg.timeout_s, retries=cfg.retries
            )
        else:
            assert self._serial_port is not None
            client = ModbusSerialClient(
                self._serial_port,
                baudrate=self._baudrate,
                parity=cfg.parity,
                stopbits=cfg.stopbits,
                timeout=cfg.timeout_s,
                retries=cfg.retries,
            )
        # pymodbus closes a TCP link by itself after a few requests without an answer; this
        # transport decides that (offline_after), so that one mute unit behind a gateway does
        # not cut off the others.
        client.set_max_no_responses(1_000_000)
        if not client.connect():
            client.close()  # type: ignore[no-untyped-call]
            raise TransportError(f"cannot open {self.description}")
        self._client = client
        self._next = 0.0

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()  # type: ignore[no-untyped-call]
            finally:
                self._client = None

    def write(self, data: bytes) -> None:
        # Registers are written by commands of their own, which this transport does not take.
        log.warning("%s: %d bytes to write dropped (no Modbus writes)", self.description, len(data))

    def read(self, timeout_s: float) -> list[tuple[str | None, bytes]]:
        """One frame per unit that answered, when a poll is due within *timeout_s*."""
        if self._client is None:
            raise TransportError(f"{self.description} is not open")
        wait = self._next - self._clock()
        if wait > 0:
            time.sleep(min(wait, timeout_s))
            if self._next - self._clock() > 0:
                return []
        # No catching up after a stall: the next poll is an interval after this one.
        self._next = self._clock() + self.cfg.poll_interval_s
        out = []
        for source, unit in self.units.items():
            frame = self.poll(unit, self.state[source])
            if frame is not None:
                out.append((source, frame))
        if not out and all(s.missed >= self.cfg.offline_after for s in self.state.values()):
            last = next(iter(self.state.values())).last_error
            raise TransportError(
                f"{self.description}: no answer to {self.cfg.offline_after} polls in a row ({last})"
            )
        return out

    def poll(self, unit: int, state: UnitState) -> bytes | None:
        """The frame of one poll of *unit*, or None (counted in *state*) when it failed."""
        assert self._client is not None
        parts: list[bytes] = []
        state.polls += 1
        for block in self._blocks:
            why = self._read(unit, block, parts)
            if why is not None:
                state.errors += 1
                state.missed += 1
                if why != state.last_error:
                    log.warning("%s unit %d: %s", self.description, unit, why)
                state.last_error = why
                return None
        state.missed = 0
        return b"".join(parts)

    def _read(self, unit: int, block: modbus.Block, parts: list[bytes]) -> str | None:
        """Read one block into *parts*; else why not."""
        assert self._client is not None
        try:
            if block.register == "holding":
                rr: ModbusPDU = self._client.read_holding_registers(
                    block.start, count=block.count, device_id=unit
                )
            else:
                rr = self._client.read_input_registers(
                    block.start, count=block.count, device_id=unit
                )
        except ConnectionException as exc:
            raise TransportError(f"{self.description}: {exc}") from None
        except _BAD_ANSWER as exc:
            return f"{_what(block)}: {type(exc).__name__}: {exc}"
        if rr.isError():
            code = getattr(rr, "exception_code", None)
            return f"{_what(block)}: exception response {code}"
        registers = rr.registers
        if len(registers) != block.count:
            return f"{_what(block)}: answer of {len(registers)} registers, asked for {block.count}"
        try:
            parts.append(modbus.encode_block(block, registers))
        except struct.error:  # a value that is not a 16-bit register
            return f"{_what(block)}: an answer's register is not 0..65535"
        return None

    def source_state(self, source: str) -> SourceState | None:
        """A unit behind a shared line: offline once it missed `offline_after` polls."""
        state = self.state.get(source)
        if state is None:
            return None
        online = state.missed < self.cfg.offline_after
        return SourceState(online=online, detail=None if online else state.last_error)


def _what(block: modbus.Block) -> str:
    return f"{block.register} registers {block.start}..{block.start + block.count - 1}"
