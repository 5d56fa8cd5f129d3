"""`campusedge bench pose`: frames per second of the whole pipeline on one onnxruntime thread.

The clip is a 640x360, 30 fps synthetic jumping-jack video the command draws itself. Each
frame's time covers decoding, cropping, the model and the counter. `fps_1_thread` is the
pipeline as it runs for jumping jacks (the model on every `infer_every`-th frame); the run is
repeated with the model on every frame (`fps_every_frame`, the rope-skipping case). The
baseline, measured in the same run, is decoding alone and the model alone. With `--eval DIR`
the every-frame pipeline is also timed on the real rope-skipping clips listed there.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from edge.pe.cli_eval import count_clip
from edge.pe.counters import COUNTERS, Exercise
from edge.pe.manifest import read_manifest
from edge.pe.model import INPUT_SIZE, PoseModel
from edge.pe.pipeline import RepPipeline, infer_every
from edge.pe.synthetic import write_jacks_clip
from edge.pe.video import VideoSource

WIDTH, HEIGHT = 640, 360
FPS = 30.0
EXERCISE = Exercise.JUMPING_JACK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reps", type=int, default=6, help="jumping jacks in the clip")
    parser.add_argument("--model", type=Path, default=None, help="pose model (.onnx)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument(
        "--eval",
        type=Path,
        default=None,
        help="also time the every-frame pipeline on the rope-skipping clips of this "
        "evaluation folder (manifest.csv), with their counts",
    )


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def measure(clip: Path, model: PoseModel) -> dict[str, float | int]:
    decode_start = time.perf_counter()
    decoded = sum(1 for _ in VideoSource(clip))
    decode_s = time.perf_counter() - decode_start

    crop = np.random.default_rng(0).random((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.float32)
    model_ms = []
    for i in range(40):
        started = time.perf_counter()
        model.infer(crop)
        if i >= 5:  # the first runs allocate and warm caches
            model_ms.append((time.perf_counter() - started) * 1000.0)

    stride = infer_every(FPS, COUNTERS[EXERCISE].sample_hz)
    frame_ms, total_s, reps = _time_pipeline(clip, model, stride)
    every_ms, every_s, every_reps = _time_pipeline(clip, model, 1)
    return {
        "fps_1_thread": round(len(frame_ms) / total_s, 1),
        "ms_per_frame_p50": round(_percentile(frame_ms, 50), 2),
        "ms_per_frame_p95": round(_percentile(frame_ms, 95), 2),
        "infer_every": stride,
        "frames": len(frame_ms),
        "reps_counted": reps,
        # Every frame through the model, as for rope skipping on a 30 fps camera.
        "fps_every_frame": round(len(every_ms) / every_s, 1),
        "ms_every_frame_p50": round(_percentile(every_ms, 50), 2),
        "reps_counted_every_frame": every_reps,
        "baseline_decode_fps": round(decoded / decode_s, 1),
        "baseline_model_ms_p50": round(_percentile(model_ms, 50), 2),
    }


def _time_pipeline(clip: Path, model: PoseModel, stride: int) -> tuple[list[float], float, int]:
    """Per-frame times (decode + pipeline) in ms, total seconds and the reps counted."""
    pipeline = RepPipeline(model, EXERCISE, stride=stride)
    frame_ms = []
    total_start = time.perf_counter()
    with VideoSource(clip) as source:
        frames = iter(source)
        while True:
            started = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                break
            pipeline.process(frame)
            frame_ms.append((time.perf_counter() - started) * 1000.0)
    return frame_ms, time.perf_counter() - total_start, pipeline.counter.result.count


def rope_clips(folder: Path, model: PoseModel) -> dict[str, object]:
    """Every-frame speed and counts on real rope-skipping clips (decode included)."""
    if not (folder / "manifest.csv").is_file():
        return {"rope_clips": f"{folder}/manifest.csv does not exist"}
    clips = [c for c in read_manifest(folder) if c.exercise == Exercise.ROPE_SKIP]
    fps: list[float] = []
    errors: list[float] = []
    for clip in clips:
        counted = count_clip(clip, model, stride=1)
        fps.append(counted.fps)
        errors.append(abs(counted.result.count - clip.count) / clip.count)
    if not clips:
        return {"rope_clips": 0}
    return {
        "rope_clips": len(clips),
        "rope_fps_every_frame_median": round(float(np.median(fps)), 1),
        "rope_fps_every_frame_min": round(min(fps), 1),
        "rope_mae": round(sum(errors) / len(errors), 4),
    }


def run(args: argparse.Namespace) -> int:
    model = PoseModel(args.model, threads=1)
    with tempfile.TemporaryDirectory(prefix="campusedge-bench-pose-") as tmp:
        clip = Path(tmp) / "jacks_640x360.avi"
        write_jacks_clip(clip, width=WIDTH, height=HEIGHT, fps=FPS, reps=args.reps)
        figures: dict[str, object] = dict(measure(clip, model))
    if args.eval is not None:
        figures.update(rope_clips(args.eval, model))
    if not args.json:
        print(
            f"pose pipeline on a {WIDTH}x{HEIGHT} clip of {figures['frames']} frames, "
            f"one onnxruntime thread, decode included:"
        )
        for key, value in figures.items():
            print(f"  {key:<24} {value}")
    print(json.dumps(figures))
    return 0
