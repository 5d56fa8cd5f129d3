"""`campusedge contract export`: write the wire contract's JSON Schema files (or check them)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from campusedge.contract import (
    EventMessage,
    ReadingMessage,
    Status,
    StoredWatermark,
    event_attributes_schema,
)
from gateway.cli.language import gettext as _

MODELS: dict[str, type[BaseModel]] = {
    "reading.schema.json": ReadingMessage,
    "event.schema.json": EventMessage,
    "status.schema.json": Status,
    "stored.schema.json": StoredWatermark,
}


def schemas() -> dict[str, str]:
    documents = {name: model.model_json_schema() for name, model in MODELS.items()}
    documents["event_attributes.schema.json"] = event_attributes_schema()
    return {
        name: json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, document in documents.items()
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("docs/contract"))
    parser.add_argument(
        "--check", action="store_true", help=_("fail if the files on disk differ from the models")
    )


def run(args: argparse.Namespace) -> int:
    if args.check and not args.out.is_dir():
        print(
            _(
                "{prog}: {path} does not exist (run it from the project folder, or give --out)"
            ).format(prog="campusedge contract export --check", path=args.out),
            file=sys.stderr,
        )
        return 2
    stale = []
    for name, text in schemas().items():
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(_("wrote {path}").format(path=path))
    if stale:
        print(
            _(
                "JSON Schema out of date: {paths}\n"
                "run `campusedge contract export` and commit the result"
            ).format(paths=", ".join(stale)),
            file=sys.stderr,
        )
        return 1
    return 0
