"""The sample competition every competition test starts from."""

from __future__ import annotations

from pathlib import Path

from gateway.competition.config import CompetitionConfig, load

SAMPLE = Path(__file__).parent / "district_cup.yaml"


def sample() -> CompetitionConfig:
    return load(SAMPLE.read_text("utf-8"), SAMPLE.name)
