"""Request dependencies: the gateway's services one by one, the signed-in user, role checks.

Routes ask for the service they use (`Alerts`, `RosterDep`, `AuditDep`, …), not for the whole
gateway, so a route module shows what it touches and a test can see what it needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Header, Path, Request, status

from gateway.alerts.service import AlertService
from gateway.api.access import HeartRateReads
from gateway.api.login_limit import FailedLogins
from gateway.api.refusals import Refusal
from gateway.audit import AuditLog
from gateway.auth import Refused, Role, User, Users
from gateway.competition.results import Competitions
from gateway.consumers.runner import Consumers
from gateway.devices import Devices
from gateway.fitness.results import FitnessResults
from gateway.fleet.commands import BoxCommands
from gateway.fleet.model_store import ModelStore
from gateway.fleet.registry import FleetRegistry
from gateway.health.absences import Absences
from gateway.health.referrals import Referrals
from gateway.i18n import N_, Translator, negotiate
from gateway.ingest import Ingest
from gateway.lessons.heart_rate import HeartRateSettings
from gateway.lessons.live import LiveLessons
from gateway.metrics import GatewayMetrics
from gateway.roster import Roster
from gateway.service import Gateway
from gateway.store.base import Store


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def get_alerts(gateway: GatewayDep) -> AlertService:
    if gateway.alerts is None:
        raise Refusal(503, N_("alerts are disabled on this gateway (alerts_enabled=false)"))
    return gateway.alerts


def get_referrals(gateway: GatewayDep) -> Referrals:
    if gateway.referrals is None:
        raise Refusal(
            503, N_("referrals are kept only with alerts on (alerts_enabled=false on this gateway)")
        )
    return gateway.referrals


def get_absences(gateway: GatewayDep) -> Absences:
    return gateway.absences


def get_roster(gateway: GatewayDep) -> Roster:
    return gateway.roster


def get_audit(gateway: GatewayDep) -> AuditLog:
    return gateway.audit


def get_users(gateway: GatewayDep) -> Users:
    return gateway.users


def get_devices(gateway: GatewayDep) -> Devices:
    return gateway.devices


def get_fleet(gateway: GatewayDep) -> FleetRegistry:
    return gateway.fleet


def get_fitness_results(gateway: GatewayDep) -> FitnessResults:
    return gateway.fitness_results


def get_store(gateway: GatewayDep) -> Store:
    return gateway.store


def get_live_lessons(gateway: GatewayDep) -> LiveLessons:
    return gateway.live_lessons


def get_optional_alerts(gateway: GatewayDep) -> AlertService | None:
    return gateway.alerts


def get_ingest(gateway: GatewayDep) -> Ingest:
    return gateway.ingest


def get_consumers(gateway: GatewayDep) -> Consumers:
    return gateway.consumers


def get_competitions(gateway: GatewayDep) -> Competitions:
    return gateway.competitions


def get_metrics(gateway: GatewayDep) -> GatewayMetrics:
    return gateway.metrics


IngestDep = Annotated[Ingest, Depends(get_ingest)]
ConsumersDep = Annotated[Consumers, Depends(get_consumers)]
CompetitionsDep = Annotated[Competitions, Depends(get_competitions)]
MetricsDep = Annotated[GatewayMetrics, Depends(get_metrics)]
Alerts = Annotated[AlertService, Depends(get_alerts)]
# For routes that work with alerts off too (ending a lesson).
MaybeAlerts = Annotated[AlertService | None, Depends(get_optional_alerts)]
FitnessDep = Annotated[FitnessResults, Depends(get_fitness_results)]
StoreDep = Annotated[Store, Depends(get_store)]
LiveLessonsDep = Annotated[LiveLessons, Depends(get_live_lessons)]
ReferralsDep = Annotated[Referrals, Depends(get_referrals)]
AbsencesDep = Annotated[Absences, Depends(get_absences)]


def get_language(
    gateway: GatewayDep, accept_language: Annotated[str | None, Header()] = None
) -> str:
    """The catalog a person reads: the one their browser asks for first (Accept-Language),
    else the deployment's (CAMPUSEDGE_LANGUAGE); an unknown language gets the default."""
    return negotiate(accept_language, gateway.catalogs.default)


LanguageDep = Annotated[str, Depends(get_language)]


def get_translator(gateway: GatewayDep, language: LanguageDep) -> Translator:
    """The reader's catalog (see get_language), for what a route writes itself (report
    labels, alert descriptions)."""
    return gateway.catalogs.translator(language)


TranslatorDep = Annotated[Translator, Depends(get_translator)]


def get_heart_rate_reads(request: Request) -> HeartRateReads:
    reads: HeartRateReads = request.app.state.heart_rate_reads
    return reads


HeartRateReadsDep = Annotated[HeartRateReads, Depends(get_heart_rate_reads)]


def get_heart_rate_settings(gateway: GatewayDep) -> HeartRateSettings:
    return gateway.settings.heart_rate


HeartRateSettingsDep = Annotated[HeartRateSettings, Depends(get_heart_rate_settings)]
RosterDep = Annotated[Roster, Depends(get_roster)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]
UsersDep = Annotated[Users, Depends(get_users)]
DevicesDep = Annotated[Devices, Depends(get_devices)]
FleetDep = Annotated[FleetRegistry, Depends(get_fleet)]


def get_box_commands(gateway: GatewayDep) -> BoxCommands:
    return gateway.box_commands


def get_model_store(gateway: GatewayDep) -> ModelStore:
    return gateway.models


BoxCommandsDep = Annotated[BoxCommands, Depends(get_box_commands)]
ModelStoreDep = Annotated[ModelStore, Depends(get_model_store)]


def get_failed_logins(request: Request) -> FailedLogins:
    limiter: FailedLogins = request.app.state.failed_logins
    return limiter


FailedLoginsDep = Annotated[FailedLogins, Depends(get_failed_logins)]


def sign_in(request: Request, users: Users, limiter: FailedLogins, token: str | None) -> User:
    """The user of *token*, or 401 (no, unknown or expired token) or 429 (too many failures
    from this address: Retry-After says when to try again)."""
    source = request.client.host if request.client is not None else "unknown"
    wait = limiter.retry_after(source)
    if wait:
        raise Refusal(
            status.HTTP_429_TOO_MANY_REQUESTS,
            N_("too many failed sign-ins from {source}; try again in {wait} s"),
            headers={"Retry-After": str(wait)},
            source=source,
            wait=wait,
        )
    if not token:
        raise Refusal(
            status.HTTP_401_UNAUTHORIZED,
            N_("send 'Authorization: Bearer <token>' (campusedge gateway user add)"),
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = users.verify(token)
    if isinstance(found, User):
        return found
    limiter.failed(source, token)
    raise Refusal(
        status.HTTP_401_UNAUTHORIZED,
        N_("token expired: ask campus IT for a new one (campusedge gateway user rotate ID)")
        if found is Refused.EXPIRED
        else N_("unknown or revoked token"),
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def current_user(
    request: Request,
    users: UsersDep,
    limiter: FailedLoginsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> User:
    return sign_in(request, users, limiter, bearer_token(authorization))


CurrentUser = Annotated[User, Depends(current_user)]


class RoleCheck:
    """A dependency that lets only *roles* through (403 for the others). The roles are kept
    on it, so that a route's rule can be read back (the route x role tests check it)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(self, user: CurrentUser) -> User:
        check_role(user, self.roles)
        return user


def check_role(user: User, roles: Iterable[Role]) -> None:
    """403 unless the user's role is one of *roles*."""
    allowed = frozenset(roles)
    if user.role not in allowed:
        raise Refusal(
            status.HTTP_403_FORBIDDEN,
            N_("role {role} may not do this; needs one of {roles}"),
            role=user.role.value,
            roles=", ".join(sorted(r.value for r in allowed)),
        )


def require(*roles: Role) -> RoleCheck:
    """A dependency that lets only the given roles through."""
    return RoleCheck(*roles)


# Everyone but the auditor, who reads the audit log and nothing else.
STAFF = (Role.CAMPUS_IT, Role.PE_TEACHER, Role.HEALTH_STAFF)
CampusIT = Annotated[User, Depends(require(Role.CAMPUS_IT))]
Teacher = Annotated[User, Depends(require(Role.PE_TEACHER))]
HealthStaff = Annotated[User, Depends(require(Role.HEALTH_STAFF))]
TeacherOrHealth = Annotated[User, Depends(require(Role.PE_TEACHER, Role.HEALTH_STAFF))]
AnyStaff = Annotated[User, Depends(require(*STAFF))]
Auditor = Annotated[User, Depends(require(Role.AUDITOR))]
DistrictUser = Annotated[User, Depends(require(Role.DISTRICT))]


# Row ids (alerts, referrals, silences, audit entries) are PostgreSQL `integer` keys: a larger
# number names no row, and sent to the database it would fail there (a 500, on SQLite too past
# 64 bits) rather than be refused here with a 422 that says why.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def check_school(user: User, school: str | None) -> None:
    """404 for a school the user does not belong to, as for one that does not exist: another
    school's id tells them nothing, not even that it exists."""
    if school is not None and school not in user.schools:
        raise Refusal(status.HTTP_404_NOT_FOUND, N_("no school {school!r}"), school=school)
