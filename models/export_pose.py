"""Rebuild the pose models (landmarks, person detector) as ONNX from mediapipe's wheel.

Run with a Python that has the `export` extra (tf2onnx, tensorflow-cpu, onnx), for example:

    python3 -m venv /tmp/pose-export
    /tmp/pose-export/bin/pip install -e '.[export]'
    /tmp/pose-export/bin/python models/export_pose.py

`--model landmark` (the default) writes pose_landmark_full.onnx, `--model detector`
pose_detection.onnx. Steps, each checked:
1. take the .tflite out of the mediapipe==0.10.14 wheel (pip downloads the wheel
   with --no-deps: installing mediapipe itself would pin protobuf<5, which current TensorFlow
   cannot use, and nothing else from mediapipe is needed); its sha256 must match the pinned one;
2. convert it with tf2onnx (`--tflite … --opset 17`). The detector stores most of its weights
   as sparse fp16 tensors expanded by DENSIFY ops, which tf2onnx cannot read: their dense
   values are taken from TFLite's own reference kernels (no XNNPACK delegate, which would skip
   computing them) and DENSIFY becomes an identity;
3. keep only the outputs the pipeline reads and give them readable names (for the landmark
   model, dropping the segmentation mask and heatmap heads removes about a third of the
   compute: they are decoder branches the counter never looks at);
4. check that the ONNX model gives TFLite's outputs on a random input;
5. write the sha256 of the result to a .json sidecar next to it.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEDIAPIPE_VERSION = "0.10.14"
OPSET = 17
INPUT_NAME = "image"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Export:
    """One model to take out of the wheel: where, its pinned hash, what to keep, its card."""

    member: str
    source_sha256: str  # as shipped in the mediapipe 0.10.14 wheels
    out_name: str
    # tf2onnx names the outputs after the TFLite graph's Identity ops, in TFLite output order.
    keep_outputs: dict[str, str]
    input_shape: list[int]
    input_layout: str
    outputs: dict[str, dict[str, object]]


EXPORTS = {
    # Identity = 195 landmark values (39 x [x, y, z, visibility, presence]), Identity_1 = pose
    # flag, Identity_2 = segmentation mask, Identity_3 = heatmap, Identity_4 = world landmarks.
    "landmark": Export(
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
        "pose_landmark_full.onnx",
        {"Identity": "landmarks", "Identity_1": "pose_flag"},
        [1, 256, 256, 3],
        "NHWC RGB in [0, 1]",
        {
            "landmarks": {
                "shape": [1, 195],
                "layout": "39 x [x, y (input pixels), z, visibility logit, "
                "presence logit]; the first 33 are body keypoints",
            },
            "pose_flag": {"shape": [1, 1], "layout": "probability that a person is present"},
        },
    ),
    # Identity = box and keypoint regressions per anchor, Identity_1 = score logits.
    "detector": Export(
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
        "pose_detection.onnx",
        {"Identity": "boxes", "Identity_1": "scores"},
        [1, 224, 224, 3],
        "NHWC RGB in [-1, 1], the frame letterboxed",
        {
            "boxes": {
                "shape": [1, 2254, 12],
                "layout": "per SSD anchor: box centre x, y, width, height, then 4 keypoints "
                "x, y (hip centre, body scale point, shoulder centre, upper-body scale "
                "point), in input pixels relative to the anchor centre",
            },
            "scores": {"shape": [1, 2254, 1], "layout": "person score logit per anchor"},
        },
    ),
}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_tflite(work: Path, member: str) -> Path:
    """Download the pinned mediapipe wheel (no dependencies) and extract one model."""
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
    out = work / Path(member).name
    with zipfile.ZipFile(wheels[0]) as wheel:
        out.write_bytes(wheel.read(member))
    return out


def _reference_interpreter(tflite: Path) -> Any:
    import tensorflow as tf  # dev-only dependency (export extra)

    # TFLite's reference kernels: the default XNNPACK delegate runs whole subgraphs itself and
    # leaves the tensors inside them (DENSIFY's outputs among them) uncomputed.
    interpreter = tf.lite.Interpreter(
        model_path=str(tflite),
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    return interpreter


def convert_sparse(tflite: Path, raw_onnx: Path) -> None:
    """tf2onnx in this process, with sparse weights replaced by their dense values."""
    import numpy as np
    from tf2onnx import convert as tf2onnx_convert  # dev-only dependency (export extra)
    from tf2onnx import tflite_utils
    from tf2onnx.handler import tfl_op
    from tf2onnx.tflite.Model import Model

    interpreter = _reference_interpreter(tflite)
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], dtype=np.float32))
    interpreter.invoke()
    graph_model = Model.GetRootAsModel(tflite.read_bytes(), 0)
    graph = graph_model.Subgraphs(0)
    dense: dict[bytes, Any] = {}
    for op in interpreter._get_ops_details():
        if op["op_name"] == "DENSIFY":
            sparse = graph.Tensors(op["inputs"][0])
            raw = graph_model.Buffers(sparse.Buffer()).DataAsNumpy().tobytes()
            dense[raw] = interpreter.get_tensor(op["outputs"][0])
    if not dense:
        raise SystemExit(f"{tflite}: no DENSIFY ops, nothing to make dense")
    make_ndarray = tflite_utils.tensor_util.MakeNdarray

    def dense_or_decoded(proto: Any) -> Any:
        # tf2onnx decodes every constant buffer; a sparse one only holds its non-zeros.
        found = dense.get(proto.tensor_content)
        return found if found is not None else make_ndarray(proto)

    tflite_utils.tensor_util.MakeNdarray = dense_or_decoded

    @tfl_op(["TFL_DENSIFY"], tf_op="Identity")
    class _Densify:
        @classmethod
        def to_tf(cls, ctx: Any, node: Any, **kwargs: Any) -> None:
            """The input is dense already: DENSIFY passes it through."""

    argv = sys.argv
    sys.argv = ["tf2onnx", "--tflite", str(tflite), "--opset", str(OPSET)]
    sys.argv += ["--output", str(raw_onnx)]
    try:
        tf2onnx_convert.main()
    finally:
        sys.argv = argv


def check_against_tflite(tflite: Path, onnx_path: Path, export: Export) -> float:
    """Largest difference between TFLite's and the ONNX model's outputs on a random input."""
    import numpy as np
    import onnxruntime as ort

    interpreter = _reference_interpreter(tflite)
    image = np.random.default_rng(0).uniform(-1, 1, export.input_shape).astype(np.float32)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image)
    interpreter.invoke()
    by_name = {
        d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()
    }
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = list(export.keep_outputs.values())
    got = session.run(names, {INPUT_NAME: image})
    worst = 0.0
    for tfl_name, value in zip(export.keep_outputs, got, strict=True):
        worst = max(worst, float(np.abs(np.asarray(value) - by_name[tfl_name]).max()))
    return worst


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


def prune_and_rename(raw_onnx: Path, out: Path, keep_outputs: dict[str, str]) -> None:
    import onnx  # dev-only dependency (export extra)
    from onnx import utils

    model = onnx.load(str(raw_onnx))
    input_name = model.graph.input[0].name
    model = utils.Extractor(model).extract_model([input_name], list(keep_outputs))
    renames = {**keep_outputs, input_name: INPUT_NAME}
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
    parser.add_argument("--model", choices=sorted(EXPORTS), default="landmark")
    parser.add_argument(
        "--tflite", type=Path, help="use this .tflite instead of downloading the wheel"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    export = EXPORTS[args.model]
    out: Path = args.out or HERE / export.out_name
    with tempfile.TemporaryDirectory(prefix="pose-export-") as tmp:
        work = Path(tmp)
        tflite = args.tflite or fetch_tflite(work, export.member)
        got = sha256(tflite)
        if got != export.source_sha256:
            raise SystemExit(
                f"{tflite}: sha256 {got} is not the expected {export.source_sha256} of "
                f"mediapipe {MEDIAPIPE_VERSION}'s {export.member}"
            )
        raw = work / "raw.onnx"
        if args.model == "detector":
            convert_sparse(tflite, raw)
        else:
            convert(tflite, raw)
        prune_and_rename(raw, out, export.keep_outputs)
        worst = check_against_tflite(tflite, out, export)
        if worst > 1e-2:
            raise SystemExit(f"{out}: outputs differ from TFLite's by up to {worst}")
    meta = {
        "file": out.name,
        "sha256": sha256(out),
        "source": f"mediapipe=={MEDIAPIPE_VERSION} wheel, {export.member}",
        "source_sha256": export.source_sha256,
        "license": "Apache-2.0",
        "opset": OPSET,
        "input": {
            "name": INPUT_NAME,
            "shape": export.input_shape,
            "dtype": "float32",
            "layout": export.input_layout,
        },
        "outputs": export.outputs,
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {out} sha256={meta['sha256']} (largest difference from TFLite {worst:.2g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
