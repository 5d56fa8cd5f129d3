"""The dashboard: `/` serves its page and `/static/` its files, straight from the package."""

from __future__ import annotations

from importlib.resources import files
from os import PathLike, stat_result
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

router = APIRouter(tags=["dashboard"])

# The files ship inside the gateway package (no build step), so an installed wheel serves them.
STATIC_DIR = Path(str(files("gateway.dashboard").joinpath("static")))

# The page loads only its own files; no inline script, nothing from elsewhere. Images may be
# blob: URLs, which only the page's own script can make: the lesson report's plots are fetched
# with the bearer token (an <img src> cannot send it) and shown from the fetched bytes.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> RedirectResponse:
    """Clients that ask for the icon by the old fixed name (not reading the page's link)."""
    return RedirectResponse("/static/favicon.svg", status_code=308)


# Browsers refuse module scripts and stylesheets sent with another type under `nosniff`; the
# platform's MIME table (e.g. a Windows registry mapping .js to text/plain) is not trusted.
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
}


class DashboardFiles(StaticFiles):
    """StaticFiles with fixed content types and the security headers on every file."""

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        kind = CONTENT_TYPES.get(Path(full_path).suffix)
        if kind is not None:
            response.headers["content-type"] = kind
        response.headers.update(SECURITY_HEADERS)
        return response


def mount(app: FastAPI) -> None:
    """Add the page and its static files to *app* (a router cannot carry a mount)."""
    app.include_router(router)
    app.mount("/static", DashboardFiles(directory=STATIC_DIR), name="static")
