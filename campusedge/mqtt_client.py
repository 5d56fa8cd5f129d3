"""The one way every part builds its paho MQTT client: credentials, TLS, reconnect policy."""

from __future__ import annotations

from typing import Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from campusedge.credentials import check_tls_files
from campusedge.settings import MqttSettings

# paho reconnects by itself (its network thread's loop); this is that loop's one policy:
# first retry after a second, then doubling up to the cap, so a restarted broker is found
# within seconds and a long outage costs a box one attempt every half minute.
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30


def make_client(
    settings: MqttSettings,
    client_id: str,
    *,
    protocol: Literal["5", "3.1.1"] = "3.1.1",
    persistent: bool = True,
    manual_ack: bool = False,
    reconnect_max_s: int = RECONNECT_MAX_S,
) -> mqtt.Client:
    """A paho client logged in and (with `tls_ca`) encrypted as *settings* say, not connected.

    CredentialsError if a TLS file named in *settings* is missing or its key is unsafe.

    `persistent`: the broker keeps the session (subscriptions and unacknowledged QoS 1
    messages) across disconnections; a client that only publishes may do without.
    """
    v5 = protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        # MQTT 5 has no clean_session: persistence is the session expiry in CONNECT.
        clean_session=None if v5 else not persistent,
        manual_ack=manual_ack,
    )
    if settings.username:
        password = settings.password.get_secret_value() if settings.password else None
        client.username_pw_set(settings.username, password)
    check_tls_files(settings)
    if settings.tls_ca:
        client.tls_set(
            ca_certs=settings.tls_ca, certfile=settings.tls_cert, keyfile=settings.tls_key
        )
    client.reconnect_delay_set(min_delay=RECONNECT_MIN_S, max_delay=reconnect_max_s)
    return client


def connect_properties(
    protocol: Literal["5", "3.1.1"], session_expiry_s: int, receive_maximum: int
) -> Properties | None:
    """CONNECT properties of an MQTT 5 persistent session; None for 3.1.1."""
    if protocol != "5":
        return None
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = session_expiry_s
    props.ReceiveMaximum = receive_maximum
    return props
