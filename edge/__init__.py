"""The edge agent: transports, decoding, store-and-forward buffering and MQTT publishing."""
