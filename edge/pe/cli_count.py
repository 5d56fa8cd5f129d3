"""`campusedge pe count VIDEO --exercise EX`: count repetitions in one video file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from campusedge.words import _, error_line
from edge.pe.counters import Exercise, Quality, QualityReason
from edge.pe.model import ModelError, PoseModel
from edge.pe.pipeline import count_video
from edge.pe.video import SourceError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="video file")
    parser.add_argument("--exercise", required=True, choices=[e.value for e in Exercise])
    parser.add_argument(
        "--start-frame", type=int, default=0, help="first frame to count (index from 0)"
    )
    parser.add_argument(
        "--end-frame",
        type=int,
        default=None,
        help="last frame to count (inclusive; default: end of video)",
    )
    parser.add_argument("--model", type=Path, default=None, help="pose model (.onnx)")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    parser.add_argument(
        "--stride",
        type=int,
        default=None,
        help="run the pose model on every n-th frame (default: from the "
        "video's frame rate and the exercise; 1 = every frame)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object as the last line"
    )


def run(args: argparse.Namespace) -> int:
    try:
        model = PoseModel(args.model, threads=args.threads)
        counted = count_video(
            args.video,
            args.exercise,
            model=model,
            start_frame=args.start_frame,
            end_frame=args.end_frame,
            stride=args.stride,
        )
    except ModelError as exc:
        print(error_line("campusedge pe count", exc), file=sys.stderr)
        return 1
    except SourceError as exc:
        print(error_line("campusedge pe count", exc), file=sys.stderr)
        if args.json:
            unreadable = Quality((QualityReason.CANNOT_OPEN,), detail=str(exc))
            print(json.dumps({"count": None, "quality": unreadable.to_json()}))
        return 1
    if counted.frames == 0:
        if args.end_frame is None:
            empty = _(
                "{prog}: {video} has no frames from --start-frame {start} "
                "(is the start past the end of the video?)"
            )
        else:
            empty = _(
                "{prog}: {video} has no frames from --start-frame {start} to --end-frame {end} "
                "(is the start past the end of the video?)"
            )
        print(
            empty.format(
                prog="campusedge pe count",
                video=args.video,
                start=args.start_frame,
                end=args.end_frame,
            ),
            file=sys.stderr,
        )
        return 1
    result = counted.result
    quality = result.quality
    if args.json:
        print(json.dumps(counted.to_json()))
    else:
        if not quality.ok:
            reasons = ", ".join(r.value for r in quality.reasons)
            print(
                f"{args.video}: the count ({result.count}) is not a measurement: {reasons}"
                + (f" ({quality.detail})" if quality.detail else "")
            )
        print(
            f"{args.video}: {result.count} {args.exercise} reps in {counted.frames} frames "
            f"(processed at {counted.fps:.1f} frames/s); "
            f"cadence {result.cadence_per_min:.0f}/min; "
            f"form flags {result.form_flags or 'none'}; counted from {quality.signal}"
        )
        print("rep frames:", " ".join(str(r.frame) for r in result.reps))
    return 0
