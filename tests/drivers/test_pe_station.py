"""Camera source strings of the pe_station driver."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from drivers.pe_station import Config, SourceError, SourceKind, parse_source


@pytest.mark.parametrize(
    ("text", "kind", "index"),
    [
        ("usb:0", SourceKind.USB, 0),
        ("usb:12", SourceKind.USB, 12),
        ("rtsp://192.0.2.10:554/stream1", SourceKind.RTSP, None),
        ("file:/data/lesson.mp4", SourceKind.FILE, None),
        ("/data/lesson.MP4", SourceKind.FILE, None),
    ],
)
def test_sources(text: str, kind: SourceKind, index: int | None) -> None:
    src = parse_source(text)
    assert (src.kind, src.index) == (kind, index)


@pytest.mark.parametrize("text", ["usb:x", "usb:99", "rtsp://", "file:", "camera1", ""])
def test_bad_sources_say_what_is_accepted(text: str) -> None:
    with pytest.raises(SourceError, match="camera source"):
        parse_source(text)


def test_config_rejects_bad_source_and_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        Config(source="webcam")
    with pytest.raises(ValidationError):
        Config.model_validate({"source": "usb:0", "fps": 10})


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_any_source_string_parses_or_says_why(text: str) -> None:
    try:
        src = parse_source(text)
    except SourceError:
        return
    assert src.kind in SourceKind
