"""Per-school alert configuration (YAML, pydantic-validated) and the district's warning levels.

Every default below is documented with its source in docs/alerts.md; the figures from published
sources are copied here with that source noted, the rest are the project's own choices.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import time
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from campusedge.words import Shown
from gateway.alerts.model import Rule, Severity
from gateway.i18n import N_


class AlertConfigError(Shown, ValueError):
    """An alert config file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Site = Literal["forehead", "wrist"]


def _site_thresholds() -> dict[Site, float]:
    return {"forehead": 37.3, "wrist": 37.3}


class FeverConfig(_Strict):
    # 37.3 °C: axillary fever threshold of school morning/noon checks (晨午检), and the flag
    # point for infrared forehead and wrist screening (reference: temperature_screening).
    threshold_c: dict[Site, float] = Field(default_factory=_site_thresholds)
    # A site the gate did not name is screened with the forehead threshold.
    default_site: Site = "forehead"
    # Repeat readings of one student within this many minutes fold into one alert: an
    # infrared flag is rechecked after about 30 minutes of rest (reference: forehead_infrared).
    fold_minutes: float = Field(default=30, ge=0)
    # Contact (axillary) recheck that confirms a suspected fever (reference: >= 37.3 °C).
    recheck_threshold_c: float = Field(default=37.3, ge=35, le=42)
    severity: Severity = Severity.WARNING


class HeartRateConfig(_Strict):
    # Project choice (no published school thresholds exist): 90 % of the Tanaka maximum
    # (208 − 0.7 × age) held for 60 s is beyond the 140–160 bpm a PE lesson aims for. It is
    # effort, not danger: a warning for the teacher, and not raised while the student is in
    # a test (their own rope counting, or a fitness-test lesson) or recovering from one.
    high_share_of_max: float = Field(default=0.90, gt=0.5, le=1.2)
    high_sustain_s: float = Field(default=60, ge=0)
    # Project choice: after the student's rope stops counting, a high rate is expected for
    # this long (recovery from a maximal minute takes one to three minutes).
    exertion_recovery_s: float = Field(default=120, ge=0)
    # Project choice: above any maximum expected of a school child (the Tanaka prediction is
    # 203 bpm at 7 years, with a spread of about 10 bpm, so a healthy 9-year-old's maximal
    # minute may touch 215), held for 20 s, is a rhythm problem or a child in trouble, at
    # rest or in a test: critical.
    extreme_bpm: float = Field(default=220, ge=150, le=300)
    extreme_sustain_s: float = Field(default=20, ge=0)
    # Project choice: below 45 bpm for 20 s is implausible for a child in a PE lesson —
    # a band that slipped or a child in trouble; either way someone should look.
    low_bpm: float = Field(default=45, ge=0, le=120)
    low_sustain_s: float = Field(default=20, ge=0)
    # Project choice: a bound band silent for 60 s while its lesson runs.
    signal_lost_s: float = Field(default=60, ge=5)


class VisionConfig(_Strict):
    # 视力不良: uncorrected acuity < 5.0 on the 5-point scale; grades 4.9 mild, 4.6–4.8
    # moderate, <= 4.5 severe (2019 myopia-prevention guideline, reference: vision).
    poor_below: float = 5.0
    mild_at_least: float = 4.9
    moderate_at_least: float = 4.6
    # Screening myopia: acuity < 5.0 and spherical equivalent < −0.50 D (2019 guideline).
    myopia_se_below_d: float = -0.50
    # Project choice: a drop of two lines (0.2 on the 5-point scale) since the last screening,
    # beyond the one-line test-retest variation of a chart.
    drop_at_least: float = Field(default=0.2, gt=0)
    min_age_years: int = Field(default=6, ge=0)


class DeviceConfig(_Strict):
    # Project choices for fleet health.
    battery_low_pct: float = Field(default=20, ge=0, le=100)
    clock_drift_s: float = Field(default=2.0, gt=0)
    # Minutes of silence during school hours after which a device counts as offline; kinds
    # not listed (a screener idle between screening days) are never judged by silence.
    silence_minutes: dict[str, float] = Field(
        default_factory=lambda: {"temp_gate": 15.0, "edge": 5.0}
    )
    school_days: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], description="ISO weekdays, 1 = Monday"
    )
    school_start: time = time(7, 0)
    school_end: time = time(18, 0)


class LifecycleConfig(_Strict):
    # Project choices: re-notify an unacknowledged alert every 10 minutes, escalate after 15.
    renotify_minutes: float = Field(default=10, gt=0)
    escalate_minutes: float = Field(default=15, gt=0)
    # New alerts of one rule within this window after a notification are sent as one group.
    group_interval_s: float = Field(default=60, ge=0)


class WebhookFormat(StrEnum):
    GENERIC = "generic"
    WECOM = "wecom"
    DINGTALK = "dingtalk"


class WebhookTarget(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    url: str = Field(pattern=r"^https?://")
    format: WebhookFormat = WebhookFormat.GENERIC
    # DingTalk robots with "加签" security sign each request with this secret.
    secret: str | None = None
    min_severity: Severity = Severity.WARNING
    rules: list[Rule] | None = Field(default=None, description="only these rules; all if unset")
    # Escalation-only targets (a duty phone group) receive a notification only on escalation.
    escalation_only: bool = False


class RetryConfig(_Strict):
    max_attempts: int = Field(default=6, ge=1, le=50)
    first_delay_s: float = Field(default=0.5, gt=0)
    max_delay_s: float = Field(default=60, gt=0)
    timeout_s: float = Field(default=5, gt=0)


class DeliveryConfig(_Strict):
    webhooks: list[WebhookTarget] = Field(default_factory=list)
    mqtt: bool = True
    retry: RetryConfig = Field(default_factory=RetryConfig)


class SchoolAlertConfig(_Strict):
    """Alert rules of one school."""

    school: str | None = Field(default=None, description="school id; None for the default")
    timezone: str = "Asia/Shanghai"
    fever: FeverConfig = Field(default_factory=FeverConfig)
    heart_rate: HeartRateConfig = Field(default_factory=HeartRateConfig)
    vision: VisionConfig = Field(default_factory=VisionConfig)
    devices: DeviceConfig = Field(default_factory=DeviceConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r} (use an IANA name like Asia/Shanghai)"
            ) from None
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class CaseWindow(_Strict):
    """A level reached when cases over several consecutive days add up (a slow cluster)."""

    days: int = Field(ge=2, le=14, description="days ending on the day evaluated")
    cases: int = Field(ge=1, description="distinct students with a case in those days")
    level: Literal["yellow", "orange", "red"]


class LevelThresholds(_Strict):
    """Case counts at which a level starts; a count below `yellow` is green."""

    yellow: int = Field(ge=1)
    orange: int = Field(ge=1)
    red: int = Field(ge=1)
    window: CaseWindow | None = None

    def model_post_init(self, context: Any) -> None:
        if not self.yellow <= self.orange <= self.red:
            raise ValueError("thresholds must rise: yellow <= orange <= red")


class WarningLevelConfig(_Strict):
    """School warning levels from daily case counts; the file belongs to the health authority."""

    owner: str = Field(description="the authority that sets these thresholds")
    version: str
    # A case is a student with a fever alert that was not cleared, or an absence for illness,
    # on that day; a student counts once a day.
    per_class: LevelThresholds
    per_school: LevelThresholds
    # The district's choice: whether a fever screen (an infrared gate) counts as a case before
    # a contact-thermometer recheck confirms it. Either way the unconfirmed screens are counted
    # and shown beside the cases.
    count_unconfirmed_screens: bool = False


def _format_errors(exc: ValidationError, where: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{where}: {loc}: {err['msg']}")
    return "\n".join(lines)


def _read_yaml(text: str, where: str) -> Any:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AlertConfigError(
            N_("{where}: not valid YAML: {reason}"), where=where, reason=exc
        ) from None
    return {} if data is None else data


def parse_school_config(text: str, where: str = "<alerts config>") -> SchoolAlertConfig:
    try:
        return SchoolAlertConfig.model_validate(_read_yaml(text, where))
    except ValidationError as exc:
        raise AlertConfigError(_format_errors(exc, where)) from None


def parse_warning_levels(text: str, where: str = "<warning levels>") -> WarningLevelConfig:
    try:
        return WarningLevelConfig.model_validate(_read_yaml(text, where))
    except ValidationError as exc:
        raise AlertConfigError(_format_errors(exc, where)) from None


def packaged_text(name: str) -> str:
    return resources.files("gateway.alerts").joinpath(name).read_text(encoding="utf-8")


DISTRICTS_DIR = "districts"
WARNING_LEVELS_SUFFIX = ".warning_levels.yaml"


class AlertConfigs:
    """Configs by school. Which applies, first found (docs/district.md):

    1. the school's own `<dir>/<school>.yaml`;
    2. its district's `<dir>/districts/<district>.yaml` (*district_of* says a school's district);
    3. the packaged defaults.

    Warning levels: the district's `<dir>/districts/<district>.warning_levels.yaml`, else the
    deployment's (`warning_levels_file`, else `<dir>/warning_levels.yaml`), else the packaged.
    All files are validated when the gateway starts (a broken file stops start-up with a clear
    error rather than leaving a school half-configured).
    """

    def __init__(
        self,
        directory: Path | None = None,
        warning_levels_file: Path | None = None,
        overrides: dict[str, SchoolAlertConfig] | None = None,
        district_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.directory = directory
        self.district_of = district_of or (lambda school: None)
        self._districts: dict[str, SchoolAlertConfig] = {}
        self._district_levels: dict[str, WarningLevelConfig] = {}
        self.default = parse_school_config(
            packaged_text("defaults.yaml"), "gateway/alerts/defaults.yaml"
        )
        self._schools: dict[str, SchoolAlertConfig] = dict(overrides or {})
        self._lock = threading.Lock()
        if directory is not None:
            if not directory.is_dir():
                raise AlertConfigError(
                    N_("alert config directory {directory} does not exist"), directory=directory
                )
            for path in sorted(directory.glob("*.yaml")):
                if path.name == "warning_levels.yaml":
                    continue
                cfg = parse_school_config(path.read_text(encoding="utf-8"), str(path))
                school = cfg.school or path.stem
                if cfg.school is not None and cfg.school != path.stem:
                    raise AlertConfigError(
                        N_(
                            "{path}: school: {school!r} does not match the file name "
                            "(expected {expected!r})"
                        ),
                        path=path,
                        school=cfg.school,
                        expected=path.stem,
                    )
                self._schools[school] = cfg.model_copy(update={"school": school})
            self._read_districts(directory / DISTRICTS_DIR)
        if (
            warning_levels_file is None
            and directory is not None
            and (directory / "warning_levels.yaml").exists()
        ):
            warning_levels_file = directory / "warning_levels.yaml"
        if warning_levels_file is not None:
            try:
                text = warning_levels_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise AlertConfigError(
                    N_("{path}: cannot read the district's warning levels: {reason}"),
                    path=warning_levels_file,
                    reason=exc,
                ) from None
            self.warning_levels = parse_warning_levels(text, str(warning_levels_file))
        else:
            self.warning_levels = parse_warning_levels(
                packaged_text("district_warning_levels.yaml"),
                "gateway/alerts/district_warning_levels.yaml",
            )

    def _read_districts(self, folder: Path) -> None:
        if not folder.is_dir():
            return
        for path in sorted(folder.glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            if path.name.endswith(WARNING_LEVELS_SUFFIX):
                district = path.name[: -len(WARNING_LEVELS_SUFFIX)]
                self._district_levels[district] = parse_warning_levels(text, str(path))
                continue
            cfg = parse_school_config(text, str(path))
            if cfg.school is not None:
                # One file for every school of the district: a school line would say otherwise.
                raise AlertConfigError(
                    N_(
                        "{path}: school: a district's file applies to all its schools; remove "
                        "`school:` or move the file to {moved}"
                    ),
                    path=path,
                    moved=path.parent.parent / (cfg.school + ".yaml"),
                )
            self._districts[path.stem] = cfg

    def configured(self, school: str) -> bool:
        """Whether *school* has a config of its own (a file in the alerts folder)."""
        with self._lock:
            return school in self._schools

    def for_school(self, school: str) -> SchoolAlertConfig:
        """The school's own config, else its district's, else the packaged defaults."""
        with self._lock:
            own = self._schools.get(school)
        if own is not None:
            return own
        if self._districts:
            district = self.district_of(school)
            if district is not None and district in self._districts:
                return self._districts[district]
        return self.default

    def source(self, school: str) -> str:
        """Where *school*'s config comes from: "school", "district <id>" or "defaults"."""
        if self.configured(school):
            return "school"
        district = self.district_of(school)
        if district is not None and district in self._districts:
            return f"district {district}"
        return "defaults"

    def warning_levels_for(self, school: str) -> WarningLevelConfig:
        """The warning-level thresholds of *school*'s district, else the deployment's."""
        if self._district_levels:
            district = self.district_of(school)
            if district is not None and district in self._district_levels:
                return self._district_levels[district]
        return self.warning_levels

    def set(self, school: str, config: SchoolAlertConfig) -> None:
        with self._lock:
            self._schools[school] = config

    def all(self) -> list[SchoolAlertConfig]:
        with self._lock:
            return [self.default, *self._schools.values()]
