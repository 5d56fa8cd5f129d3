"""The plug-in loader: good plug-ins join the registry, bad ones are named and skipped."""

from __future__ import annotations

import json
import logging
import threading
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from campusedge_vendor_rope import codec

from campusedge.topics import DeviceKind
from campusedge.units import MetricNameError, Unit, VendorMetric
from drivers.base import DecodeError
from drivers.plugin import ENTRY_POINT_GROUP, VendorMetricSpec
from drivers.registry import BUILT_IN, DRIVERS, UnknownDriverError, load_registry, registry
from edge.cli import drivers as drivers_command
from edge.config import load_box
from edge.device_runner import DeviceRunner, Received
from simulators.links import StreamServer
from tests.drivers import plugin_samples

SAMPLES = "tests.drivers.plugin_samples"


def _ep(name: str, target: str) -> EntryPoint:
    return EntryPoint(name, target, ENTRY_POINT_GROUP)


def test_good_plugins_load_and_bad_ones_are_named_and_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    found = [
        _ep("other_rope", f"{SAMPLES}:other_rope"),
        _ep("other_rope_twin", f"{SAMPLES}:other_rope_twin"),
        _ep("ghost", "campusedge_no_such_package.driver:plugin"),
        _ep("hr_band", f"{SAMPLES}:other_rope"),
        _ep("edge_rope", f"{SAMPLES}:edge_kind"),
        _ep("unschemable", f"{SAMPLES}:unschemable"),
        _ep("required", f"{SAMPLES}:required"),
        _ep("lenient", f"{SAMPLES}:lenient"),
        _ep("number", f"{SAMPLES}:not_a_plugin"),
    ]
    with caplog.at_level(logging.ERROR, logger="drivers.registry"):
        reg = load_registry(found)
    assert set(reg.drivers) == set(DRIVERS) | {"other_rope"}
    assert reg.origin("other_rope") == f"entry point {SAMPLES}:other_rope"
    assert reg.origin("hr_band") == BUILT_IN
    why = {p.name: p.reason for p in reg.problems}
    assert "already declared by other_rope" in why["other_rope_twin"]
    assert "cannot import campusedge_no_such_package.driver:plugin" in why["ghost"]
    assert "named 'hr_band' but its driver 'other_rope'" in why["hr_band"]
    assert "kind" in why["edge_rope"] and "jump_rope" in why["edge_rope"]
    assert "Config schema is invalid" in why["unschemable"]
    assert "without a default" in why["required"]
    assert "forbid unknown fields" in why["lenient"]
    assert "not a DriverPlugin" in why["number"]
    # Each one is named in the log at start, with the reason.
    logged = caplog.text
    assert all(f"driver plug-in {name!r}" in logged for name in why)
    with pytest.raises(UnknownDriverError, match="plug-in was skipped: cannot import"):
        reg.config_model("ghost")


def test_vendor_metric_names_are_validated() -> None:
    for bad in ["jump_rate", "Acme.rate", "acme.", ".rate", "acme.rate.x", "a.rate", "acme rate"]:
        with pytest.raises(MetricNameError, match=r"vendor\.metric"):
            VendorMetric(bad)
    with pytest.raises(ValueError, match="minimum"):
        VendorMetricSpec(VendorMetric("acme.x"), Unit.COUNT, 5, 1)
    with pytest.raises(ValueError, match="fixed Unit set"):
        VendorMetricSpec(VendorMetric("acme.x"), "furlongs", 0, 1)  # type: ignore[arg-type]


def test_a_plugin_checks_its_metric_ranges() -> None:
    spec = registry().vendor_metrics[VendorMetric("acme.jump_rate")]
    assert spec.reading(150, "here").value == 150
    with pytest.raises(DecodeError, match=r"here: acme.jump_rate: 401 1/min is outside"):
        spec.reading(401, "here")


def test_drivers_list_says_where_each_came_from(capsys: pytest.CaptureFixture[str]) -> None:
    assert drivers_command.show(registry(), as_json=False) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line and line[0] != " "}
    assert "built-in" in lines["hr_band"] and "built-in" in lines["pe_station"]
    assert "campusedge-vendor-rope 0.1.0" in lines["acme_rope"]
    assert "acme.jump_rate (1/min, 0..400)" in out
    assert drivers_command.show(registry(), as_json=True) == 0
    listed = json.loads(capsys.readouterr().out)
    acme = next(d for d in listed["drivers"] if d["name"] == "acme_rope")
    assert acme["origin"] == "campusedge-vendor-rope 0.1.0" and acme["kind"] == "jump_rope"
    assert {m["name"]: m["unit"] for m in acme["metrics"]} == {
        "acme.jump_rate": "1/min",
        "acme.trips": "count",
    }
    assert listed["skipped"] == []


def test_drivers_list_names_a_skipped_plugin(capsys: pytest.CaptureFixture[str]) -> None:
    reg = load_registry([_ep("ghost", "campusedge_no_such_package.driver:plugin")])
    assert drivers_command.show(reg, as_json=False) == 1
    out = capsys.readouterr().out
    assert "SKIPPED ghost" in out and "cannot import" in out


def test_an_edge_box_runs_a_plugin_device_model(tmp_path: Path) -> None:
    box = tmp_path / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: box-1\nschool: s1\ndevices:\n"
        "  - id: ropes-1\n    model: acme_rope_r2\n"
        "    transport: {type: serial, port: /dev/ttyUSB0}\n    config: {emit_rate: false}\n"
    )
    [dev] = load_box(box).devices
    assert dev.kind is DeviceKind.JUMP_ROPE and dev.model.vendor == "ACME"
    assert dev.driver_config.model_dump() == {"baudrate": 57600, "emit_rate": False}


def test_a_bug_in_a_plugins_decoder_costs_the_frame_not_the_device(tmp_path: Path) -> None:
    device = StreamServer()
    box = tmp_path / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: box-1\nschool: s1\ndevices:\n"
        "  - id: ropes-1\n    model: acme_rope_r2\n"
        f"    transport: {{type: tcp, host: 127.0.0.1, port: {device.port}}}\n"
    )
    [dev] = load_box(box).devices
    got: list[Received] = []
    stop = threading.Event()
    runner = DeviceRunner(dev, plugin_samples.Buggy(), got.append, stop, guard_decoder=True)
    runner.start()
    try:
        deadline = time.monotonic() + 5
        while not (runner.online and device.connected) and time.monotonic() < deadline:
            time.sleep(0.02)
        for rope in (1, 13, 2):
            device.write(codec.encode_live(rope, 1, 10, 120, 0, 90))
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        runner.join(5)
        device.close()
    assert [g.decoded.source for g in got] == ["1", "2"]
    assert runner.decode_errors == 1
