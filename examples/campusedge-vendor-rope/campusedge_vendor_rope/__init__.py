"""campusedge driver plug-in for the ACME R2 smart-rope base station."""

from __future__ import annotations

from pathlib import Path

from campusedge_vendor_rope.codec import JUMP_RATE, TRIPS, AcmeRope
from campusedge_vendor_rope.simulator import sample_frames
from drivers.plugin import DriverPlugin

_HERE = Path(__file__).parent

plugin = DriverPlugin(
    driver=AcmeRope(),
    sample_frames=sample_frames,
    metrics=(JUMP_RATE, TRIPS),
    testdata=_HERE / "testdata",
    device_models=_HERE / "device_models",
)
