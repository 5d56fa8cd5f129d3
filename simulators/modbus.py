"""Modbus devices simulated by a real pymodbus server (TCP, or RTU over a pty bridge).

Every unit holds the registers its device model's register map says, encoded by the map's own
types, orders, scale and offset (drivers/modbus.py's encoder), and its values move a little at
each `tick()`, as a classroom's air does; a gate's counter steps once a pass. The server runs
its asyncio loop in a thread of its own; `mangle` rewrites the bytes it sends (fault injection:
malformed answers).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from campusedge.paths import firmware_configs_dir
from campusedge.units import METRICS, Metric, VendorMetric, metric_name
from drivers import modbus
from simulators.links import PtyBridge

# The register map the driver contract test decodes the simulator's frames with.
SAMPLE_MODEL = "modbus_ce_env30"

# Where a simulated device's values wander (a built-in metric's plausible range is far wider).
TYPICAL: dict[Metric, tuple[float, float]] = {
    Metric.AMBIENT_TEMPERATURE: (18.0, 27.0),
    Metric.BODY_TEMPERATURE: (36.0, 37.6),
    Metric.RELATIVE_HUMIDITY: (30.0, 70.0),
    Metric.CO2: (450.0, 1800.0),
}


def model_config(name: str, folder: Path | None = None) -> modbus.Config:
    """The driver config of device-model file *name* (without .yaml)."""
    path = (folder or firmware_configs_dir()) / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or data.get("driver") != "modbus":
        raise ValueError(f"{path} is not the device model of a modbus device")
    cfg = modbus.Config.model_validate(data.get("config", {}))
    assert isinstance(cfg, modbus.Config)
    return cfg


def sample_config() -> dict[str, Any]:
    """The config the contract test decodes `sample_frames` with (the env sensor's map)."""
    return model_config(SAMPLE_MODEL).model_dump(mode="json")


def _range(p: modbus.Point) -> tuple[float, float]:
    metric = metric_name(p.metric)
    if isinstance(metric, VendorMetric):
        assert p.minimum is not None and p.maximum is not None
        return p.minimum, p.maximum
    low, high = TYPICAL.get(metric, (METRICS[metric].minimum, METRICS[metric].maximum))
    return low, high


class DeviceImage:
    """The registers of one simulated unit, (function, address) -> word."""

    def __init__(self, cfg: modbus.Config, rng: random.Random) -> None:
        self.cfg = cfg
        self._rng = rng
        self.values = {p.metric: sum(_range(p)) / 2 for p in cfg.points}
        self.counter = 0
        self.words: dict[tuple[int, int], int] = {}
        self._encode()

    def _encode(self) -> None:
        for p in self.cfg.points:
            raw = modbus.raw_for(p, self.values[p.metric])
            words = modbus.encode_value(raw, p.type, p.word_order, p.byte_order)
            for address, word in zip(p.registers, words, strict=True):
                self.words[(modbus.FUNCTION[p.register_type], address)] = word
        c = self.cfg.counter
        if c is not None:
            words = modbus.encode_value(self.counter, c.type, c.word_order, c.byte_order)
            for address, word in zip(c.registers, words, strict=True):
                self.words[(modbus.FUNCTION[c.register_type], address)] = word

    def tick(self) -> None:
        """Values drift a step within their typical range; the counter steps (a new pass)."""
        for p in self.cfg.points:
            low, high = _range(p)
            step = (high - low) * 0.05 * self._rng.uniform(-1, 1)
            self.values[p.metric] = min(high, max(low, self.values[p.metric] + step))
        if self.cfg.counter is not None:
            limit = 0xFFFF if self.cfg.counter.type == "uint16" else 0xFFFFFFFF
            self.counter = (self.counter + 1) & limit
        self._encode()

    def frame(self) -> bytes:
        """The frame the poller makes of this unit's answers."""
        return b"".join(
            modbus.encode_block(
                b, [self.words[(b.function, a)] for a in range(b.start, b.start + b.count)]
            )
            for b in self.cfg.blocks
        )


def sample_frames(rng: random.Random) -> list[bytes]:
    """A few polls of the sample environment sensor, as the poller hands them over."""
    image = DeviceImage(model_config(SAMPLE_MODEL), rng)
    frames = []
    for _ in range(5):
        image.tick()
        frames.append(image.frame())
    return frames


def _table(image: DeviceImage, function: int) -> list[SimData]:
    used = [a for f, a in image.words if f == function]
    if not used:
        return [SimData(0, values=0, datatype=DataType.REGISTERS)]
    # One block from 0 to the highest address: a gap reads as 0, as on most devices.
    return [SimData(0, values=[0] * (max(used) + 1), datatype=DataType.REGISTERS)]


class ModbusSimulator:
    """A pymodbus server with one simulated device per unit number."""

    def __init__(
        self,
        cfg: modbus.Config,
        units: Iterable[int] = (1,),
        *,
        transport: str = "tcp",
        seed: int = 1,
        baudrate: int = 9600,
    ) -> None:
        if transport not in ("tcp", "rtu"):
            raise ValueError(f"transport {transport!r} is tcp or rtu")
        rng = random.Random(seed)
        self.images = {u: DeviceImage(cfg, random.Random(rng.random())) for u in units}
        self.transport = transport
        self.mangle: Callable[[bytes], bytes] | None = None
        # An exception code every answer gets instead of registers (None: answer normally).
        self.exception: ExcCodes | None = None
        self.requests = 0
        self.bridge = PtyBridge() if transport == "rtu" else None
        self.port: int | None = None
        self.serial_port = self.bridge.port if self.bridge else None
        self._baudrate = baudrate
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="modbus-sim", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._failed is not None:
            raise RuntimeError(f"the Modbus simulator did not start: {self._failed}")

    def _device(self, unit: int, image: DeviceImage) -> SimDevice:
        async def action(
            function: int,
            start: int,
            address: int,
            count: int,
            registers: list[int],
            values: list[int] | list[bool] | None,
        ) -> ExcCodes | None:
            self.requests += 1
            if self.exception is not None:
                return self.exception
            for (f, a), word in image.words.items():
                if f == function and 0 <= a - start < len(registers):
                    registers[a - start] = word
            return None

        bits = [SimData(0, values=False, datatype=DataType.BITS)]
        tables = (bits, list(bits), _table(image, 3), _table(image, 4))
        return SimDevice(id=unit, simdata=tables, action=action)

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if sending:
            return self.mangle(data) if self.mangle is not None else data
        # A request to a unit not on the line gets no answer, as on RS-485 (pymodbus 3.16
        # would answer it from a device 0, or fail with a KeyError when there is none). *data*
        # is what the server holds unparsed; requests to others are cut from its front.
        while True:
            if self.bridge is None:  # MBAP header: its length field, then the unit
                size = 6 + int.from_bytes(data[4:6], "big") if len(data) >= 7 else 0
                unit = data[6] if size else None
            else:  # RTU: a read request is unit, function, address, count, CRC: 8 bytes
                size = 8 if len(data) >= 8 else 0
                unit = data[0] if size else None
            if unit is None or unit in self.images or len(data) < size:
                return data
            data = data[size:]

    def _run(self) -> None:
        async def main() -> None:
            devices = [self._device(u, image) for u, image in self.images.items()]
            server: ModbusTcpServer | ModbusSerialServer
            if self.bridge is None:
                server = ModbusTcpServer(
                    devices, address=("127.0.0.1", 0), trace_packet=self._trace
                )
            else:
                server = ModbusSerialServer(
                    devices,
                    port=self.bridge.device_port,
                    baudrate=self._baudrate,
                    trace_packet=self._trace,
                )
            self._server = server
            self._loop = asyncio.get_running_loop()
            await server.serve_forever(background=True)
            if self.bridge is None:
                listener: Any = server.transport
                self.port = int(listener.sockets[0].getsockname()[1])
            self._ready.set()
            self._stopped = asyncio.Event()
            await self._stopped.wait()
            await server.shutdown()  # type: ignore[no-untyped-call]

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the starting thread, which raises it
            self._failed = exc
            self._ready.set()

    def tick(self) -> None:
        """Every unit's values move a step (and a gate's counter)."""
        for image in self.images.values():
            image.tick()

    def close(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)
        if self.bridge is not None:
            self.bridge.close()
