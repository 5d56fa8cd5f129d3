"""The language and clock a person's pages use: what the dashboard asks before anything else."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from gateway.api.deps import GatewayDep, LanguageDep
from gateway.i18n import LANGUAGES

router = APIRouter(prefix="/api/locale", tags=["locale"])

# Where no alert configuration names the school's zone (alerts off): Chinese schools' clock.
DEFAULT_TIME_ZONE = "Asia/Shanghai"


def tag(language: str) -> str:
    """A catalog name as browsers and people write the language (zh_CN: zh-CN)."""
    return language.replace("_", "-")


class LocalePublic(BaseModel):
    language: str
    default_language: str
    languages: list[str]
    time_zone: str


@router.get("", response_model=LocalePublic)
def locale(gateway: GatewayDep, language: LanguageDep, response: Response) -> LocalePublic:
    """The language negotiated for this request (Accept-Language, which the dashboard sets to
    the reader's choice, else the deployment's CAMPUSEDGE_LANGUAGE) and the school's time zone.
    Asked before signing in, so it needs no token; it tells nothing about anyone."""
    response.headers["Vary"] = "Accept-Language"
    zone = DEFAULT_TIME_ZONE
    if gateway.alerts is not None:
        zone = gateway.alerts.configs.for_school(gateway.settings.ingest.school).timezone
    return LocalePublic(
        language=tag(language),
        default_language=tag(gateway.catalogs.default),
        languages=[tag(lang) for lang in LANGUAGES],
        time_zone=zone,
    )
