"""The BLE central against band peripherals in another process, over bumble's virtual link."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from drivers.hr_band import parse
from edge.transports.base import TransportError
from edge.transports.ble_central import BleCentral, normalize_address
from tests.edge.ble_bands import BandSimulator

STRANGER = "CE:5E:00:00:FF:00"


@pytest.fixture
def sim() -> Iterator[BandSimulator]:
    s = BandSimulator(3, "--strangers", "1", "--period", "0.2")
    yield s
    s.stop()


@pytest.fixture
def sim_with_outage() -> Iterator[BandSimulator]:
    s = BandSimulator(3, "--period", "0.2", "--outage", "1:1:1")
    yield s
    s.stop()


def _collect(central: BleCentral, seconds: float) -> list[tuple[str | None, bytes]]:
    got: list[tuple[str | None, bytes]] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got += central.read(0.1)
    return got


def _ble_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ble-central"]


def test_the_kit_is_connected_and_notifies_strangers_are_not(sim: BandSimulator) -> None:
    # A fourth kit band stays in its charging case: the central keeps scanning for it, so it
    # surely hears the stranger advertise.
    absent = "CE:5E:00:00:00:09"
    central = BleCentral([sim.hci], [*sim.addresses, absent], max_connections=7)
    central.open()
    try:
        assert sim.wait_for(lambda: len(central.connected) == 3, 10), central.bands
        got = _collect(central, 1.0)
    finally:
        central.close()
    sources = {source for source, _ in got}
    assert sources == set(sim.addresses)
    assert central.bands[absent].connects == 0
    for _, note in got:
        m = parse(note)  # whole 0x2A37 notifications, exactly as the band sent them
        assert 40 <= m.heart_rate <= 220 and m.contact_detected
    assert all(central.bands[a].battery_pct == 100 for a in sim.addresses)
    # The stranger advertised the Heart Rate service and was seen, but never connected.
    assert STRANGER in central.strangers_seen
    assert not sim.seen("connected", STRANGER)
    assert {e["address"] for e in sim.seen("subscribed")} == set(sim.addresses)


def test_a_band_that_leaves_range_is_connected_again(sim_with_outage: BandSimulator) -> None:
    sim = sim_with_outage
    band = sim.addresses[1]
    central = BleCentral([sim.hci], sim.addresses)
    central.open()
    try:
        assert sim.wait_for(lambda: bool(sim.seen("in_range", band)), 10)
        assert sim.wait_for(lambda: central.bands[band].connects == 2, 5), central.bands[band]
        _collect(central, 0.2)  # what came before the reconnection
        after = _collect(central, 1.0)
    finally:
        central.close()
    assert len(sim.seen("connected", band)) == 2
    assert band in {source for source, _ in after}


def test_close_stops_the_thread_and_lets_every_band_go(sim: BandSimulator) -> None:
    central = BleCentral([sim.hci], sim.addresses)
    central.open()
    assert sim.wait_for(lambda: len(central.connected) == 3, 10)
    started = time.monotonic()
    central.close()
    assert time.monotonic() - started < 5
    assert not _ble_threads()
    assert central.connected == []
    assert sim.wait_for(lambda: len(sim.seen("disconnected")) >= 3, 5)
    # The same transport opens again, as the agent's runner does after a failure.
    central.open()
    try:
        assert sim.wait_for(lambda: len(central.connected) == 3, 10)
    finally:
        central.close()
    assert not _ble_threads()


def test_bands_spread_over_controllers_within_their_limit() -> None:
    sim = BandSimulator(
        4, "--period", "0.2", "--hci", "tcp-server:127.0.0.1:0", "--hci", "tcp-server:127.0.0.1:0"
    )
    assert len(sim.hcis) == 2
    central = BleCentral(sim.hcis, sim.addresses, max_connections=2)
    central.open()
    try:
        assert sim.wait_for(lambda: len(central.connected) == 4, 10), central.bands
        per_radio = central.links_per_controller()
        got = _collect(central, 0.6)
    finally:
        central.close()
        sim.stop()
    assert per_radio == {sim.hcis[0]: 2, sim.hcis[1]: 2}
    assert {source for source, _ in got} == set(sim.addresses)


def test_a_full_queue_drops_the_oldest_and_counts_them(sim: BandSimulator) -> None:
    central = BleCentral([sim.hci], sim.addresses, queue_limit=4)
    central.open()
    try:
        assert sim.wait_for(lambda: sum(b.notifications for b in central.bands.values()) >= 12, 10)
        got = central.read(0.1)
    finally:
        central.close()
    assert len(got) <= 4
    total = sum(b.notifications for b in central.bands.values())
    assert central.dropped >= total - 4 - 4  # a few more may have arrived since the read


def test_the_simulator_going_away_fails_reads(sim: BandSimulator) -> None:
    central = BleCentral([sim.hci], sim.addresses)
    central.open()
    try:
        assert sim.wait_for(lambda: len(central.connected) == 3, 10)
        sim.stop()
        with pytest.raises(TransportError, match="closed"):
            _collect(central, 3.0)
    finally:
        central.close()
    assert not _ble_threads()


def test_an_unreachable_controller_fails_open_with_its_name() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    central = BleCentral([f"tcp-client:127.0.0.1:{port}"], ["CE:5E:00:00:00:01"], open_timeout_s=3)
    with pytest.raises(TransportError, match=f"tcp-client:127.0.0.1:{port}"):
        central.open()
    assert not _ble_threads()


def test_addresses_are_checked_and_normalized() -> None:
    assert normalize_address("ce:5e:00:00:00:0a") == "CE:5E:00:00:00:0A"
    for bad in ["CE:5E:00:00:00", "CE:5E:00:00:00:0G", "CE5E00000001", "CE:5E:00:00:00:001"]:
        with pytest.raises(ValueError, match="not six hex bytes"):
            normalize_address(bad)
    with pytest.raises(ValueError, match="at least one HCI transport"):
        BleCentral([], ["CE:5E:00:00:00:01"])
