"""The edge agent: transports, buffering, MQTT publishing and on-device inference."""
