"""`campusedge pe eval-crowd DIR --people N`: count each person in composites of N clips.

For every exercise with at least N clips in DIR/manifest.csv, the clips are placed side by
side N at a time (every rotation, so each clip is filmed in every position) and each lane is
counted by the several-people pipeline. The per-person error is compared with the same clips
counted alone, in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from campusedge.words import _, error_line
from edge.pe.cli_eval import count_clip
from edge.pe.composite import composite
from edge.pe.counters import COUNTERS
from edge.pe.crowd import CrowdPipeline
from edge.pe.detector import PersonDetector
from edge.pe.manifest import Clip, ManifestError, read_manifest
from edge.pe.model import ModelError, PoseModel
from edge.pe.pipeline import infer_every
from edge.pe.video import SourceError

FPS = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="folder holding manifest.csv and the clips")
    parser.add_argument("--people", type=int, default=2, help="people per composite (2 to 4)")
    parser.add_argument("--height", type=int, default=360, help="height of each clip, pixels")
    parser.add_argument(
        "--offset-s", type=float, default=1.0, help="each clip starts this much after the last"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def groups(clips: list[Clip], people: int) -> list[list[Clip]]:
    """Every rotation of each exercise's clips, *people* at a time."""
    by_exercise: dict[str, list[Clip]] = {}
    for clip in clips:
        by_exercise.setdefault(clip.exercise.value, []).append(clip)
    out: list[list[Clip]] = []
    for same in by_exercise.values():
        if len(same) < people:
            continue
        for start in range(len(same)):
            out.append([same[(start + k) % len(same)] for k in range(people)])
    return out


def count_composite(
    clips: list[Clip], model: PoseModel, detector: PersonDetector, height: int, offset_s: float
) -> list[int]:
    """Each lane's count, left to right."""
    lanes, frames = composite(clips, height=height, fps=FPS, offset_s=offset_s)
    exercise = clips[0].exercise
    stride = infer_every(FPS, COUNTERS[exercise].sample_hz)
    pipeline = CrowdPipeline(model, detector, exercise, lanes, stride=stride)
    for frame in frames:
        pipeline.process(frame)
    pipeline.finish()
    return [pipeline.counters[lane.name].result.count for lane in lanes]


def run(args: argparse.Namespace) -> int:
    if not 2 <= args.people <= 4:
        print(
            _("{prog}: --people must be 2, 3 or 4").format(prog="campusedge pe eval-crowd"),
            file=sys.stderr,
        )
        return 2
    if not (args.folder / "manifest.csv").is_file():
        print(
            _("{prog}: {path} does not exist").format(
                prog="campusedge pe eval-crowd", path=args.folder / "manifest.csv"
            ),
            file=sys.stderr,
        )
        return 2
    try:
        clips = read_manifest(args.folder)
        model = PoseModel(threads=1)
        detector = PersonDetector(threads=1)
    except (ManifestError, ModelError) as exc:
        print(error_line("campusedge pe eval-crowd", exc), file=sys.stderr)
        return 1
    alone: dict[Path, int] = {}
    rows: list[dict[str, Any]] = []
    crowd_err: list[float] = []
    alone_err: list[float] = []
    within_one = 0
    for group in groups(clips, args.people):
        try:
            counts = count_composite(group, model, detector, args.height, args.offset_s)
            for clip in group:
                if clip.path not in alone:
                    alone[clip.path] = count_clip(clip, model).result.count
        except SourceError as exc:
            print(
                _("{prog}: cannot read a clip of {clips}: {reason}").format(
                    prog="campusedge pe eval-crowd",
                    clips=", ".join(c.path.name for c in group),
                    reason=exc,
                ),
                file=sys.stderr,
            )
            return 1
        for clip, count in zip(group, counts, strict=True):
            crowd_err.append(abs(count - clip.count) / clip.count)
            alone_err.append(abs(alone[clip.path] - clip.count) / clip.count)
            within_one += abs(count - clip.count) <= 1
        names = [c.path.name for c in group]
        row: dict[str, Any] = {
            "exercise": group[0].exercise.value,
            "clips": names,
            "gt": [c.count for c in group],
            "crowd": counts,
            "alone": [alone[c.path] for c in group],
        }
        rows.append(row)
        print(
            f"{row['exercise']:<13} {' | '.join(names)}\n"
            f"{'':<13} truth {row['gt']}  together {counts}  alone {row['alone']}",
            flush=True,
        )
    if not rows:
        print(f"no exercise has {args.people} clips to place side by side")
        return 0
    mae_crowd = sum(crowd_err) / len(crowd_err)
    mae_alone = sum(alone_err) / len(alone_err)
    summary = {
        "people": args.people,
        "composites": len(rows),
        "persons": len(crowd_err),
        "mae_crowd": round(mae_crowd, 4),
        "mae_alone": round(mae_alone, 4),
        "mae_difference": round(mae_crowd - mae_alone, 4),
        "obo_crowd": round(within_one / len(crowd_err), 4),
        "rows": rows,
    }
    print(
        f"{len(rows)} composites of {args.people}, {len(crowd_err)} people: per-person MAE "
        f"{mae_crowd:.3f} together, {mae_alone:.3f} alone (difference {mae_crowd - mae_alone:+.3f})"
    )
    if args.json:
        print(json.dumps(summary))
    return 0
