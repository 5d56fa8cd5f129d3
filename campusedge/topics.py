"""MQTT topic names of the wire contract: a validating value object, a builder and a parser."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from campusedge.excerpt import excerpt

ROOT = "campus"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class DeviceKind(StrEnum):
    """Device families; the name is shared by driver, simulator, tests and topic level."""

    HR_BAND = "hr_band"
    JUMP_ROPE = "jump_rope"
    TEMP_GATE = "temp_gate"
    VISION_SCREENER = "vision_screener"
    PE_STATION = "pe_station"
    # Handheld and bedside thermometers of the Bluetooth Health Thermometer Service.
    THERMOMETER = "thermometer"
    # Classroom environment sensors (temperature, humidity, CO2), read over Modbus.
    ENV_SENSOR = "env_sensor"
    # The edge box itself publishes status (and takes commands) under this kind.
    EDGE = "edge"


class Channel(StrEnum):
    """Last topic level of a device topic."""

    READING = "reading"
    EVENT = "event"
    STATUS = "status"


class TopicError(ValueError):
    """A topic string does not follow the wire contract."""


def check_id(value: str, what: str) -> str:
    """Return *value* if it is a valid school or device id, else raise TopicError."""
    if not _ID.fullmatch(value):
        raise TopicError(
            f"invalid {what} {excerpt(value)!r}: use 1-64 characters from A-Z a-z 0-9 _ . : -, "
            "starting with a letter or digit"
        )
    return value


@dataclass(frozen=True)
class DeviceTopic:
    """`campus/{school}/{kind}/{device_id}/{channel}`; validated on construction."""

    school: str
    kind: DeviceKind
    device_id: str
    channel: Channel

    def __post_init__(self) -> None:
        check_id(self.school, "school id")
        check_id(self.device_id, "device id")

    def __str__(self) -> str:
        return f"{ROOT}/{self.school}/{self.kind.value}/{self.device_id}/{self.channel.value}"

    @classmethod
    def parse(cls, topic: str) -> DeviceTopic:
        return _parse_device_topic(topic)

    @classmethod
    def _parse(cls, topic: str) -> DeviceTopic:
        parts = topic.split("/")
        if len(parts) != 5 or parts[0] != ROOT:
            raise TopicError(
                f"topic {excerpt(topic)!r} is not campus/<school>/<kind>/<device>/<channel>"
            )
        try:
            kind = DeviceKind(parts[2])
        except ValueError:
            raise TopicError(
                f"topic {excerpt(topic)!r}: unknown device kind {excerpt(parts[2], 64)!r}"
            ) from None
        try:
            channel = Channel(parts[4])
        except ValueError:
            raise TopicError(
                f"topic {excerpt(topic)!r}: unknown channel {excerpt(parts[4], 64)!r}"
            ) from None
        return cls(parts[1], kind, parts[3], channel)


@functools.lru_cache(maxsize=16_384)
def _parse_device_topic(topic: str) -> DeviceTopic:
    # A campus has a few thousand devices, each on a few topics: parsing each once is enough.
    return DeviceTopic._parse(topic)


def device_subscriptions(school: str = "+") -> list[str]:
    """Filters a gateway subscribes to for one school (or all with '+')."""
    return [f"{ROOT}/{school}/+/+/{c.value}" for c in Channel]


def shared_subscriptions(school: str, group: str) -> list[str]:
    """One school's filters in the MQTT 5 shared subscription *group* (`$share/{group}/…`):
    every gateway worker that holds the school subscribes with the same group, so the broker
    hands each message to one of them, and whatever a worker's session queued for the school
    is still that group's."""
    check_id(school, "school id")
    check_id(group, "share group")
    return [f"$share/{group}/{f}" for f in device_subscriptions(school)]


def dead_letter_topic(school: str) -> str:
    """Where invalid input is republished with its reason (not matched by device filters)."""
    return f"{ROOT}/{school}/deadletter"


def cmd_topic(school: str, edge_id: str, command: str = "config") -> str:
    """Commands to an edge box: config and model updates."""
    school, edge_id = check_id(school, "school id"), check_id(edge_id, "edge id")
    return f"{ROOT}/{school}/edge/{edge_id}/cmd/{command}"


def stored_topic(school: str, edge_id: str) -> str:
    """Where the gateway tells an edge box what of it is stored (retained, gateway only)."""
    return cmd_topic(school, edge_id, "stored")


def alert_topic(school: str, severity: str, rule: str) -> str:
    """Alerts for local displays."""
    return f"{ROOT}/{check_id(school, 'school id')}/alert/{severity}/{rule}"


def school_of(topic: str) -> str | None:
    """Best-effort school id of any campus topic, for routing dead letters of unparsable topics."""
    parts = topic.split("/")
    if len(parts) >= 2 and parts[0] == ROOT and _ID.fullmatch(parts[1]):
        return parts[1]
    return None


# A topic comes from whoever may publish, up to 65,535 bytes: log lines carry at most this much.
LOGGED_TOPIC_CHARS = 160


def short_topic(topic: str, limit: int = LOGGED_TOPIC_CHARS) -> str:
    """*topic* cut to *limit* characters for a log line, saying how long it was; control
    characters escaped (the one excerpt helper, campusedge.excerpt, with a topic's limit)."""
    return excerpt(topic, limit)
