"""Test-only receiver with the gateway's storage contract, for checking the outage bench.

Subscribes like the gateway (QoS 1, persistent session, manual acknowledgement after the
SQLite commit), validates with campusedge.envelope.parse_message, deduplicates on
(device_id, seq), and writes the `messages`/`readings` tables the bench reads.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import threading
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campusedge.contract import EventMessage, ReadingMessage
from campusedge.envelope import EnvelopeError, parse_message
from campusedge.topics import DeviceTopic, TopicError, device_subscriptions

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (device_id TEXT, seq INTEGER, school TEXT, kind TEXT,
  ts TEXT, time_quality TEXT, received_at REAL, event_type TEXT, attributes TEXT,
  PRIMARY KEY (device_id, seq));
CREATE TABLE IF NOT EXISTS readings (device_id TEXT, seq INTEGER, metric TEXT, value REAL,
  unit TEXT);
"""


def main() -> None:
    p = argparse.ArgumentParser()
    for flag in ("--db", "--mqtt-host", "--mqtt-port", "--mqtt-username", "--mqtt-password",
                 "--school", "--api-port"):
        p.add_argument(flag)
    a = p.parse_args()
    db = sqlite3.connect(a.db, check_same_thread=False)
    db.executescript(SCHEMA)
    lock = threading.Lock()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="count-gateway",
                         clean_session=False, manual_ack=True)
    client.username_pw_set(a.mqtt_username, a.mqtt_password)

    def on_connect(c: mqtt.Client, u: object, f: object, rc: object, pr: object) -> None:
        for t in device_subscriptions(a.school):
            c.subscribe(t, qos=1)

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            m = parse_message(DeviceTopic.parse(msg.topic), msg.payload, now=datetime.now(UTC))
        except (EnvelopeError, TopicError):
            c.ack(msg.mid, msg.qos)
            return
        if isinstance(m, ReadingMessage | EventMessage):
            readings = m.readings if isinstance(m, ReadingMessage) else m.event.readings
            ev = m.event if isinstance(m, EventMessage) else None
            with lock, db:
                cur = db.execute(
                    "INSERT OR IGNORE INTO messages VALUES (?,?,?,?,?,?,?,?,?)",
                    (m.device_id, m.seq, a.school, m.kind.value, m.ts.isoformat(),
                     m.time_quality.value, datetime.now(UTC).timestamp(),
                     ev.type if ev else None, json.dumps(ev.attributes) if ev else None))
                if cur.rowcount:
                    db.executemany("INSERT INTO readings VALUES (?,?,?,?,?)",
                                   [(m.device_id, m.seq, r.metric.value, r.value, r.unit.value)
                                    for r in readings])
        c.ack(msg.mid, msg.qos)

    client.on_connect = on_connect
    client.on_message = on_message
    client.reconnect_delay_set(0.5, 2)
    client.connect_async(a.mqtt_host, int(a.mqtt_port))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    client.loop_start()
    done.wait()
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
