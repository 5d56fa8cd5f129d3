"""Liveness and Prometheus metrics: unauthenticated, for monitoring."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.deps import GatewayDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(gateway: GatewayDep) -> JSONResponse:
    ingest = gateway.ingest
    age = None if ingest.last_commit is None else round(time.monotonic() - ingest.last_commit, 3)
    consumers = gateway.consumers.status()
    # A consumer thread that died would leave alerts unraised while ingest looks fine.
    healthy = ingest.healthy() and all(c["alive"] for c in consumers.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "mqtt_connected": ingest.connected.is_set(),
        "writer_alive": ingest.writer_alive(),
        "last_commit_age_s": age,
        **ingest.stats,
        "consumers": consumers,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics")
def metrics(gateway: GatewayDep) -> Response:
    return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)
