"""Loading of the golden test folders `tests/drivers/<driver>/testdata/<case>/`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.base import Decoded
from drivers.registry import registry

ROOT = Path(__file__).parent


@dataclass(frozen=True)
class Case:
    driver: str
    name: str
    data: bytes
    config: dict[str, Any]
    expected: list[dict[str, Any]] | None
    error: str | None

    @property
    def id(self) -> str:
        return f"{self.driver}/{self.name}"


def _folders() -> list[tuple[str, Path]]:
    """(driver, case folder): the built-ins' here, each plug-in's from its own package."""
    found = [(f.parent.parent.name, f) for f in sorted(ROOT.glob("*/testdata/*"))]
    for name, plugin in sorted(registry().plugins.items()):
        if plugin.testdata is not None:
            found += [(name, f) for f in sorted(plugin.testdata.iterdir()) if f.is_dir()]
    return found


def load_cases(driver: str | None = None) -> list[Case]:
    cases = []
    for name, folder in _folders():
        if driver is not None and name != driver:
            continue
        if (folder / "input.hex").exists():
            data = bytes.fromhex((folder / "input.hex").read_text())
        else:
            data = (folder / "input.txt").read_bytes()
        cfg = folder / "config.json"
        exp = folder / "expected.json"
        err = folder / "expected.err"
        cases.append(
            Case(
                driver=name,
                name=folder.name,
                data=data,
                config=json.loads(cfg.read_text()) if cfg.exists() else {},
                expected=json.loads(exp.read_text()) if exp.exists() else None,
                error=err.read_text().strip() if err.exists() else None,
            )
        )
    return cases


def as_plain(d: Decoded) -> dict[str, Any]:
    """A decoded item in the same plain form as expected.json."""
    event = None
    if d.event is not None:
        event = {
            "type": d.event.type,
            "readings": [[r.metric.value, r.value, r.unit.value] for r in d.event.readings],
            "attributes": dict(d.event.attributes),
        }
    return {
        "source": d.source,
        "readings": [[r.metric.value, r.value, r.unit.value] for r in d.readings],
        "event": event,
        "device_time_s": d.device_time_s,
        "time_quality": d.time_quality.value if d.time_quality else None,
        "frame_id": d.frame_id,
    }
