"""Hypothesis fuzzing: decoders and framers raise only DecodeError, codecs round-trip."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from drivers import hr_band, jump_rope, temp_gate, vision_screener
from drivers.base import DecodeError
from drivers.crc import crc16_ccitt
from drivers.registry import registry

DRIVERS = registry().drivers  # the built-in ones and the installed plug-ins

FAST = settings(max_examples=300, deadline=None)


def test_crc_check_value() -> None:
    # The published check value of CRC-16/CCITT-FALSE.
    assert crc16_ccitt(b"123456789") == 0x29B1


@FAST
@given(name=st.sampled_from(sorted(DRIVERS)), data=st.binary(max_size=300))
def test_decode_random_bytes_raises_only_decode_error(name: str, data: bytes) -> None:
    driver = DRIVERS[name]
    with contextlib.suppress(DecodeError):
        driver.decode(data, driver.Config())


@FAST
@given(name=st.sampled_from(sorted(DRIVERS)), chunks=st.lists(st.binary(max_size=80), max_size=20))
def test_framer_and_decoder_survive_any_stream(name: str, chunks: list[bytes]) -> None:
    driver = DRIVERS[name]
    cfg = driver.Config()
    framer = driver.framer(cfg)
    for chunk in chunks:
        for frame in framer.feed(chunk):
            with contextlib.suppress(DecodeError):
                driver.decode(frame, cfg)


measurements = st.builds(
    hr_band.Measurement,
    heart_rate=st.integers(0, 300),
    contact_supported=st.just(True),
    contact_detected=st.just(True),
    energy_kj=st.none() | st.integers(0, 0xFFFF),
    rr_1024=st.lists(st.integers(0, 0xFFFF), max_size=8),
    hr_uint16=st.booleans(),
)


@FAST
@given(m=measurements)
def test_hr_band_round_trip(m: hr_band.Measurement) -> None:
    got = hr_band.parse(hr_band.encode(m))
    assert (got.heart_rate, got.energy_kj, got.rr_1024) == (m.heart_rate, m.energy_kj, m.rr_1024)
    frame = hr_band.encode(m)
    for cut in range(1, len(frame)):
        with contextlib.suppress(DecodeError):
            hr_band.parse(frame[:cut])


realtimes = st.builds(
    jump_rope.Realtime,
    rope=st.integers(0, 0xFFFE),
    packet=st.integers(0, 255),
    base_ms=st.integers(0, 2**32 - 1),
    status=st.sampled_from(list(jump_rope.Status)),
    mode=st.sampled_from(list(jump_rope.Mode)),
    set_value=st.integers(0, 0xFFFF),
    elapsed_s=st.integers(0, 0xFFFF),
    count=st.integers(0, 0xFFFF),
    battery_pct=st.integers(0, 100),
)


@FAST
@given(rt=realtimes, flip=st.integers(0, 10_000))
def test_rope_frames_round_trip_and_reject_corruption(rt: jump_rope.Realtime, flip: int) -> None:
    frame = rt.encode()
    assert jump_rope.parse(frame) == rt
    bad = bytearray(frame)
    bad[flip % len(frame)] ^= 1 << (flip % 8)
    # CRC-16 catches every single-bit error.
    try:
        jump_rope.parse(bytes(bad))
    except DecodeError:
        return
    raise AssertionError(f"corrupted frame {bytes(bad).hex()} was accepted")


@FAST
@given(garbage=st.binary(max_size=60))
# A start byte whose length spans all three frames used to hold them back until more bytes came.
@example(garbage=b"\xa5>")
def test_rope_framer_resynchronises(garbage: bytes) -> None:
    rt = jump_rope.Realtime(1, 2, 3, 1, 1, 0, 4, 5, 6).encode()
    framer = jump_rope.RopeFramer()
    out = framer.feed(garbage + rt * 3)
    # Garbage can hide at most the first copy (a fake start byte whose length spans into it),
    # never the later ones.
    assert out[-2:] == [rt, rt]


@FAST
@given(
    seq=st.integers(0, 10**9),
    temp=st.floats(30, 43),
    amb=st.floats(-20, 40),
    site=st.sampled_from("FW"),
    decision=st.sampled_from("PD"),
    subject=st.from_regex(r"[CF]-[0-9A-F]{8,32}", fullmatch=True),
    ms=st.integers(0, 10**12),
)
def test_gate_round_trip(
    seq: int, temp: float, amb: float, site: str, decision: str, subject: str, ms: int
) -> None:
    when = datetime.fromtimestamp(1.7e9 + ms / 1000, UTC)
    line = temp_gate.encode(seq, when, subject, site, temp, amb, decision)
    [d] = temp_gate.TempGate().decode(line, temp_gate.Config())
    assert d.event is not None and d.event.attributes["subject_id"] == subject
    assert d.readings == [] and d.frame_id == seq
    assert abs(float(d.event.readings[0].value) - temp) <= 0.051


acuity = st.none() | st.integers(30, 53).map(lambda v: v / 10)
refraction = st.none() | st.builds(
    vision_screener.Refraction,
    sphere=st.integers(-80, 40).map(lambda v: v / 4),
    cylinder=st.integers(-16, 16).map(lambda v: v / 4),
    axis=st.integers(0, 180),
)


@FAST
@given(
    ua=st.tuples(acuity, acuity),
    ca=st.tuples(acuity, acuity),
    ref=st.tuples(refraction, refraction),
    rec_no=st.integers(0, 10**9),
)
def test_screening_round_trip(
    ua: tuple[float | None, float | None],
    ca: tuple[float | None, float | None],
    ref: tuple[vision_screener.Refraction | None, vision_screener.Refraction | None],
    rec_no: int,
) -> None:
    rec = vision_screener.Record(rec_no, "S-00112233", ua, ca, ref)
    line = vision_screener.encode(rec)
    try:
        got = vision_screener.parse(line)
    except DecodeError as exc:
        assert ua == (None, None) and ref == (None, None), exc
        return
    assert got == rec
    for r in ref:
        if r is not None:
            # The spherical equivalent does not change when the cylinder is transposed.
            assert r.minus_cylinder().spherical_equivalent == r.spherical_equivalent


@FAST
@given(noise=st.lists(st.binary(max_size=30), min_size=1, max_size=5))
def test_gate_lines_survive_noise_between_them(noise: list[bytes]) -> None:
    line = temp_gate.encode(
        7, datetime(2026, 9, 1, 7, 0, tzinfo=UTC), "C-0011AABB", "F", 36.5, 15.0, "P"
    )
    driver = temp_gate.TempGate()
    framer = driver.framer(temp_gate.Config())
    stream = b"".join(n + b"\n" + line for n in noise)
    good = 0
    for frame in framer.feed(stream):
        with contextlib.suppress(DecodeError):
            driver.decode(frame, temp_gate.Config())
            good += 1
    # Noise ends with a newline, so every line that follows it is framed and decoded.
    assert good == len(noise)


@FAST
@given(
    rope=st.integers(0, 0xFFFF),
    mode=st.sampled_from(list(jump_rope.Mode)),
    action=st.sampled_from(list(jump_rope.Action)),
    set_value=st.integers(1, 0xFFFF),
    unix_s=st.integers(0, 2**32 - 1),
)
def test_rope_commands_round_trip(
    rope: int, mode: jump_rope.Mode, action: jump_rope.Action, set_value: int, unix_s: int
) -> None:
    value = 0 if mode == jump_rope.Mode.FREE else set_value
    control = jump_rope.parse_command(jump_rope.encode_control(action, mode, value, rope))
    assert control == jump_rope.Control(rope, mode, action, value)
    sync = jump_rope.parse_command(jump_rope.encode_time_sync(unix_s, rope))
    assert sync == jump_rope.TimeSync(rope, unix_s)
