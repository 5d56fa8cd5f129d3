"""Firmware configs (YAML, data only); installed as campusedge.firmware_configs."""
