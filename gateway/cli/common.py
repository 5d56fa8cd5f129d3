"""Options shared by gateway subcommands (broker connection, logging, start-up errors)."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError

from campusedge.credentials import CredentialsError, check_tls_files, load_credentials
from campusedge.settings import MqttSettings
from campusedge.words import error_line
from gateway.alerts.delivery.redact import quiet_http_client_logs
from gateway.cli.language import translator
from gateway.i18n import N_
from gateway.service import GatewayStartError

S = TypeVar("S", bound=BaseSettings)

MQTT_OPTIONS = {k: f"--mqtt-{k}" for k in ("host", "port", "username", "password")}


def add_mqtt_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("MQTT broker (defaults from CAMPUSEDGE_MQTT_* variables)")
    g.add_argument("--mqtt-host")
    g.add_argument("--mqtt-port", type=int)
    g.add_argument("--mqtt-username")
    g.add_argument("--mqtt-password", help="prefer CAMPUSEDGE_MQTT_PASSWORD: argv is visible")
    g.add_argument(
        "--mqtt-credentials",
        type=Path,
        help="this worker's credentials file from `campusedge provision gateway` "
        "(login and TLS files; the options above override it)",
    )


def mqtt_from_args(args: argparse.Namespace) -> MqttSettings:
    overrides: dict[str, object] = {}
    credentials = getattr(args, "mqtt_credentials", None)
    try:
        if credentials is not None:
            overrides.update(load_credentials(credentials))
        overrides.update(
            {
                k: getattr(args, f"mqtt_{k}")
                for k in ("host", "port", "username", "password")
                if getattr(args, f"mqtt_{k}", None) is not None
            }
        )
        settings = load_settings(MqttSettings, MQTT_OPTIONS, **overrides)
        check_tls_files(settings)
    except CredentialsError as exc:
        raise GatewayStartError(exc) from None
    return settings


def load_settings(cls: type[S], options: Mapping[str, str], **values: Any) -> S:
    """Settings from *values* and the environment; a bad value raises GatewayStartError that
    names the command-line option (*options*: field -> option) or the environment variable."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    try:
        return cls(**values)
    except SettingsError as exc:
        # A complex field (JSON in the variable) that does not parse; only the message says which.
        found = re.search(r'field "(\w+)"', str(exc))
        if found is None:
            raise GatewayStartError(
                N_("a {prefix}* variable: not valid JSON ({error})"),
                prefix=prefix.upper(),
                error=exc.__cause__ or exc,
            ) from None
        raise GatewayStartError(
            N_("{where}: not valid JSON ({error})"),
            where=f"{prefix}{found.group(1)}".upper(),
            error=exc.__cause__ or exc,
        ) from None
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            # Not given on the command line: from the environment (or missing altogether).
            where = options.get(field, field) if field in values else f"{prefix}{field}".upper()
            value = error.get("input")
            shown = f"={value!r}" if isinstance(value, str | int | float) else ""
            problems.append(f"{where}{shown}: {error['msg']}")
        raise GatewayStartError("; ".join(problems)) from None


def start_failed(prog: str, exc: GatewayStartError) -> int:
    """Report a start-up problem as one line on stderr.

    Exit status 2 for a configuration error (the unit does not restart on it: it would fail
    the same way), 1 for a transient one (a store not reachable yet), which systemd retries.
    """
    # One line: a YAML parser's caret diagram is folded rather than spread over the log.
    print(error_line(prog, " ".join(exc.words(translator()).split())), file=sys.stderr)
    return 1 if exc.transient else 2


def setup_logging(verbose: bool = False) -> None:
    level = os.environ.get("CAMPUSEDGE_LOG_LEVEL", "DEBUG" if verbose else "INFO")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Even with --verbose: httpx logs each request's full URL, and webhook URLs are secrets.
    quiet_http_client_logs()
