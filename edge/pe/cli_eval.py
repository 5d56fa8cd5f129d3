"""`campusedge pe eval DIR`: count every clip of DIR/manifest.csv and report MAE and OBO."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from campusedge.words import _, error_line
from edge.pe.manifest import Clip, ManifestError, read_manifest
from edge.pe.model import ModelError, PoseModel
from edge.pe.pipeline import VideoCount, count_video
from edge.pe.video import SourceError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="folder holding manifest.csv and the clips")
    parser.add_argument("--model", type=Path, default=None, help="pose model (.onnx)")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    parser.add_argument(
        "--if-present",
        action="store_true",
        help="a folder without manifest.csv is skipped (exit 0), not an error",
    )


def count_clip(clip: Clip, model: PoseModel, stride: int | None = None) -> VideoCount:
    """Count one labelled clip inside its labelled window."""
    return count_video(
        clip.path,
        clip.exercise,
        model=model,
        start_frame=clip.start_frame,
        end_frame=clip.end_frame,
        stride=stride,
    )


def per_exercise(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | int]]:
    """MAE and OBO of each exercise's clips (a counter is judged per exercise, not only
    overall: one exercise's misses must not hide behind another's many clips)."""
    grouped: dict[str, list[tuple[int, int]]] = {}
    for row in rows:
        grouped.setdefault(str(row["exercise"]), []).append((int(row["gt"]), int(row["pred"])))
    figures: dict[str, dict[str, float | int]] = {}
    for exercise, pairs in sorted(grouped.items()):
        figures[exercise] = {
            "clips": len(pairs),
            "mae": round(sum(abs(p - g) / g for g, p in pairs) / len(pairs), 4),
            "obo": round(sum(abs(p - g) <= 1 for g, p in pairs) / len(pairs), 4),
        }
    return figures


def run(args: argparse.Namespace) -> int:
    manifest = args.folder / "manifest.csv"
    if not manifest.is_file():
        if args.if_present:
            # `make eval` evaluates where the shared clips exist; elsewhere there is nothing to do.
            print(
                _("{prog}: {path} does not exist; no clips to evaluate, skipped").format(
                    prog="campusedge pe eval", path=manifest
                )
            )
            return 0
        print(
            _(
                "{prog}: {path} does not exist (a folder with manifest.csv and the clips it "
                "lists; see docs/pe.md)"
            ).format(prog="campusedge pe eval", path=manifest),
            file=sys.stderr,
        )
        return 2
    try:
        clips = read_manifest(args.folder)
        model = PoseModel(args.model, threads=args.threads)
    except (ManifestError, ModelError) as exc:
        print(error_line("campusedge pe eval", exc))
        return 1
    header = f"{'clip':<40} {'exercise':<13} {'gt':>5} {'pred':>5} {'err':>6} {'fps':>6}  signal"
    print(header)
    print("-" * len(header))
    errors: list[float] = []
    within_one = 0
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    for clip in clips:
        try:
            counted = count_clip(clip, model)
        except SourceError as exc:
            # One unreadable clip must not hide the results of the others.
            print(
                f"{clip.path.name:<40} {clip.exercise.value:<13} {clip.count:>5} "
                f"{'-':>5} {'-':>6} {'-':>6}  cannot read: {exc}",
                flush=True,
            )
            failed.append(clip.path.name)
            continue
        # The count is scored even when its quality says it may be low: a clip the counter
        # cannot see well is still a miss, and the quality column says why.
        pred = counted.result.count
        quality = counted.result.quality
        error = abs(pred - clip.count) / clip.count
        errors.append(error)
        within_one += abs(pred - clip.count) <= 1
        rows.append(
            {
                "clip": clip.path.name,
                "exercise": clip.exercise.value,
                "gt": clip.count,
                "pred": pred,
                "fps": round(counted.fps, 1),
                "signal": quality.signal,
                "quality": [r.value for r in quality.reasons],
            }
        )
        print(
            f"{clip.path.name:<40} {clip.exercise.value:<13} {clip.count:>5} {pred:>5} "
            f"{error:>6.3f} {counted.fps:>6.1f}  {quality.signal}"
            + (
                f"  quality: {', '.join(r.value for r in quality.reasons)}"
                if not quality.ok
                else ""
            ),
            flush=True,
        )
    if not clips:
        print("manifest lists no clips")
        return 0
    print("-" * len(header))
    if not errors:
        print(
            _("{prog}: none of the {count} clips could be read").format(
                prog="campusedge pe eval", count=len(clips)
            ),
            file=sys.stderr,
        )
        return 1
    mae = sum(errors) / len(errors)
    obo = within_one / len(errors)
    exercises = per_exercise(rows)
    for exercise, figures in exercises.items():
        print(
            f"  {exercise:<13} clips {figures['clips']:>2}  MAE {figures['mae']:.3f}  "
            f"OBO {figures['obo']:.2f}"
        )
    print(
        f"clips {len(errors)}  MAE {mae:.3f}  OBO {obo:.2f}"
        + (f"  ({len(failed)} unreadable: {', '.join(failed)})" if failed else "")
    )
    if args.json:
        print(
            json.dumps(
                {
                    "clips": rows,
                    "mae": round(mae, 4),
                    "obo": round(obo, 4),
                    "by_exercise": exercises,
                    "unreadable": failed,
                }
            )
        )
    return 1 if failed else 0
