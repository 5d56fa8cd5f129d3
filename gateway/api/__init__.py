"""The gateway's HTTP API (FastAPI): routes per resource, roles checked in deps."""
