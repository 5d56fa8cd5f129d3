"""Edge-box configs for tests, written next to pty paths and simulator ports."""

from __future__ import annotations

from pathlib import Path

import yaml

from edge.config import BoxConfig, load_box


def write_box(tmp: Path, devices: list[dict[str, object]], **box: object) -> BoxConfig:
    data = {
        "kind": "edge_box",
        "edge_id": "test-box",
        "school": "test-school",
        "buffer": {"path": str(tmp / "buffer.db")},
        "status_interval_s": 1,
        # These agents talk to a broker alone, with no gateway to say what it stored; the
        # tests that run a gateway ask for delete_on "gateway" (the default of a real box).
        "delete_on": "broker",
        "devices": devices,
        **box,
    }
    path = tmp / "box.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_box(path)
