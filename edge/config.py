"""Firmware configs: device-model files and edge-box files, validated before anything starts.

A device-model file (`kind: device_model`) names a driver and holds the model's defaults for
that driver's `Config`; an edge-box file (`kind: edge_box`) lists the devices a box runs, each
pointing at a model by file name, with its transport and config overrides. Both are checked
against the driver's own schema when loaded, so a typo fails at start-up with the file and
field named.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from campusedge.paths import firmware_configs_dir
from campusedge.topics import DeviceKind, check_id
from campusedge.words import N_, Shown
from drivers.base import DriverConfig
from drivers.registry import config_model, registry
from edge.transports import gatt_profiles


class ConfigError(Shown, ValueError):
    """A firmware config file is invalid; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceModel(_Strict):
    """One device model: which driver, which firmware, and the driver config defaults."""

    kind: Literal["device_model"]
    driver: str
    model: str = Field(min_length=1, max_length=64)
    vendor: str | None = None
    firmware: str = Field(min_length=1, max_length=64)
    has_rtc: bool = Field(description="the device has a real-time clock of its own")
    config: dict[str, Any] = Field(default_factory=dict)


class SerialTransport(_Strict):
    type: Literal["serial"]
    port: str
    baudrate: int | None = Field(default=None, gt=0, description="default: the driver's")


class TcpTransport(_Strict):
    type: Literal["tcp"]
    host: str
    port: int = Field(ge=1, le=65535)


class BleSimTransport(_Strict):
    """Notifications streamed by the band simulator over TCP (simulators/hr_band.py)."""

    type: Literal["ble_sim"]
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)


class BleTransport(_Strict):
    """A BLE central (edge/transports/ble_central.py) on one or more HCI controllers."""

    type: Literal["ble"]
    # bumble HCI transport strings: "usb:0", "hci-socket:0", "serial:/dev/ttyACM0,1000000",
    # "tcp-client:127.0.0.1:PORT" (the virtual link of `campusedge simulate ble-bands`).
    hci: list[str] = Field(min_length=1)
    # Controllers hold a few simultaneous links each (often 5-10 for USB dongles); a kit of
    # more bands needs more controllers.
    max_connections: int = Field(
        default=7, ge=1, le=64, description="simultaneous band links one controller holds"
    )
    connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    read_battery: bool = Field(default=True, description="read Battery Level (0x2A19) on connect")

    @field_validator("hci", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("hci")
    @classmethod
    def _no_blanks(cls, value: list[str]) -> list[str]:
        if any(not spec.strip() for spec in value):
            raise ValueError("an HCI transport string is empty")
        return value


class CameraTransport(_Strict):
    type: Literal["camera"]


Transport = Annotated[
    SerialTransport | TcpTransport | BleSimTransport | BleTransport | CameraTransport,
    Field(discriminator="type"),
]


class DeviceEntry(_Strict):
    """One device (or one gateway to many devices, like a rope base station) on the box."""

    id: str
    model: str = Field(description="device-model file name in firmware_configs, without .yaml")
    transport: Transport
    # Devices behind one transport (bands by BLE address, ropes by number) get these ids;
    # unlisted ones get "<id>-<source>".
    ids: dict[str, str] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)


class BufferConfig(_Strict):
    path: str = "campusedge-buffer.db"
    max_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=64 * 1024,
        description="payload bytes kept; beyond it the drop policy applies",
    )


class BoxFile(_Strict):
    kind: Literal["edge_box"]
    edge_id: str
    school: str
    firmware: str = "0.1.0"
    config_version: str = "1"
    buffer: BufferConfig = BufferConfig()
    status_interval_s: float = Field(default=30.0, gt=0)
    inflight: int = Field(default=200, ge=1, le=1000, description="unacknowledged publishes")
    # When a buffered message may go: "gateway" once the gateway's stored watermark covers
    # it, so a broker that loses what it acknowledged (a crash before it saved) loses nothing;
    # "broker" on the broker's PUBACK, for a gateway that publishes no watermarks.
    delete_on: Literal["gateway", "broker"] = "gateway"
    resend_after_s: float = Field(
        default=30.0, gt=0, description="send again what the gateway has not stored by then"
    )
    # An RTC further off than this is not trusted: its readings get the estimated offset.
    max_rtc_error_s: float = Field(default=2.0, gt=0)
    model_versions: dict[str, str] = Field(
        default_factory=dict, description="on-device models, reported in status"
    )
    # Prometheus /metrics of the agent: off unless a port is set (a shared box may have no
    # free port, and metrics say what runs there); on loopback unless told otherwise.
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="serve Prometheus /metrics on this port"
    )
    metrics_host: str = Field(default="127.0.0.1", description="address /metrics listens on")
    mqtt_credentials: str | None = Field(
        default=None,
        description="the box's credentials file from `campusedge provision box` "
        "(relative to this file)",
    )
    # Remote model updates: the ed25519 public key (raw 32 bytes, base64) whose signature a
    # model from the gateway must carry; none pinned, none is taken.
    model_signing_key: str | None = Field(default=None, max_length=64)
    model_dir: str = Field(
        default="campusedge-models",
        description="where models from the gateway are kept (relative to the working directory)",
    )
    devices: list[DeviceEntry] = Field(min_length=1)


class ResolvedDevice(_Strict):
    """A device entry joined with its model and its validated driver config."""

    entry: DeviceEntry
    model: DeviceModel
    driver_config: DriverConfig

    @property
    def kind(self) -> DeviceKind:
        drivers = registry()
        if self.model.driver in drivers.drivers:
            # A protocol family (modbus) stands for several kinds: the device model says which.
            kind = getattr(self.driver_config, "kind", None)
            if isinstance(kind, DeviceKind):
                return kind
            return drivers.drivers[self.model.driver].kind
        return drivers.cameras[self.model.driver].kind

    def device_id(self, source: str | None) -> str:
        if source is None:
            return self.entry.id
        return self.entry.ids.get(source) or check_id(
            f"{self.entry.id}-{source.replace(':', '')}", "device id"
        )


class BoxConfig(_Strict):
    box: BoxFile
    devices: list[ResolvedDevice]


# A model-level check names the field it is about at the start of its message ("points.3
# (co2): ..."), since pydantic gives such an error no location of its own.
_FIELD_IN_MESSAGE = re.compile(r"Value error, ([a-z_]+(?:\.\d+)?)\b")
LineOf = Callable[[tuple[str | int, ...]], int | None]


def _where(exc: ValidationError, line_of: LineOf | None = None) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc: tuple[str | int, ...] = tuple(err["loc"])
        named = _FIELD_IN_MESSAGE.match(err["msg"]) if not loc else None
        if named is not None:
            loc = tuple(int(p) if p.isdigit() else p for p in named.group(1).split("."))
        text = ".".join(str(p) for p in loc) or "(top level)"
        line = line_of(loc) if line_of is not None and loc else None
        parts.append(f"{text}{f' (line {line})' if line else ''}: {err['msg']}")
    return "; ".join(parts)


def yaml_lines(text: str, prefix: tuple[str | int, ...] = ()) -> LineOf:
    """The line of a field path (`points.3.type`) in YAML *text*: the deepest one found."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        root = None

    def line_of(loc: tuple[str | int, ...]) -> int | None:
        node, line = root, None
        for key in (*prefix, *loc):
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if k.value == str(key)), None)
                if match is None:
                    break
                line = next(k for k, v in node.value if v is match).start_mark.line + 1
                node = match
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if key >= len(node.value):
                    break
                node = node.value[key]
                line = node.start_mark.line + 1
            else:
                break
        return line

    return line_of


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(
            N_("{path}: cannot read ({reason})"), path=path, reason=exc.strerror
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(N_("{path}: not valid YAML ({reason})"), path=path, reason=exc) from None
    if not isinstance(data, dict):
        raise ConfigError(N_("{path}: expected a mapping at the top level"), path=path)
    return data


def driver_config(
    driver: str, values: dict[str, Any], where: str, line_of: LineOf | None = None
) -> DriverConfig:
    """Validate *values* against the Config of *driver*; *line_of* finds a field's line."""
    try:
        model = config_model(driver)
    except KeyError as exc:
        raise ConfigError(f"{where}: {exc.args[0]}") from None
    try:
        cfg = model.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(
            N_("{where}: invalid {driver} config: {problem}"),
            where=where,
            driver=driver,
            problem=_where(exc, line_of),
        ) from None
    assert isinstance(cfg, DriverConfig)
    return cfg


def load_model(path: Path) -> DeviceModel:
    """Load and check one device-model file, including its driver config."""
    data = _read_yaml(path)
    try:
        model = DeviceModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_where(exc)}") from None
    lines = yaml_lines(path.read_text(), ("config",))
    driver_config(model.driver, model.config, str(path), lines)
    return model


BLE_ADDRESS = re.compile(r"[0-9A-F]{2}(:[0-9A-F]{2}){5}")


def _check_ble_kit(entry: DeviceEntry, t: BleTransport, where: str) -> None:
    """The central connects only to the bands in `ids`, so they must be there and fit."""
    if not entry.ids:
        raise ConfigError(
            N_(
                "{where}: a ble transport connects only to the bands listed in ids "
                "(BLE address -> device id); ids is empty"
            ),
            where=where,
        )
    for address in entry.ids:
        if not BLE_ADDRESS.fullmatch(address):
            raise ConfigError(
                N_(
                    "{where}: ids key {address!r} is not a BLE address in upper case like "
                    "CE:5E:00:00:00:01"
                ),
                where=where,
                address=address,
            )
    room = len(t.hci) * t.max_connections
    if len(entry.ids) > room:
        raise ConfigError(
            N_(
                "{where}: {bands} bands but {controllers} controller(s) x max_connections "
                "{max_connections} hold {room}; add controllers to hci or raise "
                "max_connections if the controller allows it"
            ),
            where=where,
            bands=len(entry.ids),
            controllers=len(t.hci),
            max_connections=t.max_connections,
            room=room,
        )


def _check_modbus_units(entry: DeviceEntry, where: str) -> None:
    """Units sharing one line (RS-485, a TCP gateway) are listed in ids by unit number."""
    if isinstance(entry.transport, (BleTransport, BleSimTransport, CameraTransport)):
        raise ConfigError(
            N_("{where}: a modbus device is on a serial (RTU) or tcp transport"), where=where
        )
    for unit in entry.ids:
        if not (unit.isdigit() and 0 <= int(unit) <= 247):
            raise ConfigError(
                N_(
                    "{where}: ids key {unit!r} is not a Modbus unit number 0-247 "
                    "(the units polled on this line)"
                ),
                where=where,
                unit=unit,
            )


def load_box(path: Path, models_dir: Path | None = None) -> BoxConfig:
    """Load an edge-box file and every device model it names; ConfigError on any problem."""
    data = _read_yaml(path)
    try:
        box = BoxFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_where(exc)}") from None
    try:
        check_id(box.edge_id, "edge id")
        check_id(box.school, "school id")
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if box.mqtt_credentials is not None:
        box = box.model_copy(update={"mqtt_credentials": str(path.parent / box.mqtt_credentials)})
    # The box's own folder, the shipped models, then those plug-ins bring along.
    search = [path.parent, models_dir or firmware_configs_dir(), *registry().device_model_dirs()]
    resolved = []
    seen: set[str] = set()
    for i, entry in enumerate(box.devices):
        where = f"{path}: devices.{i} ({entry.id})"
        try:
            check_id(entry.id, "device id")
            for dev_id in entry.ids.values():
                check_id(dev_id, "device id")
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if isinstance(entry.transport, BleTransport):
            _check_ble_kit(entry, entry.transport, where)
        if entry.id in seen:
            raise ConfigError(
                N_("{where}: device id {device!r} is used twice"), where=where, device=entry.id
            )
        seen.add(entry.id)
        model_path = next(
            (d / f"{entry.model}.yaml" for d in search if (d / f"{entry.model}.yaml").exists()),
            None,
        )
        if model_path is None:
            raise ConfigError(
                N_("{where}: no device model file {file} in {folders}"),
                where=where,
                file=f"{entry.model}.yaml",
                folders=", ".join(str(d) for d in search),
            )
        model = load_model(model_path)
        if (
            isinstance(entry.transport, BleTransport)
            and model.driver not in gatt_profiles.BY_DRIVER
        ):
            raise ConfigError(
                N_(
                    "{where}: driver {driver} has no BLE GATT profile; a ble transport reads "
                    "{drivers}"
                ),
                where=where,
                driver=model.driver,
                drivers=", ".join(sorted(gatt_profiles.BY_DRIVER)),
            )
        cfg = driver_config(model.driver, {**model.config, **entry.config}, where)
        if model.driver == "modbus":
            _check_modbus_units(entry, where)
        cameras = registry().cameras
        is_camera = model.driver in cameras
        if is_camera != isinstance(entry.transport, CameraTransport):
            if is_camera:
                raise ConfigError(
                    N_("{where}: driver {driver} needs a camera transport"),
                    where=where,
                    driver=model.driver,
                )
            raise ConfigError(
                N_("{where}: driver {driver} needs a byte-stream transport"),
                where=where,
                driver=model.driver,
            )
        if is_camera:
            try:
                cameras[model.driver].check_device(cfg)
            except ValueError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        resolved.append(ResolvedDevice(entry=entry, model=model, driver_config=cfg))
    return BoxConfig(box=box, devices=resolved)


def load_any(path: Path) -> DeviceModel | BoxConfig:
    """Load a firmware config of either kind (used to check the whole folder)."""
    kind = _read_yaml(path).get("kind")
    if kind == "device_model":
        return load_model(path)
    if kind == "edge_box":
        return load_box(path)
    raise ConfigError(
        N_("{path}: 'kind' must be device_model or edge_box, not {kind!r}"), path=path, kind=kind
    )
