"""A handheld thermometer over BLE: the box's central subscribes to 0x2A1C indications and the
thermometer driver turns them into body-temperature readings."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.registry import registry
from drivers.thermometer import Special, TemperatureType, encode
from edge.config import load_box
from edge.device_runner import DeviceRunner, Received
from simulators.ble_thermometer import ThreadedThermometerLink
from simulators.thermometer import address

ADDRESS = address(1)


@pytest.fixture
def link() -> Iterator[ThreadedThermometerLink]:
    sim = ThreadedThermometerLink([ADDRESS])
    yield sim
    sim.close()


def _wait(check: Callable[[], bool], timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while not check() and time.monotonic() < end:
        time.sleep(0.02)
    return check()


def test_indications_become_body_temperature_readings(
    link: ThreadedThermometerLink, tmp_path: Path
) -> None:
    box = tmp_path / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: box-1\nschool: s1\ndevices:\n"
        "  - id: thermo\n    model: thermometer_ce_irt10\n"
        f"    transport: {{type: ble, hci: 'tcp-client:127.0.0.1:{link.hci_port}', "
        "read_battery: false}\n"
        f"    ids: {{'{ADDRESS}': thermo-1}}\n"
    )
    [dev] = load_box(box).devices
    got: list[Received] = []
    stop = threading.Event()
    runner = DeviceRunner(dev, registry().drivers["thermometer"], got.append, stop)
    runner.start()
    try:
        assert _wait(lambda: link.subscribed(0), 15), runner.last_error
        link.indicate(0, encode(37.8, decimals=1, temperature_type=TemperatureType.BODY))
        link.indicate(0, encode(Special.NRES))  # out of the thermometer's range: no reading
        link.indicate(0, encode(99.1, fahrenheit=True, decimals=1))
        assert _wait(lambda: len(got) == 2 and runner.decode_errors == 1, 5), (got, runner)
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()
    assert {r.transport_source for r in got} == {ADDRESS}
    assert [(str(r.metric), r.value, str(r.unit)) for g in got for r in g.decoded.readings] == [
        ("body_temperature", 37.8, "degC"),
        ("body_temperature", 99.1, "degF"),
    ]
    assert dev.device_id(ADDRESS) == "thermo-1"


def test_a_ble_transport_needs_a_driver_with_a_gatt_profile(tmp_path: Path) -> None:
    box = tmp_path / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: box-1\nschool: s1\ndevices:\n"
        "  - id: gate\n    model: temp_gate_ce_tg100\n"
        "    transport: {type: ble, hci: 'usb:0'}\n"
        f"    ids: {{'{ADDRESS}': gate-1}}\n"
    )
    with pytest.raises(ValueError, match="driver temp_gate has no BLE GATT profile"):
        load_box(box)
