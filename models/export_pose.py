"""Rebuild models/pose_landmark_full.onnx from the BlazePose landmark model in mediapipe's wheel.

Run with a Python that has the `export` extra (tf2onnx, tensorflow-cpu, onnx), for example:

    python3 -m venv /tmp/pose-export
    /tmp/pose-export/bin/pip install -e '.[export]'
    /tmp/pose-export/bin/python models/export_pose.py

Steps, each checked:
1. take `pose_landmark_full.tflite` out of the mediapipe==0.10.14 wheel (pip downloads the wheel
   with --no-deps: installing mediapipe itself would pin protobuf<5, which current TensorFlow
   cannot use, and nothing else from mediapipe is needed); its sha256 must match SOURCE_SHA256;
2. convert it with `python -m tf2onnx.convert --tflite … --opset 17`;
3. keep only the outputs the pipeline reads (landmarks and the pose-presence flag) and give them
   readable names. Dropping the segmentation mask and heatmap heads removes about a third of the
   compute (they are decoder branches the counter never looks at);
4. write the sha256 of the result to pose_landmark_full.json next to it.

This script is a development tool; nothing at run time imports tensorflow, tf2onnx or onnx.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MEDIAPIPE_VERSION = "0.10.14"
MEMBER = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
# sha256 of pose_landmark_full.tflite as shipped in the mediapipe 0.10.14 wheels.
SOURCE_SHA256 = "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
OPSET = 17
# tf2onnx names the outputs after the TFLite graph's Identity ops, in the TFLite output order:
# Identity = 195 landmark values (39 x [x, y, z, visibility, presence]), Identity_1 = pose flag,
# Identity_2 = segmentation mask, Identity_3 = heatmap, Identity_4 = world landmarks.
KEEP_OUTPUTS = {"Identity": "landmarks", "Identity_1": "pose_flag"}
INPUT_NAME = "image"
HERE = Path(__file__).resolve().parent


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_tflite(work: Path) -> Path:
    """Download the pinned mediapipe wheel (no dependencies) and extract the landmark model."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.11",
            "--platform",
            "manylinux_2_17_x86_64",
            f"mediapipe=={MEDIAPIPE_VERSION}",
            "-d",
            str(work),
        ],
        check=True,
    )
    wheels = glob.glob(str(work / f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"pip did not download a mediapipe {MEDIAPIPE_VERSION} wheel into {work}")
    out = work / "pose_landmark_full.tflite"
    with zipfile.ZipFile(wheels[0]) as wheel:
        out.write_bytes(wheel.read(MEMBER))
    return out


def convert(tflite: Path, raw_onnx: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tf2onnx.convert",
            "--tflite",
            str(tflite),
            "--opset",
            str(OPSET),
            "--output",
            str(raw_onnx),
        ],
        check=True,
    )


def prune_and_rename(raw_onnx: Path, out: Path) -> None:
    import onnx  # dev-only dependency (export extra)
    from onnx import utils

    model = onnx.load(str(raw_onnx))
    input_name = model.graph.input[0].name
    model = utils.Extractor(model).extract_model([input_name], list(KEEP_OUTPUTS))
    renames = {**KEEP_OUTPUTS, input_name: INPUT_NAME}
    # tf2onnx numbers its tensors from a global counter, so two conversions of the same file
    # differ in names only. Naming every tensor by the order it is first used makes the
    # export byte-for-byte reproducible (and its sha256 checkable).
    for node in model.graph.node:
        for name in [*node.input, *node.output]:
            if name and name not in renames:
                renames[name] = f"t{len(renames)}"
    for index, node in enumerate(model.graph.node):
        node.name = f"n{index}_{node.op_type}"
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
    for value in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
        value.name = renames.get(value.name, value.name)
    initializers = sorted(model.graph.initializer, key=lambda t: renames.get(t.name, t.name))
    for tensor in initializers:
        tensor.name = renames.get(tensor.name, tensor.name)
    del model.graph.initializer[:]
    model.graph.initializer.extend(initializers)
    model.producer_name = "campusedge models/export_pose.py (tf2onnx)"
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tflite",
        type=Path,
        help="use this pose_landmark_full.tflite instead of downloading the wheel",
    )
    parser.add_argument("--out", type=Path, default=HERE / "pose_landmark_full.onnx")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pose-export-") as tmp:
        work = Path(tmp)
        tflite = args.tflite or fetch_tflite(work)
        got = sha256(tflite)
        if got != SOURCE_SHA256:
            raise SystemExit(
                f"{tflite}: sha256 {got} is not the expected {SOURCE_SHA256} of "
                f"mediapipe {MEDIAPIPE_VERSION}'s {MEMBER}"
            )
        raw = work / "raw.onnx"
        convert(tflite, raw)
        prune_and_rename(raw, args.out)
    meta = {
        "file": args.out.name,
        "sha256": sha256(args.out),
        "source": f"mediapipe=={MEDIAPIPE_VERSION} wheel, {MEMBER}",
        "source_sha256": SOURCE_SHA256,
        "license": "Apache-2.0",
        "opset": OPSET,
        "input": {
            "name": INPUT_NAME,
            "shape": [1, 256, 256, 3],
            "dtype": "float32",
            "layout": "NHWC RGB in [0, 1]",
        },
        "outputs": {
            "landmarks": {
                "shape": [1, 195],
                "layout": "39 x [x, y (input pixels), z, visibility logit, "
                "presence logit]; the first 33 are body keypoints",
            },
            "pose_flag": {"shape": [1, 1], "layout": "probability that a person is present"},
        },
    }
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {args.out} sha256={meta['sha256']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
