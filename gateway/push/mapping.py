"""Payload mappings of HTTP push: a device's JSON body into a contract envelope, as data.

A mapping names, by JSON pointer (RFC 6901), where each value of the body is and what it is
(metric, unit, scale, offset), and where the device's sequence number and time come from or
how they are derived when the body has none. `decode` is pure (no I/O, no clock: the time of
receipt is given) and raises only `MappingError`, whose reason tag is what the dead letter
keeps. What it builds is a contract envelope, which ingest then validates like any MQTT
message (ranges, units, the future, event attributes).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from campusedge.contract import MAX_READINGS, EnvelopeError, OpenMetric, TimeQuality
from campusedge.envelope import load_json
from campusedge.topics import DeviceKind
from campusedge.units import CONVERSIONS, METRICS, Unit, VendorMetric

# A mapping's name: its file name without .yaml, what a device's push token names.
MAPPING_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# RFC 6901: "" is the whole document, else "/" and reference tokens with ~0 and ~1 escapes.
Pointer = Annotated[str, Field(pattern=r"^(/([^~]|~[01])*)*$", max_length=256)]


class MappingError(Exception):
    """A body the mapping cannot turn into an envelope; *reason* is the dead letter's tag."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class MappingFileError(ValueError):
    """A mapping file that cannot be used; the message names the file, field and line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadingMap(_Strict):
    """One value of the body: stored as `value * scale + offset` in *unit*."""

    pointer: Pointer
    metric: OpenMetric
    unit: Unit
    scale: float = Field(default=1.0, allow_inf_nan=False)
    offset: float = Field(default=0.0, allow_inf_nan=False)
    # An optional value missing from a body is left out; a required one is a dead letter.
    optional: bool = False

    @model_validator(mode="after")
    def _unit_fits(self) -> ReadingMap:
        if isinstance(self.metric, VendorMetric):
            return self
        canonical = METRICS[self.metric].unit
        if self.unit is not canonical and (self.unit, canonical) not in CONVERSIONS:
            raise ValueError(
                f"unit {self.unit.value!r} cannot be converted to {canonical.value!r}, "
                f"the unit of {self.metric.value}"
            )
        return self


class SeqFrom(StrEnum):
    """How a sequence number is derived when the body carries none."""

    # Milliseconds since 1970 of the device time: ordered, and the same on a retry.
    TIMESTAMP = "timestamp"
    # A hash of the body's bytes: the same on a retry, but in no order.
    BODY = "body"


class SeqMap(_Strict):
    """Where the device's sequence number is (*pointer*), or how it is derived (*derive*)."""

    pointer: Pointer | None = None
    derive: SeqFrom | None = None

    @model_validator(mode="after")
    def _one(self) -> SeqMap:
        if (self.pointer is None) == (self.derive is None):
            raise ValueError("give exactly one of pointer and derive")
        return self


class TimeFormat(StrEnum):
    ISO8601 = "iso8601"  # with a UTC offset: 2026-09-01T08:00:00+08:00
    UNIX_S = "unix_s"
    UNIX_MS = "unix_ms"


class TimeMap(_Strict):
    """Where the device time is and how it is written; without one, the time of receipt."""

    pointer: Pointer
    format: TimeFormat = TimeFormat.ISO8601
    quality: Literal[TimeQuality.SYNCED, TimeQuality.UNSYNCED] = TimeQuality.SYNCED


class PushMapping(_Strict):
    """A device model's push payload, as a firmware config holds a driver's frame layout."""

    kind: DeviceKind
    description: str = ""
    channel: Literal["reading", "event"] = "reading"
    event_type: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")
    seq: SeqMap
    ts: TimeMap | None = None
    readings: list[ReadingMap] = Field(default_factory=list, max_length=MAX_READINGS)
    # Events only: attribute name -> pointer (a scalar of the body, checked by the contract).
    attributes: dict[Annotated[str, Field(max_length=64)], Pointer] = Field(
        default_factory=dict, max_length=64
    )
    # Refuse a body holding a value no pointer above reads (a vendor changed its format).
    refuse_unmapped: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> PushMapping:
        if self.kind is DeviceKind.EDGE:
            raise ValueError("kind: an edge box publishes over MQTT; push is for devices")
        if self.channel == "event":
            if self.event_type is None:
                raise ValueError("event_type: an event mapping needs its event type")
        else:
            if self.event_type is not None or self.attributes:
                raise ValueError("event_type: only an event mapping has a type and attributes")
            if not self.readings:
                raise ValueError("readings: a reading mapping needs at least one reading")
        if self.seq.derive is SeqFrom.TIMESTAMP and self.ts is None:
            raise ValueError("seq: derive: timestamp needs a ts pointer (the body's time)")
        return self

    def pointers(self) -> list[str]:
        found = [r.pointer for r in self.readings] + list(self.attributes.values())
        found += [p for p in (self.seq.pointer, self.ts.pointer if self.ts else None) if p]
        return found


# --- loading ------------------------------------------------------------------------------
def packaged_dir() -> Path:
    """The example mappings shipped with the gateway."""
    return Path(__file__).resolve().parent / "mappings"


def _line_of(text: str, loc: tuple[str | int, ...]) -> int | None:
    """The line of a field path in YAML *text* (the deepest one found)."""
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(key)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def parse_mapping(text: str, where: str) -> PushMapping:
    """A mapping from YAML (or JSON) *text*; MappingFileError naming *where*, field and line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingFileError(f"{where}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise MappingFileError(f"{where}: expected a mapping of fields at the top level")
    try:
        return PushMapping.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            loc = tuple(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            # A check of the whole mapping names its field first ("seq: ..."): point there.
            named = re.match(r"([a-z_]+): ", msg) if not loc else None
            if named is not None:
                loc, msg = (named.group(1),), msg[named.end() :]
            line = _line_of(text, loc) if loc else None
            field = ".".join(str(p) for p in loc) or "(top level)"
            parts.append(f"{field}{f' (line {line})' if line else ''}: {msg}")
        raise MappingFileError(f"{where}: " + "; ".join(parts)) from None


def load_mappings(*folders: Path) -> dict[str, PushMapping]:
    """Every `NAME.yaml` of *folders*, by name; a later folder's file replaces an earlier's."""
    found: dict[str, PushMapping] = {}
    for folder in folders:
        if not folder.is_dir():
            raise MappingFileError(f"{folder}: no such folder of push mappings")
        for path in sorted(folder.glob("*.yaml")):
            if not MAPPING_NAME.fullmatch(path.stem):
                raise MappingFileError(
                    f"{path}: a mapping's file name is its name: lower-case letters, digits "
                    "and _, starting with a letter"
                )
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise MappingFileError(f"{path}: cannot read ({exc})") from None
            found[path.stem] = parse_mapping(text, str(path))
    return found


# --- decoding -----------------------------------------------------------------------------
_MISSING = object()


def resolve(document: Any, pointer: str) -> Any:
    """The value at *pointer* in *document*, or `_MISSING` (RFC 6901)."""
    node = document
    if pointer == "":
        return node
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            if token not in node:
                return _MISSING
            node = node[token]
        elif isinstance(node, list):
            # RFC 6901: an index is 0 or digits without a leading zero.
            if not re.fullmatch(r"0|[1-9][0-9]{0,8}", token) or int(token) >= len(node):
                return _MISSING
            node = node[int(token)]
        else:
            return _MISSING
    return node


def _leaves(document: Any) -> list[str]:
    """The pointer of every scalar (and empty container) in *document*, in document order.

    Iterative: a body nested as deep as the JSON parser allows must not exhaust the stack.
    """
    out: list[str] = []
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        prefix, node = stack.pop()
        if isinstance(node, dict) and node:
            items = [(str(k).replace("~", "~0").replace("/", "~1"), v) for k, v in node.items()]
        elif isinstance(node, list) and node:
            items = [(str(i), v) for i, v in enumerate(node)]
        else:
            out.append(prefix)
            continue
        stack.extend((f"{prefix}/{token}", value) for token, value in reversed(items))
    return out


def _covered(leaf: str, pointers: list[str]) -> bool:
    return any(leaf == p or leaf.startswith(p + "/") or p == "" for p in pointers)


def _number(value: Any, pointer: str) -> float:
    # JSON true is 1 in Python: a flag is not a measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MappingError("invalid", f"{pointer}: {type(value).__name__} is not a number")
    try:
        return float(value)
    except OverflowError:
        raise MappingError("invalid", f"{pointer}: number beyond the float range") from None


def _seq(mapping: PushMapping, body: Any, raw: bytes, ts: datetime) -> int:
    if mapping.seq.pointer is not None:
        value = resolve(body, mapping.seq.pointer)
        if value is _MISSING:
            raise MappingError("missing_field", f"no sequence number at {mapping.seq.pointer}")
        # Vendor record ids are often digits in a string.
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            raise MappingError(
                "invalid",
                f"{mapping.seq.pointer}: a sequence number is a whole number 0 .. 2**63-1",
            )
        return int(value)
    if mapping.seq.derive is SeqFrom.TIMESTAMP:
        return int(ts.timestamp() * 1000)
    # The bytes as sent: a retry sends the same ones.
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big") >> 1


def _time(mapping: PushMapping, body: Any, received_at: datetime) -> tuple[datetime, str]:
    spec = mapping.ts
    if spec is None:
        return received_at, TimeQuality.RECEIVED.value
    value = resolve(body, spec.pointer)
    if value is _MISSING:
        raise MappingError("missing_field", f"no device time at {spec.pointer}")
    try:
        if spec.format is TimeFormat.ISO8601:
            if not isinstance(value, str):
                raise ValueError("an ISO-8601 time is a string")
            at = datetime.fromisoformat(value)
            if at.tzinfo is None:
                raise ValueError("the time carries no UTC offset")
        else:
            seconds = _number(value, spec.pointer)
            if spec.format is TimeFormat.UNIX_MS:
                seconds /= 1000
            at = datetime.fromtimestamp(seconds, UTC)
        at = at.astimezone(UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise MappingError(
            "invalid", f"{spec.pointer}: not a {spec.format.value} time: {exc}"
        ) from None
    return at, spec.quality.value


def decode(
    raw: bytes, mapping: PushMapping, device_id: str, received_at: datetime, max_bytes: int
) -> dict[str, Any]:
    """The contract envelope (a JSON object) of body *raw*, or MappingError saying why not."""
    try:
        body = load_json(raw, max_bytes)
    except EnvelopeError as exc:
        raise MappingError(exc.reason, exc.detail) from None
    if mapping.refuse_unmapped:
        pointers = mapping.pointers()
        stray = [leaf for leaf in _leaves(body) if not _covered(leaf, pointers)]
        if stray:
            raise MappingError(
                "unmapped_field", f"the body holds {', '.join(stray[:5])}, which no pointer reads"
            )
    ts, quality = _time(mapping, body, received_at)
    readings = []
    for spec in mapping.readings:
        value = resolve(body, spec.pointer)
        if value is _MISSING:
            if spec.optional:
                continue
            raise MappingError("missing_field", f"no {spec.metric} at {spec.pointer}")
        number = _number(value, spec.pointer) * spec.scale + spec.offset
        readings.append({"metric": str(spec.metric), "value": number, "unit": spec.unit.value})
    envelope: dict[str, Any] = {
        "v": 1,
        "device_id": device_id,
        "kind": mapping.kind.value,
        "seq": _seq(mapping, body, raw, ts),
        "ts": ts.isoformat(),
        "time_quality": quality,
    }
    if mapping.channel == "reading":
        envelope["readings"] = readings
        return envelope
    attributes = {}
    for name, pointer in mapping.attributes.items():
        value = resolve(body, pointer)
        if value is not _MISSING:
            attributes[name] = value
    envelope["event"] = {"type": mapping.event_type, "readings": readings, "attributes": attributes}
    return envelope
