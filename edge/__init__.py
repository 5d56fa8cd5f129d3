"""The edge agent: transports, buffering, publishing and on-device inference."""
