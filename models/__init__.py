"""Model files (ONNX), their export scripts and model cards; installed as campusedge.models."""
