"""`campusedge gateway district-broker`: configs for the district topologies (docs/workers.md).

`bridge` writes a school Mosquitto's bridge to the district broker; `emqx` writes an EMQX
cluster fragment and its authorization file for the gateway workers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from campusedge.topics import TopicError
from campusedge.words import error_line
from gateway.fleet.district_broker import BridgeTarget, bridge_conf, emqx_acl, emqx_conf

PROG = "campusedge gateway district-broker"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="TOPOLOGY")
    bridge = kinds.add_parser("bridge", help="a school broker's bridge to the district broker")
    bridge.add_argument("--school", required=True)
    bridge.add_argument("--host", required=True, help="the district broker's host")
    bridge.add_argument("--port", type=int, default=8883)
    bridge.add_argument("--username", help="the bridge's login at the district broker")
    bridge.add_argument("--password-file", type=Path, help="a file holding its password")
    bridge.add_argument("--cafile", type=Path, help="CA of the district broker (TLS)")
    bridge.add_argument("--certfile", type=Path, help="the bridge's client certificate")
    bridge.add_argument("--keyfile", type=Path, help="its key")
    bridge.add_argument("--out", type=Path, required=True, help="the .conf file to write")
    emqx = kinds.add_parser("emqx", help="an EMQX district cluster and its authorization")
    emqx.add_argument("--node", action="append", required=True, help="name@host (repeat)")
    emqx.add_argument("--cookie-file", type=Path, help="a file holding the cluster cookie")
    emqx.add_argument("--worker-user", action="append", default=[], help="a worker's login")
    emqx.add_argument("--school", action="append", default=[], help="a school (repeat)")
    emqx.add_argument("--out", type=Path, required=True, help="folder to write into")


def run(args: argparse.Namespace) -> int:
    try:
        if args.kind == "bridge":
            target = BridgeTarget(
                args.host,
                args.port,
                args.username,
                args.password_file,
                args.cafile,
                args.certfile,
                args.keyfile,
            )
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(bridge_conf(args.school, target))
            print(args.out)
            return 0
        args.out.mkdir(parents=True, exist_ok=True)
        conf, acl = args.out / "emqx.conf", args.out / "campusedge_acl.conf"
        conf.write_text(emqx_conf(args.node, args.cookie_file))
        acl.write_text(emqx_acl(args.school, args.worker_user))
        print(conf)
        print(acl)
        return 0
    except (TopicError, ValueError, OSError) as exc:
        print(error_line(f"{PROG} {args.kind}", exc), file=sys.stderr)
        return 2
