"""Ways alerts leave the engine: SSE for the dashboard, webhooks, MQTT for local displays."""
