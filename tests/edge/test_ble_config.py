"""Box configs with a `type: ble` transport: the kit must be listed, in addresses, and fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from campusedge.paths import firmware_configs_dir
from edge.config import BleTransport, ConfigError, load_box
from tests.edge.boxes import write_box


def _bands(tmp: Path, transport: dict[str, object], ids: dict[str, str]) -> None:
    write_box(
        tmp, [{"id": "bands", "model": "hr_band_ce_hrb40", "transport": transport, "ids": ids}]
    )


def test_the_gym_box_reads_its_bands_over_ble() -> None:
    box = load_box(firmware_configs_dir() / "box_gym.yaml")
    bands = next(d for d in box.devices if d.model.driver == "hr_band")
    t = bands.entry.transport
    assert isinstance(t, BleTransport)
    assert t.hci == ["usb:0"] and t.max_connections == 7 and t.read_battery
    assert bands.device_id("CE:5E:00:00:00:02") == "hr-02"


def test_one_hci_string_or_a_list(tmp_path: Path) -> None:
    ids = {"CE:5E:00:00:00:01": "hr-01"}
    box = write_box(
        tmp_path,
        [
            {
                "id": "a",
                "model": "hr_band_ce_hrb40",
                "ids": ids,
                "transport": {"type": "ble", "hci": "hci-socket:0"},
            },
            {
                "id": "b",
                "model": "hr_band_ce_hrb40",
                "ids": ids,
                "transport": {"type": "ble", "hci": ["usb:0", "usb:1"]},
            },
        ],
    )
    specs = [
        d.entry.transport.hci for d in box.devices if isinstance(d.entry.transport, BleTransport)
    ]
    assert specs == [["hci-socket:0"], ["usb:0", "usb:1"]]


@pytest.mark.parametrize(
    ("transport", "ids", "message"),
    [
        ({"type": "ble", "hci": "usb:0"}, {}, "connects only to the bands listed in ids"),
        ({"type": "ble", "hci": "usb:0"}, {"ce:5e:00:00:00:01": "hr-01"}, "upper case"),
        ({"type": "ble", "hci": "usb:0"}, {"CE:5E:00:00:01": "hr-01"}, "not a BLE address"),
        (
            {"type": "ble", "hci": "usb:0", "max_connections": 2},
            {f"CE:5E:00:00:00:0{i}": f"hr-0{i}" for i in range(1, 4)},
            "3 bands but 1 controller",
        ),
        ({"type": "ble", "hci": []}, {"CE:5E:00:00:00:01": "hr-01"}, "hci"),
        ({"type": "ble", "hci": " "}, {"CE:5E:00:00:00:01": "hr-01"}, "HCI transport string"),
        ({"type": "ble", "hci": "usb:0", "scan": True}, {"CE:5E:00:00:00:01": "hr-01"}, "scan"),
        (
            {"type": "ble", "hci": "usb:0", "max_connections": 0},
            {"CE:5E:00:00:00:01": "hr-01"},
            "max_connections",
        ),
    ],
)
def test_bad_ble_configs_are_named(
    tmp_path: Path, transport: dict[str, object], ids: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        _bands(tmp_path, transport, ids)
    assert "box.yaml" in str(err.value)
