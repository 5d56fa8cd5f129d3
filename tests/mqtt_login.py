"""Test helper: what a broker answers to one MQTT login (or to none)."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def login_answer(
    host: str, port: int, username: str | None = None, password: str | None = None
) -> str:
    """The broker's CONNACK reason, e.g. 'Success' or 'Not authorized'."""
    answered = threading.Event()
    answer: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if username is not None:
        client.username_pw_set(username, password)

    def on_connect(_c: object, _u: object, _flags: object, reason: object, _props: object) -> None:
        answer.append(str(reason))
        answered.set()

    client.on_connect = on_connect
    client.connect(host, port)
    client.loop_start()
    try:
        assert answered.wait(15), f"no CONNACK from {host}:{port}"
    finally:
        client.loop_stop()
        client.disconnect()
    return answer[0]
