"""The FastAPI application: built around a running Gateway, never at import time."""

from __future__ import annotations

from fastapi import FastAPI

from campusedge import __version__
from gateway.api.access import HeartRateReads
from gateway.api.body_limit import BodyLimit
from gateway.api.login_limit import FailedLogins
from gateway.api.no_nul import NoNul
from gateway.api.refusals import translate_refusals
from gateway.api.routes import (
    absences,
    alert_stream,
    alerts,
    audit,
    box_commands,
    competitions,
    dashboard,
    deliveries,
    device_readings,
    devices,
    district,
    enrolment,
    fitness,
    free_devices,
    growth,
    health,
    lesson_reports,
    lessons,
    locale,
    me,
    national,
    push,
    referrals,
    rope_tests,
    roster,
    silences,
    users,
    warning_levels,
)
from gateway.service import Gateway


def create_app(gateway: Gateway) -> FastAPI:
    app = FastAPI(title="campusedge gateway", version=__version__)
    app.state.gateway = gateway
    app.state.heart_rate_reads = HeartRateReads(gateway.audit)
    app.state.failed_logins = FailedLogins(
        gateway.settings.api_login_failures, gateway.settings.api_login_window_s
    )
    # The alert resources with fixed paths come before /api/alerts/{alert_id}, which would
    # otherwise take "silences" or "stream" for an alert id.
    alert_resources = (silences, referrals, absences, warning_levels, deliveries, alert_stream)
    for module in (
        health,
        locale,
        me,
        free_devices,
        devices,
        device_readings,
        enrolment,
        box_commands,
        users,
        roster,
        lessons,
        rope_tests,
        lesson_reports,
        fitness,
        growth,
        national,
        audit,
        competitions,
        district,
        push,
        *alert_resources,
        alerts,
    ):
        app.include_router(module.router)
    dashboard.mount(app)
    translate_refusals(app)
    # Outside the routes and their dependencies: a NUL no database text can hold, or an
    # oversize body (checked first: the last added is the outermost), costs no parsing and no
    # token check.
    app.add_middleware(NoNul)
    app.add_middleware(BodyLimit, limit=gateway.settings.api_max_body_bytes)
    return app
