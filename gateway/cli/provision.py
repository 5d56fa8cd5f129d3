"""`campusedge provision`: enrol boxes and workers, write broker files, issue push tokens."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from campusedge.topics import TopicError
from campusedge.words import error_line, error_text
from gateway.cli.language import gettext as _
from gateway.cli.user import DEFAULT_STATE_DB
from gateway.fleet.broker_files import BrokerOptions, ReloadError, write_broker
from gateway.fleet.ca import CAError, CampusCA
from gateway.fleet.provisioning import client_files, default_ca_dir, refresh_broker
from gateway.fleet.registry import (
    FleetError,
    FleetRegistry,
    Issued,
    box_username,
    gateway_username,
)
from gateway.i18n import N_
from gateway.push.mapping import MappingFileError, load_mappings, packaged_dir
from gateway.push.tokens import PushTokenError, PushTokens
from gateway.state import StateDB, StateDBError

PROG = "campusedge provision"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state-db",
        type=Path,
        help=_(
            "the gateway's state database (default: $CAMPUSEDGE_STATE_DB, else {default})"
        ).format(default=DEFAULT_STATE_DB),
    )
    common.add_argument(
        "--ca-dir",
        type=Path,
        help=_(
            "campus CA folder with ca.crt and ca.key (default: ca/ beside the state "
            "database; made on first use)"
        ),
    )
    client = argparse.ArgumentParser(add_help=False)
    client.add_argument("--out", type=Path, required=True, help=_("folder for the credentials"))
    client.add_argument("--broker-host", help=_("broker host written into the credentials"))
    client.add_argument("--broker-port", type=int, help=_("broker port (the TLS port)"))
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    box = actions.add_parser(
        "box", parents=[common, client], help=_("enrol an edge box and write its credentials")
    )
    box.add_argument("--school", required=True)
    box.add_argument("--box", required=True, help=_("the box's edge id"))
    box.add_argument(
        "--device", action="append", default=[], help=_("a device id the box publishes for")
    )
    gw = actions.add_parser(
        "gateway", parents=[common, client], help=_("enrol a gateway worker, write credentials")
    )
    gw.add_argument("--worker", required=True)
    broker = actions.add_parser(
        "broker", parents=[common], help=_("write mosquitto.conf, passwords, ACL and TLS files")
    )
    broker.add_argument("--out", type=Path, required=True)
    broker.add_argument("--port", type=int, default=1883, help=_("plain MQTT on 127.0.0.1"))
    broker.add_argument("--tls-port", type=int, default=8883)
    broker.add_argument("--tls-bind", default="0.0.0.0", help=_("address of the TLS listener"))
    broker.add_argument(
        "--server-name",
        action="append",
        help=_(
            "a host name or address clients use for the broker (default: localhost, "
            "127.0.0.1 and this host's name)"
        ),
    )
    for name, text in (
        ("revoke", "take an identity's login away (reloads the running broker)"),
        ("rotate", "a new secret for an identity; the old one stops working"),
    ):
        act = actions.add_parser(
            name, parents=[common] + ([client] if name == "rotate" else []), help=text
        )
        who = act.add_mutually_exclusive_group(required=True)
        who.add_argument("--box", help=_("edge id (with --school)"))
        who.add_argument("--worker", help=_("gateway worker"))
        act.add_argument("--school")
        act.add_argument(
            "--broker-dir",
            type=Path,
            help=_("broker folder (default: the last `provision broker`)"),
        )
    actions.add_parser("list", parents=[common], help=_("list enrolled identities"))
    push = actions.add_parser(
        "push-token",
        help=_("the token a device or vendor cloud posts readings with (POST /api/ingest)"),
    )
    steps = push.add_subparsers(dest="step", required=True, metavar="STEP")
    for name, text in (
        ("mint", "a first token for a device, read with a payload mapping; printed once"),
        ("rotate", "a new token for the device; the old one stops working at once"),
        ("revoke", "take the device's token away"),
    ):
        step = steps.add_parser(name, parents=[common], help=text)
        step.add_argument("--school", required=True)
        step.add_argument("--device", required=True)
        if name == "mint":
            step.add_argument(
                "--mapping",
                required=True,
                help=_("the payload mapping's name (its file name without .yaml)"),
            )
            step.add_argument(
                "--mappings-dir",
                type=Path,
                help=_(
                    "the gateway's folder of mappings (default: "
                    "$CAMPUSEDGE_PUSH_MAPPINGS_DIR), beside the packaged examples"
                ),
            )
    steps.add_parser("list", parents=[common], help=_("list the devices that have a push token"))


def say(text: str) -> None:
    print(text, file=sys.stderr)


def _state_db_path(given: Path | None) -> Path:
    return (given or Path(os.environ.get("CAMPUSEDGE_STATE_DB") or DEFAULT_STATE_DB)).absolute()


def _ca(args: argparse.Namespace, state_db: Path) -> CampusCA:
    return CampusCA.open(args.ca_dir or default_ca_dir(str(state_db)))


def _write_credentials(args: argparse.Namespace, issued: Issued, ca: CampusCA) -> Path:
    files = client_files(issued, ca, args.broker_host, args.broker_port)
    out: Path = args.out
    return files.write(out)


def _refresh_broker(registry: FleetRegistry, given: Path | None) -> None:
    """Rewrite the broker's password and ACL files and make a running broker reread them."""
    done = refresh_broker(registry, given)
    if done.folder is None:
        say(
            _("{prog}: no broker folder yet; `{prog} broker --out DIR` writes one").format(
                prog=PROG
            )
        )
        return
    if done.pid:
        say(
            _("{prog}: {folder}: passwords and ACL rewritten; broker {pid} reloaded").format(
                prog=PROG, folder=done.folder, pid=done.pid
            )
        )
    else:
        say(
            _("{prog}: {folder}: passwords and ACL rewritten; no broker running there").format(
                prog=PROG, folder=done.folder
            )
        )


def _username(args: argparse.Namespace) -> str:
    if args.box is not None:
        if args.school is None:
            raise FleetError(N_("--box needs --school"))
        return box_username(args.school, args.box)
    return gateway_username(args.worker)


def _push_token(args: argparse.Namespace, state_db: Path) -> int:
    """`provision push-token STEP`: mint, rotate, revoke or list push tokens."""
    if args.step != "mint" and not state_db.exists():
        say(
            _("{prog}: no state database at {path}: name it with --state-db").format(
                prog=PROG, path=state_db
            )
        )
        return 2
    state_db.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = StateDB(state_db)
        try:
            tokens = PushTokens(db)
            if args.step == "list":
                for d in tokens.all():
                    print(f"{d.school} {d.device_id} mapping={d.mapping} since={d.created_at}")
                return 0
            if args.step == "revoke":
                tokens.revoke(args.school, args.device)
                say(
                    _("{prog}: the push token of {device} ({school}) is revoked").format(
                        prog=PROG, device=args.device, school=args.school
                    )
                )
                return 0
            if args.step == "mint":
                extra = args.mappings_dir or os.environ.get("CAMPUSEDGE_PUSH_MAPPINGS_DIR")
                known = load_mappings(packaged_dir(), *([Path(extra)] if extra else []))
                if args.mapping not in known:
                    say(
                        _(
                            "{prog}: no push mapping {mapping!r}; there are: {known} "
                            "(add yours with --mappings-dir)"
                        ).format(prog=PROG, mapping=args.mapping, known=", ".join(sorted(known)))
                    )
                    return 2
                token = tokens.mint(args.school, args.device, args.mapping)
            else:
                token = tokens.rotate(args.school, args.device)
        finally:
            db.close()
    except (PushTokenError, TopicError, MappingFileError, StateDBError) as exc:
        say(error_line(PROG, error_text(exc)))
        return 2
    # The token itself alone on stdout (for a script); it is shown this once, never stored.
    print(token)
    say(
        _("{prog}: the device posts with 'Authorization: Bearer <token>'; keep it secret").format(
            prog=PROG
        )
    )
    return 0


def run(args: argparse.Namespace) -> int:
    state_db = _state_db_path(args.state_db)
    if args.action == "push-token":
        return _push_token(args, state_db)
    if args.action in {"box", "gateway", "broker"}:
        state_db.parent.mkdir(parents=True, exist_ok=True)
    elif not state_db.exists():
        # A typo must not start an empty registry that the gateway never reads.
        say(
            _("{prog}: no state database at {path}: name it with --state-db").format(
                prog=PROG, path=state_db
            )
        )
        return 2
    try:
        registry = FleetRegistry(StateDB(state_db))
        if args.action == "list":
            for ident in registry.active():
                devices = f" devices={','.join(ident.devices)}" if ident.devices else ""
                print(f"{ident.username} {ident.role.value}{devices}")
            return 0
        if args.action == "broker":
            options = BrokerOptions(
                port=args.port,
                tls_port=args.tls_port,
                tls_bind=args.tls_bind,
                server_names=tuple(
                    args.server_name or ["localhost", "127.0.0.1", socket.gethostname()]
                ),
            )
            conf = write_broker(args.out, registry.active(), _ca(args, state_db), options)
            registry.set_broker_dir(str(conf.parent))
            print(conf)
            return 0
        if args.action == "revoke":
            registry.revoke(_username(args))
            _refresh_broker(registry, args.broker_dir)
            return 0
        ca = _ca(args, state_db)
        if args.action == "box":
            issued = registry.enrol_box(args.school, args.box, args.device)
        elif args.action == "gateway":
            issued = registry.enrol_gateway(args.worker)
        else:
            issued = registry.rotate(_username(args))
        print(_write_credentials(args, issued, ca))
        _refresh_broker(registry, getattr(args, "broker_dir", None))
        return 0
    except (FleetError, TopicError, CAError, ReloadError, StateDBError) as exc:
        say(error_line(PROG, error_text(exc)))
        return 2
