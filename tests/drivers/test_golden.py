"""Every golden folder decodes to its expected readings or fails with its expected error."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.base import DecodeError
from drivers.registry import registry
from tests.drivers.golden import Case, as_plain, load_cases

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden(case: Case) -> None:
    driver = registry().drivers[case.driver]
    cfg = driver.Config.model_validate(case.config)
    if case.error is not None:
        with pytest.raises(DecodeError) as info:
            driver.decode(case.data, cfg)
        assert case.error in str(info.value)
        return
    framer = driver.framer(cfg)
    got: list[dict[str, Any]] = []
    for frame in framer.feed(case.data):
        # A line the framer passes whole but the decoder rejects is what the agent counts.
        try:
            got += [as_plain(d) for d in driver.decode(frame, cfg)]
        except DecodeError:
            got.append({"decode_error": True})
    assert got == case.expected


def test_every_driver_has_golden_data_with_errors() -> None:
    for name in registry().drivers:
        cases = load_cases(name)
        assert any(c.expected for c in cases), f"{name} has no decoding case"
        assert any(c.error for c in cases), f"{name} has no error case"
