"""Liveness and Prometheus metrics: unauthenticated, for monitoring."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.deps import ConsumersDep, IngestDep, MetricsDep
from gateway.consumers.runner import Consumers
from gateway.ingest import Ingest

router = APIRouter(tags=["health"])


def _health(ingest: Ingest, consumers_: Consumers, *, ready: bool) -> JSONResponse:
    age = None if ingest.last_commit is None else round(time.monotonic() - ingest.last_commit, 3)
    problems = ingest.problems()
    if ready and ingest.last_connected_at is None:
        problems = {"starting": "not yet connected to the broker once", **problems}
    consumers = consumers_.status()
    # A consumer thread that died would leave alerts unraised while ingest looks fine.
    dead = sorted(name for name, c in consumers.items() if not c["alive"])
    if dead:
        problems = {**problems, "consumer_stopped": f"consumer thread(s) not running: {dead}"}
    body = {
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "mqtt_connected": ingest.connected.is_set(),
        "writer_alive": ingest.writer_alive(),
        "last_commit_age_s": age,
        "waiting": ingest.waiting(),
        **ingest.stats,
        "consumers": consumers,
    }
    return JSONResponse(body, status_code=503 if problems else 200)


@router.get("/healthz")
def healthz(ingest: IngestDep, consumers: ConsumersDep) -> JSONResponse:
    """200 while ingest works; 503 with the reasons (codes and sentences) in `problems`."""
    return _health(ingest, consumers, ready=False)


@router.get("/readyz")
def readyz(ingest: IngestDep, consumers: ConsumersDep) -> JSONResponse:
    """Like /healthz, and also 503 until the first connection to the broker (for systemd and
    load balancers that should send no traffic to a gateway still starting)."""
    return _health(ingest, consumers, ready=True)


@router.get("/metrics")
def metrics(gateway_metrics: MetricsDep) -> Response:
    return Response(generate_latest(gateway_metrics.registry), media_type=CONTENT_TYPE_LATEST)
