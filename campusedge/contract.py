"""Wire contract payloads: reading, event and status messages (pydantic v2)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)
from pydantic_core import core_schema

from campusedge.excerpt import excerpt
from campusedge.topics import DeviceKind, check_id
from campusedge.units import VENDOR_METRIC_PATTERN, Metric, MetricName, Unit, VendorMetric

SCHEMA_VERSION: Literal[1] = 1
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_READINGS = 64


class TimeQuality(StrEnum):
    """How far a device timestamp can be trusted."""

    # The device has a real-time clock kept in sync (NTP, GPS, or time-sync command).
    SYNCED = "synced"
    # The device has a clock, but it has not been synchronised recently.
    UNSYNCED = "unsynced"
    # No device clock: the edge agent mapped device uptime to wall time by an estimated offset.
    ESTIMATED = "estimated"
    # No device time at all: the edge agent stamped the time it received the frame.
    RECEIVED = "received"


def _finite(v: float) -> float:
    try:
        finite = math.isfinite(v)
    except OverflowError:  # an integer too large for any float (JSON allows 1 followed by 400 0s)
        finite = False
    if not finite:
        raise ValueError(
            "value must be a finite number (no NaN, infinity or integer beyond the float range)"
        )
    return v


# Earlier device times are a clock that was never set; they are refused rather than stored,
# also because InfluxDB cannot hold times before 1677 and would refuse the whole batch.
EARLIEST_TS = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("timestamp must carry a UTC offset (e.g. 2026-09-01T08:00:00Z)")
    try:
        v = v.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 has no UTC time in range
        raise ValueError(f"timestamp {v.isoformat()} is out of range in UTC") from None
    if v < EARLIEST_TS:
        raise ValueError(
            f"timestamp {v.isoformat()} is before 1970-01-01T00:00:00Z: the device clock is not set"
        )
    return v


def _not_bool(v: object) -> object:
    # JSON true equals 1 in Python; a schema version must be the number itself.
    if isinstance(v, bool):
        raise ValueError("schema version must be an integer, not a boolean")
    return v


SchemaVersion = Annotated[
    Literal[1], BeforeValidator(_not_bool), Field(description="schema version")
]
DeviceId = Annotated[StrictStr, AfterValidator(lambda v: check_id(v, "device id"))]
Finite = Annotated[StrictFloat | StrictInt, AfterValidator(_finite)]
Timestamp = Annotated[datetime, AfterValidator(_utc)]


class _OpenMetric:
    """Schema of a reading's metric: a built-in Metric, else a plug-in's `vendor.metric`.

    Left to right, so a built-in name is matched by the enum's own (compiled) validator and
    only a dotted name reaches the vendor pattern; one error naming both forms otherwise.
    """

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.union_schema(
            [handler.generate_schema(Metric), handler.generate_schema(VendorMetric)],
            mode="left_to_right",
            custom_error_type="metric_name",
            custom_error_message=(
                "metric is neither a built-in metric nor a vendor metric vendor.metric "
                f"(matching {VENDOR_METRIC_PATTERN})"
            ),
        )


OpenMetric = Annotated[MetricName, _OpenMetric]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reading(_Strict):
    """One measured value: metric, value and unit. Built-in metrics are the Metric enum; a
    plug-in driver's are `vendor.metric` (VendorMetric) in a unit of the fixed Unit set."""

    metric: OpenMetric
    value: Finite
    unit: Unit


class _Header(_Strict):
    v: SchemaVersion = SCHEMA_VERSION
    device_id: DeviceId
    kind: DeviceKind
    seq: StrictInt = Field(ge=0, lt=2**63, description="per-device monotonic sequence number")
    ts: Timestamp = Field(description="device timestamp (UTC)")
    time_quality: TimeQuality


class ReadingMessage(_Header):
    """Telemetry published on `…/reading`."""

    readings: list[Reading] = Field(min_length=1, max_length=MAX_READINGS)


EventValue = StrictBool | StrictInt | Finite | StrictStr | None


class Event(_Strict):
    """A discrete result: a finished rope test, a counted set, a gate pass, a screening record."""

    type: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    readings: list[Reading] = Field(default_factory=list, max_length=MAX_READINGS)
    attributes: dict[Annotated[str, Field(max_length=64)], EventValue] = Field(
        default_factory=dict, max_length=64
    )

    @field_validator("attributes")
    @classmethod
    def _short_strings(cls, v: dict[str, EventValue]) -> dict[str, EventValue]:
        for key, item in v.items():
            if isinstance(item, str) and len(item) > 256:
                raise ValueError(f"attribute {key!r} is longer than 256 characters")
        return v


class EventMessage(_Header):
    """A discrete result published on `…/event`."""

    event: Event


# --- which events each kind sends, and their attributes ---------------------------------------
# Attributes are data a device measured or decided, never free text: a string attribute is an
# id, a code, a time or a file name, so that no name (a student's, anyone's) can travel in one.
TOKEN = r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}"


@dataclass(frozen=True)
class AttributeSpec:
    """What one event attribute may hold (None is allowed for every attribute: not known)."""

    kind: Literal["integer", "number", "boolean", "string"]
    pattern: str = TOKEN  # strings only; the whole value must match
    description: str = ""

    def accepts(self, value: EventValue) -> bool:
        if value is None:
            return True
        if self.kind == "boolean":
            return isinstance(value, bool)
        if isinstance(value, bool):
            return False
        if self.kind == "integer":
            return isinstance(value, int)
        if self.kind == "number":
            return isinstance(value, int | float)
        return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None


def _int(description: str = "") -> AttributeSpec:
    return AttributeSpec("integer", description=description)


def _number(description: str = "") -> AttributeSpec:
    return AttributeSpec("number", description=description)


def _token(description: str = "", pattern: str = TOKEN) -> AttributeSpec:
    return AttributeSpec("string", pattern, description)


# kind -> event type -> attribute name -> spec. A name ending in "*" covers every attribute
# that starts with what comes before it.
EVENT_ATTRIBUTES: Final[dict[DeviceKind, dict[str, dict[str, AttributeSpec]]]] = {
    DeviceKind.JUMP_ROPE: {
        "rope_result": {
            "mode": _token("free, countdown_time or countdown_count", r"[a-z_]{1,32}"),
            "set_value": _int("seconds or jumps the countdown was set to"),
            "avg_rate_per_min": _number(),
            "max_rate_per_min": _number(),
            "trips": _int(),
            "started_unix_s": _number(),
        },
        "rope_command_ack": {
            "command": _token("the command byte, e.g. 0x21", r"0x[0-9A-F]{2}"),
            "ok": AttributeSpec("boolean"),
            "result": _int(),
        },
    },
    DeviceKind.TEMP_GATE: {
        "gate_pass": {
            "subject_id": _token("the card or face id the gate read (enrolled in the roster)"),
            "card_id": _token("the older name of subject_id"),
            "id_type": _token("card or face", r"[a-z_]{1,32}"),
            "site": _token("forehead or wrist", r"[a-z_]{1,32}"),
            "decision": _token("pass or deny", r"[a-z_]{1,32}"),
            "gate_seq": _int(),
        },
    },
    DeviceKind.VISION_SCREENER: {
        "vision_screening": {
            "subject_id": _token("the class-list id the screener was given"),
            "card_id": _token("the older name of subject_id"),
            "record_no": _int(),
        },
    },
    DeviceKind.PE_STATION: {
        "pe_set": {
            "exercise": _token(pattern=r"[a-z_]{1,32}"),
            "start": _token("ISO 8601 time"),
            "end": _token("ISO 8601 time"),
            "start_frame": _int(),
            "end_frame": _int(),
            "form_flags": _token("flags, comma-separated", r"([a-z_]{1,32}(,[a-z_]{1,32})*)?"),
            "model": _token("the pose model's file name"),
            "signal": _token("the body signal the reps were counted from", r"[a-z_]{1,40}"),
            "quality": _token(
                "why the count may not be a measurement, comma-separated; empty when it is",
                r"([a-z_]{1,32}(,[a-z_]{1,32})*)?",
            ),
            "duration_s": _number("length of a timed test"),
            "form_*": _int("reps with that form flag"),
        },
        "run_time": {"item": _token("the timed run, e.g. run_50m", r"[a-z0-9_]{1,32}")},
    },
}

# Attribute names that could hold a person's name: refused with a reason of their own.
_NAMELIKE = re.compile(r"name|xingming|姓名", re.IGNORECASE)


def check_event(kind: DeviceKind, event: Event) -> None:
    """Raise EnvelopeError unless *event* is one that *kind* sends, with attributes of its
    schema (EVENT_ATTRIBUTES)."""
    types = EVENT_ATTRIBUTES.get(kind, {})
    schema = types.get(event.type)
    if schema is None:
        known = ", ".join(sorted(types)) or "none"
        raise EnvelopeError(
            "unknown_event",
            f"{kind.value} devices send no {event.type!r} event (the contract's: {known})",
        )
    for name, value in event.attributes.items():
        spec = schema.get(name) or next(
            (s for k, s in schema.items() if k.endswith("*") and name.startswith(k[:-1])), None
        )
        if spec is None:
            if _NAMELIKE.search(name):
                raise EnvelopeError(
                    "personal_name",
                    f"{event.type} attribute {name!r}: names never travel on the wire; the "
                    "gateway binds a device to its student from the roster",
                )
            raise EnvelopeError(
                "bad_attribute",
                f"{event.type} has no attribute {name!r} (the contract's: "
                f"{', '.join(sorted(schema))})",
            )
        if not spec.accepts(value):
            want = spec.kind if spec.kind != "string" else f"a string matching {spec.pattern}"
            raise EnvelopeError(
                "bad_attribute", f"{event.type} attribute {name!r}: {value!r} is not {want}"
            )


def event_attributes_schema() -> dict[str, Any]:
    """EVENT_ATTRIBUTES as a JSON Schema document, for the contract export."""
    kinds: dict[str, Any] = {}
    for kind, types in EVENT_ATTRIBUTES.items():
        kinds[kind.value] = {}
        for event_type, attributes in types.items():
            properties: dict[str, Any] = {}
            patterns: dict[str, Any] = {}
            for name, spec in attributes.items():
                field: dict[str, Any] = {"type": [spec.kind, "null"]}
                if spec.kind == "string":
                    field["pattern"] = f"^{spec.pattern}$"
                if spec.description:
                    field["description"] = spec.description
                if name.endswith("*"):
                    patterns[f"^{re.escape(name[:-1])}"] = field
                else:
                    properties[name] = field
            schema: dict[str, Any] = {
                "type": "object",
                "properties": properties,
                "additionalProperties": False,
            }
            if patterns:
                schema["patternProperties"] = patterns
            kinds[kind.value][event_type] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "event attributes by device kind and event type",
        "description": "`event.attributes` of an event message must follow the schema of its "
        "kind and event type; other events and attributes are dead-lettered.",
        "kinds": kinds,
    }


class DeviceState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class BufferRepair(_Strict):
    """An edge box found its store-and-forward buffer file damaged and rebuilt it.

    The damaged file is kept beside the new one under `moved_to`; the messages that could
    still be read were carried over and are being published, the rest is lost.
    """

    at: Timestamp = Field(description="when the damage was found (UTC)")
    reason: StrictStr = Field(max_length=256, description="what SQLite said was wrong")
    moved_to: StrictStr = Field(max_length=256, description="file name the damaged buffer kept")
    recovered: StrictInt = Field(ge=0, description="buffered messages carried over")
    repairs: StrictInt = Field(ge=1, description="buffer repairs since the agent started")


class CommandResult(_Strict):
    """What an edge box did with a command the gateway sent with an id (`command_id`)."""

    id: DeviceId = Field(description="the command's id, as the gateway sent it")
    name: StrictStr = Field(max_length=32, description="config, rope or model")
    ok: StrictBool = Field(description="applied (true) or refused/failed (false)")
    detail: StrictStr = Field(default="", max_length=256, description="the box's reason")
    at: Timestamp = Field(description="when the box finished with it (UTC)")


# Results a box repeats in its status: enough to cover commands sent while it was away.
COMMAND_RESULTS_KEPT = 20

# The largest clock offset a status may state (about 31 years).
CLOCK_OFFSET_LIMIT_S = 1e9


class Status(_Strict):
    """Retained birth and last-will message on `…/status`."""

    v: SchemaVersion = SCHEMA_VERSION
    device_id: DeviceId
    kind: DeviceKind
    state: DeviceState
    ts: Timestamp | None = None
    firmware: StrictStr | None = Field(default=None, max_length=64)
    battery_pct: Annotated[Finite, Field(ge=0, le=100)] | None = None
    model_versions: dict[str, Annotated[str, Field(max_length=64)]] = Field(default_factory=dict)
    config_version: StrictStr | None = Field(default=None, max_length=64)
    detail: StrictStr | None = Field(default=None, max_length=256)
    # How far a device's own real-time clock is from its edge box's (box minus device, in
    # seconds), for devices that have one; the gateway's clock-drift rule judges it.
    clock_offset_s: (
        Annotated[Finite, Field(ge=-CLOCK_OFFSET_LIMIT_S, le=CLOCK_OFFSET_LIMIT_S)] | None
    ) = None
    # Offline on purpose: the box was stopped cleanly (a restart, maintenance). A last will
    # or a device fault leaves it false, and only those raise a device-offline alert.
    stopped: StrictBool = False
    # The edge box a device is reached through (absent on a box's own status): the box's last
    # will covers only the box, so this is how the gateway knows whose devices it took along.
    edge_id: DeviceId | None = None
    # On a box's own status: the last time its buffer file was found damaged and rebuilt.
    buffer_repair: BufferRepair | None = None
    # On a box's own status: its results of the last commands sent with an id, newest last.
    commands: list[CommandResult] | None = Field(default=None, max_length=COMMAND_RESULTS_KEPT)

    def wire(self) -> bytes:
        """The JSON to publish: fields added to schema version 1 later (a clock offset, a
        clean stop, the edge box, a buffer repair, command results) go only when set, so an
        older gateway, whose Status forbids fields it does not know, still takes every status
        that does not need them."""
        later = {
            "clock_offset_s": self.clock_offset_s is None,
            "stopped": not self.stopped,
            "edge_id": self.edge_id is None,
            "buffer_repair": self.buffer_repair is None,
            "commands": not self.commands,
        }
        return self.model_dump_json(exclude={k for k, unset in later.items() if unset}).encode()


# The gateway repeats each box's stored watermark at least this often; a box that has heard
# none for 2.5 times as long takes the gateway to be away (and resends nothing).
STORED_HEARTBEAT_S = 10.0


class StoredWatermark(_Strict):
    """What the gateway has durably stored of one edge box's devices, retained on
    `campus/{school}/edge/{edge_id}/cmd/stored`: per device, the highest sequence number up to
    which every message is stored. The box deletes from its buffer only up to it, so a broker
    that loses messages it had acknowledged (a crash before it saved them) loses nothing."""

    v: SchemaVersion = SCHEMA_VERSION
    edge_id: DeviceId
    ts: Timestamp
    devices: dict[DeviceId, Annotated[int, Field(ge=0, strict=True)]] = Field(max_length=10_000)


Message = ReadingMessage | EventMessage


# Longest detail of a dead letter; the payload itself is kept beside it.
DETAIL_CHARS = 500


class EnvelopeError(ValueError):
    """A payload does not follow the wire contract; `reason` is a short machine-readable tag."""

    def __init__(self, reason: str, detail: str) -> None:
        # The detail may quote the payload: bounded, since it is logged and stored.
        detail = excerpt(detail, DETAIL_CHARS)
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def check_not_future(ts: datetime, now: datetime, tolerance: timedelta) -> None:
    """Reject timestamps too far ahead of the receiver's clock (a broken or unset device clock)."""
    if ts > now + tolerance:
        raise EnvelopeError(
            "future_timestamp",
            f"timestamp {ts.isoformat()} is more than {tolerance} ahead of {now.isoformat()}",
        )
