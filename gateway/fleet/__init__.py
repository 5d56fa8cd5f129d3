"""The fleet: MQTT identities of edge boxes and gateway workers, and the broker config they need."""
