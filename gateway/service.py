"""The gateway assembled: settings, state, store, ingest; started and stopped as one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url

from campusedge.settings import MqttSettings
from campusedge.topics import TopicError, check_id
from campusedge.words import Shown
from gateway.alerts.config import AlertConfigError
from gateway.alerts.service import AlertService
from gateway.api.body_limit import DEFAULT_MAX_BODY_BYTES
from gateway.audit import AuditLog
from gateway.auth import Users
from gateway.binding import Binder
from gateway.competition.board_news import BoardNews
from gateway.competition.results import Competitions
from gateway.consumers.alerts import AlertConsumer
from gateway.consumers.box_commands import BoxCommandsConsumer
from gateway.consumers.competition import CompetitionConsumer
from gateway.consumers.devices import DeviceRegistryConsumer
from gateway.consumers.fitness import FitnessConsumer
from gateway.consumers.health import HealthConsumer
from gateway.consumers.live_lessons import LiveLessonsConsumer
from gateway.consumers.runner import Consumers
from gateway.devices import Devices
from gateway.district.leases import DEFAULT_TTL_S, Leases, WorkerIdTaken
from gateway.district.registry import Districts
from gateway.district.worker import Worker
from gateway.fitness.national_template import TemplateError, load_template
from gateway.fitness.results import FitnessResults
from gateway.fleet.commands import BoxCommands
from gateway.fleet.enrolment import Enrolment
from gateway.fleet.model_store import ModelStore, default_model_store
from gateway.fleet.provisioning import default_ca_dir
from gateway.fleet.registry import FleetRegistry
from gateway.health.absences import Absences
from gateway.health.referrals import Referrals
from gateway.health.screenings import Screenings
from gateway.i18n import N_, Catalogs, checked_language
from gateway.ingest import Ingest, IngestSettings
from gateway.lessons.heart_rate import HeartRateSettings
from gateway.lessons.live import LiveLessons
from gateway.metrics import GatewayMetrics
from gateway.migrations import require_head
from gateway.push.mapping import MappingFileError, load_mappings, packaged_dir
from gateway.push.tokens import PushTokens
from gateway.retention import RetentionSettings, RetentionSweep
from gateway.roster import Roster
from gateway.state import (
    StateDB,
    StateDBError,
    StateDBUnavailable,
    is_sqlite_path,
    state_url,
)
from gateway.store.base import Store, StoreError, StoreUnavailable
from gateway.store.commit_log import CommitLog
from gateway.store.factory import open_store
from gateway.store.sqlite import SqliteStore
from gateway.store_failure import disk_trouble
from gateway.watermarks import StoredWatermarks

log = logging.getLogger(__name__)


class GatewayStartError(Shown):
    """The gateway cannot start; the message says what to fix, naming the file, URL or variable.

    `transient`: not a configuration error but something that may pass (the store's server
    not up yet after a power cut), so a service manager should try again.
    """

    def __init__(
        self,
        message: str | BaseException,
        *,
        transient: bool = False,
        catalog: bool = False,
        **values: object,
    ) -> None:
        super().__init__(message, catalog=catalog, **values)
        self.transient = transient


def _as_text(value: object) -> object:
    return str(value) if isinstance(value, PurePath) else value


# A path (given as a Path by callers such as the demo) or a postgresql:// URL, kept as text:
# a Path would fold the URL's "//".
StateTarget = Annotated[str, BeforeValidator(_as_text)]


class GatewaySettings(BaseSettings):
    """Gateway configuration; every field can be set as CAMPUSEDGE_<FIELD> in the environment."""

    model_config = SettingsConfigDict(env_prefix="CAMPUSEDGE_", extra="ignore")

    store_url: str = Field(
        default="sqlite:///var/campusedge/readings.db",
        description="sqlite:///path or influx://user:pass@host:port/db",
    )
    store_password: SecretStr | None = Field(
        default=None,
        description="the store's password (with a user in store_url) or token (without), "
        "kept out of the URL and so out of the process list",
    )
    state_db: StateTarget = Field(
        default="var/campusedge/state.db",
        description="the relational state: a SQLite file path, or "
        "postgresql://user:pass@host:port/db for several workers sharing one PostgreSQL",
    )
    migrate_on_start: bool = Field(
        default=True,
        description="upgrade the state database's schema at start; when off, the gateway "
        "refuses to start on a schema older than the code (run `campusedge gateway migrate`)",
    )
    commit_log: Path | None = Field(
        default=None,
        description="the commit log consumers read (SQLite file); default beside a SQLite "
        "state database, named after it (state.db: state.commits.db), since consumer cursors "
        "in one state database belong to one log; with a PostgreSQL state, "
        "var/campusedge/<database>.commits.db",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535, description="0 disables the API")
    api_max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES,
        ge=1024,
        description="larger request bodies are refused with 413 before they are read; "
        "the largest legitimate one is a roster import (2,000 students: about 0.25 MB)",
    )
    api_login_failures: int = Field(
        default=10,
        ge=1,
        description="failed sign-ins (unknown or expired tokens) one source address may make "
        "in api_login_window_s before it is answered 429 with Retry-After",
    )
    api_login_window_s: float = Field(default=60.0, gt=0)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    worker_id: str | None = Field(
        default=None,
        description="run as one of several gateway workers on one PostgreSQL state, broker "
        "and store: this worker holds leases on a fair share of the schools and ingests only "
        "theirs (its MQTT client id is <ingest client id>-<worker id>). Unset: one gateway "
        "ingests every school of --school",
    )
    worker_lease_s: float = Field(
        default=DEFAULT_TTL_S,
        ge=1.0,
        le=300.0,
        description="a worker's school leases lapse this long after its last heartbeat (one "
        "every third of it): a dead worker's schools move to the others within 4/3 of it",
    )
    strict_enrolment: bool = Field(
        default=True,
        description="admit only messages of devices the fleet registry lists under their "
        "school (`campusedge provision box`); others are dead-lettered as unknown_device. "
        "Off only for the demo and for trials with simulated devices",
    )
    ca_dir: Path | None = Field(
        default=None,
        description="the campus CA folder (ca.crt, ca.key) that enrolling a box from the "
        "dashboard issues its certificate from, as `campusedge provision --ca-dir` does; "
        "default ca/ beside a SQLite state database (where `provision` makes it), else "
        "var/campusedge/ca",
    )
    model_store: Path | None = Field(
        default=None,
        description="the folder of signed pose models offered to the edge boxes "
        "(`campusedge gateway model add`); default models/ beside the campus CA folder",
    )
    push_mappings_dir: Path | None = Field(
        default=None,
        description="a folder of HTTP push payload mappings (<name>.yaml), beside the packaged "
        "examples (a file of the same name replaces one of them); read and checked at start",
    )
    alerts_enabled: bool = True
    alerts_dir: Path | None = Field(
        default=None,
        description="per-school alert YAML files "
        "(<school>.yaml, warning_levels.yaml) and per-district ones (districts/<district>.yaml, "
        "districts/<district>.warning_levels.yaml); packaged defaults otherwise",
    )
    warning_levels_file: Path | None = Field(
        default=None,
        description="the district health authority's warning-level thresholds, "
        "wherever the district keeps them; default <alerts_dir>/warning_levels.yaml, else the "
        "packaged placeholders",
    )
    national_template_file: Path | None = Field(
        default=None,
        description="keys that replace the packaged national upload template's (columns, "
        "codes, formats), as `campusedge fitness export-national --template-config` takes; "
        "the dashboard's national file uses it",
    )
    heart_rate: HeartRateSettings = Field(default_factory=HeartRateSettings)
    district_min_cell: int = Field(
        default=5,
        ge=2,
        le=100,
        description="district views hide any count of fewer students than this (a small "
        "group can identify a child); at least 2, so suppression cannot be turned off",
    )
    language: str = Field(
        default="zh-CN",
        description="the language of what people read (robot messages, exports): zh-CN or en",
    )
    dashboard_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="the address people open the dashboard at, linked from alert messages",
    )
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    tracemalloc: float = Field(
        default=0.0,
        ge=0.0,
        description="seconds between allocation snapshots whose growth since warm-up is "
        "logged (gateway.memory_trace); 0, the default, traces nothing (tracing costs CPU)",
    )

    @field_validator("language")
    @classmethod
    def _known_language(cls, v: str) -> str:
        # Checked with the rest of the settings, so that a typo stops the start with its name.
        return checked_language(v)


def commit_log_beside(state: str, worker_id: str | None = None) -> Path:
    """The default commit log of a state database: beside its file, named after it; for a
    PostgreSQL state, named after its database under var/campusedge (and after the worker:
    each worker's consumers read what that worker committed, from cursors of its own)."""
    if is_sqlite_path(state):
        path = Path(state)
        return path.with_name(path.stem + ".commits.db")
    name = make_url(state_url(state)).database or "state"
    worker = f".{worker_id}" if worker_id else ""
    return Path("var/campusedge") / f"{name}{worker}.commits.db"


def open_state(target: str, *, migrate: bool = True) -> StateDB:
    """The state database at *target*, its schema at this code's head, or GatewayStartError:
    transient when a PostgreSQL server is not reachable (yet), so that systemd retries."""
    if is_sqlite_path(target):
        folder = Path(target).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GatewayStartError(
                N_("cannot create the folder of state database {target}: {reason}"),
                target=target,
                reason=exc.strerror,
            ) from None
    try:
        db = StateDB(target, migrate=migrate)
    except StateDBUnavailable as exc:
        raise GatewayStartError(
            N_(
                "{error}; will retry (is PostgreSQL running and the URL in "
                "CAMPUSEDGE_STATE_DB right?)"
            ),
            transient=True,
            error=exc,
        ) from None
    except StateDBError as exc:  # the message names the database and what to do
        # A full disk may pass: exit as transient, so that systemd keeps trying.
        raise GatewayStartError(exc, transient=disk_trouble(str(exc))) from None
    if not migrate:
        try:
            require_head(db)
        except StateDBError as exc:
            db.close()
            raise GatewayStartError(exc) from None
    return db


class Gateway:
    """Owns every part of a running gateway; the API and the CLI reach them through it."""

    def __init__(
        self, settings: GatewaySettings, mqtt: MqttSettings, store: Store | None = None
    ) -> None:
        self.settings = settings
        self.db = open_state(settings.state_db, migrate=settings.migrate_on_start)
        try:
            self._assemble(settings, mqtt, store)
        except (StoreError, AlertConfigError, MappingFileError, TemplateError, StateDBError) as exc:
            # What was opened before the failure is closed, so that a caller may retry.
            if getattr(self, "store", None) is not None and store is None:
                self.store.close()
            if getattr(self, "commit_log", None) is not None:
                self.commit_log.close()
            self.db.close()
            # A worker id in use may be a killed worker's not lapsed yet, or a session being
            # emptied: retried by the service manager, it starts once that is over.
            transient = isinstance(exc, StoreUnavailable | WorkerIdTaken | StateDBUnavailable)
            transient = transient or disk_trouble(str(exc))
            raise GatewayStartError(exc, transient=transient) from None

    def _assemble(self, settings: GatewaySettings, mqtt: MqttSettings, store: Store | None) -> None:
        self.users = Users(self.db)
        self.districts = Districts(self.db)
        self.audit = AuditLog(self.db)
        self.roster = Roster(self.db)
        self.devices = Devices(self.db)
        self.fleet = FleetRegistry(self.db)
        self.ca_dir = settings.ca_dir or default_ca_dir(settings.state_db)
        self.models = ModelStore(settings.model_store or default_model_store(settings.state_db))
        self.metrics = GatewayMetrics()
        # Checked before anything is opened that would need closing: a bad file stops the start.
        self.push_mappings = load_mappings(
            packaged_dir(), *([settings.push_mappings_dir] if settings.push_mappings_dir else [])
        )
        self.push_tokens = PushTokens(self.db)
        # The national upload's template, checked at start like the other files.
        self.national_template = load_template(settings.national_template_file)
        self.catalogs = Catalogs(settings.language, self.metrics.count_missing_translation)
        password = settings.store_password
        self.worker: Worker | None = None
        worker_id = settings.worker_id
        leases: Leases | None = None
        if worker_id is not None:
            try:
                check_id(worker_id, "worker id")
            except TopicError as exc:
                raise StateDBError(f"--worker-id: {exc}") from None
            if worker_id == "alerts" or worker_id.endswith("-alerts"):
                # <client id>-<worker>-alerts is the alert publisher's MQTT client id.
                raise StateDBError(
                    N_("--worker-id {worker!r}: may not end in 'alerts'"), worker=worker_id
                )
            # Claimed before anything touches the broker: a second process with this id
            # would otherwise take over the first one's MQTT session.
            leases = Leases(self.db, worker_id, ttl_s=settings.worker_lease_s)
            leases.register()
            base_client_id = settings.ingest.client_id
            settings = settings.model_copy(
                update={
                    "ingest": settings.ingest.model_copy(
                        update={
                            "client_id": f"{base_client_id}-{worker_id}",
                            "share_group": "campusedge",
                        }
                    )
                }
            )
            self.settings = settings
        self.store = store or open_store(
            settings.store_url, password.get_secret_value() if password else None
        )
        self.commit_log = CommitLog(
            settings.commit_log or commit_log_beside(settings.state_db, worker_id),
            synchronous=getattr(self.store, "synchronous", "full"),
            source=self.store if isinstance(self.store, SqliteStore) else None,
        )
        self.binder = Binder(self.roster)
        self.watermarks = StoredWatermarks(self.db)
        self.ingest = Ingest(
            mqtt,
            self.store,
            self.devices,
            self.metrics,
            self.binder,
            self.commit_log,
            settings.ingest,
            self.watermarks,
            Enrolment(self.fleet) if settings.strict_enrolment else None,
        )
        if leases is not None:
            self.worker = Worker(leases, self.ingest, lambda w: f"{base_client_id}-{w}")
            self.ingest.on_drained.append(self.worker.drained)
        # A worker's consumers read its own commit log, so their cursors are its own too.
        self.consumers = Consumers(
            self.commit_log,
            self.db,
            self.metrics.registry,
            cursor_suffix=f"@{worker_id}" if worker_id else "",
        )
        self.ingest.on_commit.append(self.consumers.wake)
        self.consumers.add(DeviceRegistryConsumer(self.devices))
        self.box_commands = BoxCommands(self.db)
        self.consumers.add(BoxCommandsConsumer(self.box_commands, self.ingest.publish_command))
        self.absences = Absences(self.db)
        self.alerts: AlertService | None = None
        # None when nothing keeps the referral list (alerts off: see below).
        self.referrals: Referrals | None = None
        if settings.alerts_enabled:
            self.alerts = AlertService(
                self.db,
                self.roster,
                self.devices,
                mqtt,
                settings.alerts_dir,
                settings.warning_levels_file,
                client_id=settings.ingest.client_id,
                registry=self.metrics.registry,
                absences=self.absences,
                catalogs=self.catalogs,
                dashboard_url=settings.dashboard_url,
                district_of=self.districts.district_of,
            )
            self.consumers.add(AlertConsumer(self.alerts.engine))
            # The vision thresholds are part of each school's alert config, which a gateway
            # with alerts off does not load: it judges no screening and keeps no referrals.
            configs = self.alerts.configs
            self.referrals = Referrals(self.db)
            self.consumers.add(
                HealthConsumer(
                    Screenings(self.referrals, self.roster, lambda s: configs.for_school(s).vision)
                )
            )
        self.fitness_results = FitnessResults(self.db, self.roster)
        self.live_lessons = LiveLessons()
        self.consumers.add(
            FitnessConsumer(self.roster, self.fitness_results, self.metrics.registry)
        )
        self.consumers.add(LiveLessonsConsumer(self.live_lessons))
        self.competitions = Competitions(self.db)
        # Several processes may share a PostgreSQL state (gateway workers): a board stream on
        # one shows the results another stores.
        self.board_news: BoardNews | None = None
        if self.db.dialect == "postgresql":
            self.board_news = BoardNews(self.db, self.competitions.changed_elsewhere)
            self.competitions.on_changed.append(self.board_news.tell)
        self.consumers.add(
            CompetitionConsumer(self.competitions, self.roster, self.metrics.registry)
        )
        self.retention = RetentionSweep(
            settings.retention,
            self.store,
            self.alerts.delivery_log if self.alerts is not None else None,
            self.alerts.webhooks.outbox if self.alerts is not None else None,
            self.metrics.registry,
            db=self.db,
        )

    def start(self) -> None:
        if self.alerts is not None:
            self._resume_heart_rate_windows()
            self.alerts.start()
        if self.board_news is not None:
            self.board_news.start()
        self.consumers.start()
        if self.worker is not None:
            self.worker.tick()  # the first schools, so that ingest subscribes to them at once
        self.ingest.start()
        if self.worker is not None:
            self.worker.start()
        self.retention.start()

    def _resume_heart_rate_windows(self) -> None:
        """Before the consumers start: give the alert engine the heart rates it handled before
        a restart (up to its cursor; what lies after it, the consumer handles next)."""
        assert self.alerts is not None
        engine = self.alerts.engine
        since = datetime.now(UTC) - timedelta(seconds=engine.heart_rate_memory_s() + 60)
        try:
            handled = self.consumers.runners[AlertConsumer.name].position
            messages = self.commit_log.messages_between(since, handled, metric="heart_rate")
        except Exception:  # a log that cannot answer now must not stop the gateway starting
            log.exception("could not read recent heart rates; sustained windows start empty")
            return
        replayed = engine.resume_heart_rate(messages)
        if replayed:
            log.info("heart-rate alerts resumed from %d committed readings", replayed)

    def stop(self) -> None:
        self.retention.stop()
        if self.worker is not None:
            self.worker.stop()  # its session stays subscribed, for a live worker to empty
        self.ingest.stop()
        if self.worker is not None:
            self.worker.leave()
        self.consumers.stop()
        if self.board_news is not None:
            self.board_news.stop()
        self.competitions.hub.close()
        if self.alerts is not None:
            self.alerts.stop()
        self.store.close()
        self.commit_log.close()
        self.db.close()
