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
    # Commits failing (a full disk): nothing is acknowledged, so the gateway is not healthy
    # even while it is connected; the broker keeps the messages until it writes again.
    failure = ingest.store_write_failure()
    healthy = ingest.healthy() and failure is None
    body = {
        "status": "ok" if healthy else "degraded",
        "mqtt_connected": ingest.connected.is_set(),
        "writer_alive": ingest.writer_alive(),
        "last_commit_age_s": age,
        "store_write_failure": None
        if failure is None
        else {
            "reason": failure.reason,
            "detail": failure.detail,
            "for_s": round(time.monotonic() - failure.since, 1),
            "attempts": failure.attempts,
        },
        **ingest.stats,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics")
def metrics(gateway: GatewayDep) -> Response:
    return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)
