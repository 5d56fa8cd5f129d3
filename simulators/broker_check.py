"""Log in to the MQTT broker once, as a scenario's edge agent will, and say what went wrong."""

from __future__ import annotations

import os
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from campusedge.credentials import CredentialsError
from campusedge.mqtt_client import make_client
from campusedge.settings import MqttSettings
from campusedge.words import _, error_text


def broker_problem(
    settings: MqttSettings, timeout_s: float = 10.0, stop: threading.Event | None = None
) -> str | None:
    """None if *settings* can log in; else one line saying why not (unreachable, refused)."""
    where = f"{settings.host}:{settings.port}"
    try:
        # The same client as the edge agent's, so TLS client certificates are checked too.
        client = make_client(settings, f"campusedge-check-{os.getpid()}", persistent=False)
    except CredentialsError as exc:
        return error_text(exc)
    answers: list[ReasonCode] = []

    def on_connect(
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        answers.append(reason)

    client.on_connect = on_connect
    try:
        client.connect(settings.host, settings.port, keepalive=settings.keepalive_s)
    except (OSError, ValueError) as exc:  # refused, no route, unknown host, TLS handshake
        return _("cannot connect to the MQTT broker at {where}: {reason}").format(
            where=where, reason=exc
        )
    client.loop_start()
    try:
        end = time.monotonic() + timeout_s
        while not answers and time.monotonic() < end:
            if stop is not None and stop.is_set():
                return None  # interrupted: the caller stops anyway
            time.sleep(0.05)
        if not answers:
            return _(
                "the MQTT broker at {where} did not answer the login within {seconds} s"
            ).format(where=where, seconds=f"{timeout_s:g}")
        if answers[0].is_failure:
            return _(
                "the MQTT broker at {where} refused the login: {reason} (check "
                "--mqtt-username and --mqtt-password, or CAMPUSEDGE_MQTT_USERNAME/_PASSWORD)"
            ).format(where=where, reason=answers[0])
        return None
    finally:
        client.disconnect()
        client.loop_stop()
