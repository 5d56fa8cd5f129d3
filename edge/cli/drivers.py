"""`campusedge drivers list`: every driver this box can run, and where each came from."""

from __future__ import annotations

import argparse
import json
import logging

from drivers.registry import Registry, registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _as_json(reg: Registry) -> str:
    drivers = [
        {
            "name": name,
            "kind": driver.kind.value,
            "origin": reg.origin(name),
            "metrics": [
                {
                    "name": m.name,
                    "unit": m.unit.value,
                    "minimum": m.minimum,
                    "maximum": m.maximum,
                    "description": m.description,
                }
                for m in (reg.plugins[name].metrics if name in reg.plugins else ())
            ],
        }
        for name, driver in sorted(reg.drivers.items())
    ]
    drivers += [
        {"name": name, "kind": camera.kind.value, "origin": reg.origin(name), "metrics": []}
        for name, camera in sorted(reg.cameras.items())
    ]
    skipped = [{"name": p.name, "origin": p.origin, "reason": p.reason} for p in reg.problems]
    return json.dumps({"drivers": drivers, "skipped": skipped}, indent=2, ensure_ascii=False)


def show(reg: Registry, *, as_json: bool) -> int:
    """Print *reg*; 1 when a plug-in was skipped, so that a deployment check notices."""
    if as_json:
        print(_as_json(reg))
        return 1 if reg.problems else 0
    # A protocol family (modbus) stands for the kinds its device models name.
    kinds = {
        name: "|".join(sorted(k.value for k in getattr(d, "kinds", None) or [d.kind]))
        for name, d in reg.drivers.items()
    }
    kinds |= {name: c.kind.value for name, c in reg.cameras.items()}
    width = max(len(n) for n in kinds)
    kind_width = max(16, *(len(k) for k in kinds.values()))
    for name in sorted(kinds):
        print(f"{name:<{width}}  {kinds[name]:<{kind_width}}  {reg.origin(name)}")
        for m in reg.plugins[name].metrics if name in reg.plugins else ():
            print(f"{'':<{width}}    {m.name} ({m.unit.value}, {m.minimum:g}..{m.maximum:g})")
    for p in reg.problems:
        print(f"SKIPPED {p.name} from {p.origin}: {p.reason}")
    return 1 if reg.problems else 0


def run(args: argparse.Namespace) -> int:
    # The loader logs each skipped plug-in as well; the listing already says it.
    logging.basicConfig(level=logging.CRITICAL)
    return show(registry(), as_json=args.json)
