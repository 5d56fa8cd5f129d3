"""`campusedge provision push-token`: mint, rotate, revoke, list; only hashes are stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from campusedge.cli import main
from gateway.push.tokens import PushTokens
from gateway.state import StateDB
from gateway.tables.push import push_tokens


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def test_push_token_lifecycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--state-db", str(tmp_path / "state.db")]
    device = ["--school", "sch1", "--device", "tg-7"]
    mint = ["provision", "push-token", "mint", *db, *device]
    assert main([*mint, "--mapping", "no_such_mapping"]) == 2
    assert "no push mapping 'no_such_mapping'" in capsys.readouterr().err
    assert main([*mint, "--mapping", "vendor_gate_cloud"]) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith("cepush_")
    tokens = PushTokens(StateDB(tmp_path / "state.db"))
    found = tokens.verify(first)
    assert found is not None and (found.school, found.device_id) == ("sch1", "tg-7")
    assert found.mapping == "vendor_gate_cloud"
    stored = tokens.db.query(push_tokens.select())
    assert first not in str([dict(r) for r in stored])  # a hash only
    assert main([*mint, "--mapping", "vendor_gate_cloud"]) == 2
    assert "has a push token already" in capsys.readouterr().err
    assert main(["provision", "push-token", "rotate", *db, *device]) == 0
    second = capsys.readouterr().out.strip()
    assert tokens.verify(first) is None and tokens.verify(second) is not None
    assert main(["provision", "push-token", "list", *db]) == 0
    assert "sch1 tg-7 mapping=vendor_gate_cloud" in capsys.readouterr().out
    assert main(["provision", "push-token", "revoke", *db, *device]) == 0
    assert tokens.verify(second) is None
    assert main(["provision", "push-token", "revoke", *db, *device]) == 2
    assert "has no push token" in capsys.readouterr().err


def test_a_mapping_of_the_gateways_own_folder_can_be_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "acme_band.yaml").write_text(
        "kind: hr_band\nseq:\n  derive: body\nreadings:\n"
        "  - pointer: /hr\n    metric: heart_rate\n    unit: bpm\n"
    )
    args = ["provision", "push-token", "mint", "--state-db", str(tmp_path / "s.db")]
    args += ["--school", "sch1", "--device", "hr-7", "--mapping", "acme_band"]
    assert main(args) == 2
    capsys.readouterr()
    assert main([*args, "--mappings-dir", str(folder)]) == 0
    assert capsys.readouterr().out.startswith("cepush_")
