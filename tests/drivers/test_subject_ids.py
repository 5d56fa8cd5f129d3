"""Subject ids as the devices send them."""

from __future__ import annotations

from drivers.subject_ids import as_sent


def test_gate_and_screener_ids_in_capitals_others_unchanged() -> None:
    assert as_sent("c-00a1b2c3") == "C-00A1B2C3"
    assert as_sent("f-deadbeef01") == "F-DEADBEEF01"
    assert as_sent("s-0000a001") == "S-0000A001"
    assert as_sent("C-00A1B2C3") == "C-00A1B2C3"
    # Not a device's shape: kept as written (another system's card, a short hex, a name).
    for other in ("card-n1", "c-00a1", "x-00a1b2c3", "2014003", "s-0000a00g"):
        assert as_sent(other) == other
