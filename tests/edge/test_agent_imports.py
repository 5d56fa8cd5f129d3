"""A box loads OpenCV/onnxruntime only with a camera, bumble only with BLE bands (memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from campusedge.broker import free_port
from simulators.links import StreamServer
from tests.edge.boxes import write_box

PIPELINE = ("cv2", "onnxruntime", "numpy")
HEAVY = (*PIPELINE, "bumble")
# Runs `campusedge edge run` in a fresh interpreter, then says which heavy modules it loaded.
PROBE = (
    "import json, sys\n"
    "from campusedge.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    f"print(json.dumps({{'rc': rc, 'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))\n"
)


def _loaded_by_a_run(box: Path, tmp: Path) -> list[str]:
    # Nothing listens on the MQTT port: the agent runs its devices and buffers, as offline.
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            "edge",
            "run",
            "--config",
            str(box),
            "--buffer",
            str(tmp / "buffer.db"),
            "--mqtt-host",
            "127.0.0.1",
            "--mqtt-port",
            str(free_port()),
            "--duration",
            "1.5",
            "--drain",
            "0",
            "--log-level",
            "WARNING",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rc"] == 0
    loaded: list[str] = result["loaded"]
    return loaded


def test_a_gate_box_does_not_load_the_pose_pipeline(tmp_path: Path) -> None:
    gate = StreamServer()
    try:
        write_box(
            tmp_path,
            [
                {
                    "id": "gate-1",
                    "model": "temp_gate_ce_tg200",
                    "transport": {"type": "tcp", "host": "127.0.0.1", "port": gate.port},
                },
                {
                    "id": "ropes-1",
                    "model": "jump_rope_ce_rbs2",
                    "transport": {"type": "serial", "port": str(tmp_path / "no-such-tty")},
                    "ids": {"1": "rope-01"},
                },
            ],
        )
        assert _loaded_by_a_run(tmp_path / "box.yaml", tmp_path) == []
    finally:
        gate.close()


@pytest.mark.slow
def test_a_camera_box_does_load_it(tmp_path: Path) -> None:
    # The other side of the check above: a camera pulls the pipeline in, so the probe sees it.
    write_box(
        tmp_path,
        [
            {
                "id": "cam-1",
                "model": "pe_station_usb_cam",
                "transport": {"type": "camera"},
                "config": {"source": f"file:{tmp_path / 'missing.avi'}", "exercise": "rope_skip"},
            }
        ],
    )
    assert set(_loaded_by_a_run(tmp_path / "box.yaml", tmp_path)) == set(PIPELINE)


def test_a_band_box_loads_the_ble_stack_but_not_the_pose_pipeline(tmp_path: Path) -> None:
    # No dongle here: the central fails to open and is retried, with bumble imported.
    write_box(
        tmp_path,
        [
            {
                "id": "bands-1",
                "model": "hr_band_ce_hrb40",
                "transport": {"type": "ble", "hci": "usb:0"},
                "ids": {"CE:5E:00:00:00:01": "hr-01"},
            }
        ],
    )
    assert _loaded_by_a_run(tmp_path / "box.yaml", tmp_path) == ["bumble"]
