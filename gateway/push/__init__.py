"""HTTP push ingest: devices and vendor clouds that cannot speak MQTT post their readings."""
