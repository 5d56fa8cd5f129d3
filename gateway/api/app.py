"""The FastAPI application: built around a running Gateway, never at import time."""

from __future__ import annotations

from fastapi import FastAPI

from campusedge import __version__
from gateway.api.access import HeartRateReads
from gateway.api.body_limit import BodyLimit
from gateway.api.routes import alerts, dashboard, devices, fitness, health, lessons, me, roster
from gateway.service import Gateway


def create_app(gateway: Gateway) -> FastAPI:
    app = FastAPI(title="campusedge gateway", version=__version__)
    app.state.gateway = gateway
    app.state.heart_rate_reads = HeartRateReads(gateway.audit)
    for module in (health, me, devices, roster, lessons, fitness, alerts):
        app.include_router(module.router)
    dashboard.mount(app)
    # Outside the routes and their dependencies: an oversize body costs no parsing and no
    # token check.
    app.add_middleware(BodyLimit, limit=gateway.settings.api_max_body_bytes)
    return app
