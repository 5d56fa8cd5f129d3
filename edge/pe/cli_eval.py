"""`campusedge pe eval DIR`: count every clip of DIR/manifest.csv and report MAE and OBO."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edge.pe.manifest import ManifestError, read_manifest
from edge.pe.model import ModelError, PoseModel
from edge.pe.pipeline import count_video
from edge.pe.video import SourceError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="folder holding manifest.csv and the clips")
    parser.add_argument("--model", type=Path, default=None, help="pose model (.onnx)")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON summary as the last line")


def run(args: argparse.Namespace) -> int:
    manifest = args.folder / "manifest.csv"
    if not manifest.is_file():
        # CI runs this only where the shared evaluation clips exist; elsewhere it is not an error.
        print(f"campusedge pe eval: {manifest} does not exist; no clips to evaluate, skipped")
        return 0
    try:
        clips = read_manifest(args.folder)
        model = PoseModel(args.model, threads=args.threads)
    except (ManifestError, ModelError) as exc:
        print(f"campusedge pe eval: {exc}")
        return 1
    header = f"{'clip':<40} {'exercise':<13} {'gt':>5} {'pred':>5} {'err':>6} {'fps':>6}"
    print(header)
    print("-" * len(header))
    errors: list[float] = []
    within_one = 0
    rows: list[dict[str, object]] = []
    for clip in clips:
        try:
            counted = count_video(clip.path, clip.exercise, model=model,
                                  start_frame=clip.start_frame, end_frame=clip.end_frame)
        except SourceError as exc:
            print(f"campusedge pe eval: {exc}")
            return 1
        pred = counted.result.count
        error = abs(pred - clip.count) / clip.count
        errors.append(error)
        within_one += abs(pred - clip.count) <= 1
        rows.append({"clip": clip.path.name, "exercise": clip.exercise.value, "gt": clip.count,
                     "pred": pred, "fps": round(counted.fps, 1)})
        print(f"{clip.path.name:<40} {clip.exercise.value:<13} {clip.count:>5} {pred:>5} "
              f"{error:>6.3f} {counted.fps:>6.1f}", flush=True)
    if not clips:
        print("manifest lists no clips")
        return 0
    mae = sum(errors) / len(errors)
    obo = within_one / len(clips)
    print("-" * len(header))
    print(f"clips {len(clips)}  MAE {mae:.3f}  OBO {obo:.2f}")
    if args.json:
        print(json.dumps({"clips": rows, "mae": round(mae, 4), "obo": round(obo, 4)}))
    return 0
