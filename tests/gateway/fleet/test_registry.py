"""The fleet registry: one owner per device, secrets kept only as hashes, revocation frees."""

from __future__ import annotations

import base64
import hashlib

import pytest

from gateway.fleet.broker_files import acl_text
from gateway.fleet.registry import FleetError, FleetRegistry, Role
from gateway.state import StateDB


@pytest.fixture
def registry(state_url: str) -> FleetRegistry:
    """On a SQLite state file and on PostgreSQL."""
    return FleetRegistry(StateDB(state_url))


def test_a_device_belongs_to_one_box(registry: FleetRegistry) -> None:
    registry.enrol_box("s1", "a", ["d1"])
    with pytest.raises(FleetError, match="device d1 of school s1 belongs to box/s1/a"):
        registry.enrol_box("s1", "b", ["d1"])
    # Another school may use the same device id.
    assert registry.enrol_box("s2", "b", ["d1"]).identity.devices == ("d1",)
    registry.revoke("box/s1/a")
    assert registry.enrol_box("s1", "b", ["d1"]).identity.username == "box/s1/b"


def test_only_a_hash_is_stored_and_it_matches_the_secret(registry: FleetRegistry) -> None:
    issued = registry.enrol_gateway("w1")
    assert issued.identity.role is Role.GATEWAY
    stored = registry.db.query("SELECT password_hash FROM fleet_identity")[0]["password_hash"]
    assert issued.password not in stored
    _, scheme, iterations, salt, digest = stored.split("$")
    assert scheme == "7"
    again = hashlib.pbkdf2_hmac(
        "sha512", issued.password.encode(), base64.b64decode(salt), int(iterations)
    )
    assert base64.b64encode(again).decode() == digest


def test_bad_ids_and_unknown_identities_are_refused(registry: FleetRegistry) -> None:
    with pytest.raises(ValueError, match="invalid box id"):
        registry.enrol_box("s1", "a/b", [])
    with pytest.raises(FleetError, match="no enrolled identity 'box/s1/zz'"):
        registry.rotate("box/s1/zz")


def test_the_acl_gives_a_box_its_devices_and_own_commands_only(registry: FleetRegistry) -> None:
    registry.enrol_box("s1", "a", ["d1"])
    registry.enrol_box("s1", "b", ["d2"])
    rules = acl_text(registry.active()).split("\n\n")
    box_a = next(r for r in rules if r.startswith("user box/s1/a\n")).splitlines()
    assert "topic read campus/s1/edge/a/cmd/#" in box_a
    assert [r for r in box_a if r.startswith("topic read")] == ["topic read campus/s1/edge/a/cmd/#"]
    writes = {r.removeprefix("topic write ") for r in box_a if r.startswith("topic write")}
    assert all(w.split("/")[3] in {"d1", "a"} for w in writes)
    assert not any("alert" in w or "cmd" in w or "#" in w or "+" in w for w in writes)
