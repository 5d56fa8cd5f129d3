"""The gateway service: ingest, binding, stores, fitness scoring, alerts, API and dashboard."""
