"""Time-series stores behind one interface: SQLite (default) and InfluxDB (v1 HTTP API)."""
