"""The FastAPI application: built around a running Gateway, never at import time."""

from __future__ import annotations

from fastapi import FastAPI

from campusedge import __version__
from gateway.api.routes import alerts, devices, health, roster
from gateway.service import Gateway


def create_app(gateway: Gateway) -> FastAPI:
    app = FastAPI(title="campusedge gateway", version=__version__)
    app.state.gateway = gateway
    for module in (health, devices, roster, alerts):
        app.include_router(module.router)
    return app
