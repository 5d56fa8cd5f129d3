"""Options shared by gateway subcommands (broker connection, logging)."""

from __future__ import annotations

import argparse
import logging
import os

from campusedge.settings import MqttSettings


def add_mqtt_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("MQTT broker (defaults from CAMPUSEDGE_MQTT_* variables)")
    g.add_argument("--mqtt-host")
    g.add_argument("--mqtt-port", type=int)
    g.add_argument("--mqtt-username")
    g.add_argument("--mqtt-password", help="prefer CAMPUSEDGE_MQTT_PASSWORD: argv is visible")


def mqtt_from_args(args: argparse.Namespace) -> MqttSettings:
    overrides = {k: getattr(args, f"mqtt_{k}") for k in ("host", "port", "username", "password")
                 if getattr(args, f"mqtt_{k}", None) is not None}
    return MqttSettings(**overrides)


def setup_logging(verbose: bool = False) -> None:
    level = os.environ.get("CAMPUSEDGE_LOG_LEVEL", "DEBUG" if verbose else "INFO")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
