"""Line protocol escaping: fixed vectors, and round trips through a real influxd."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.store.influx import InfluxStore
from gateway.store.line_protocol import (
    LineProtocolError,
    escape_key,
    escape_measurement,
    escape_string,
    format_field,
    point,
)
from tests.services import InfluxProcess

VECTORS = [
    # (measurement, tags, fields, time, expected line)
    ("cpu", {"host": "a"}, {"v": 1.5}, 10, "cpu,host=a v=1.5 10"),
    ("my cpu,x", {}, {"v": 1.0}, None, "my\\ cpu\\,x v=1.0"),
    (
        "m",
        {"tag key": "va l", "k,1": "a,b", "eq=": "x=y"},
        {"f": 1},
        1,
        "m,eq\\==x\\=y,k\\,1=a\\,b,tag\\ key=va\\ l f=1i 1",
    ),
    ("m", {"t": "C:\\dir"}, {"s": 'say "hi" \\o/'}, 2, 'm,t=C:\\dir s="say \\"hi\\" \\\\o/" 2'),
    ("m", {"t": "手环-01"}, {"名字": "温度 36.5°C"}, 3, 'm,t=手环-01 名字="温度 36.5°C" 3'),
    ("m", {"empty": "", "b": "x"}, {"ok": True, "no": False}, 4, "m,b=x ok=true,no=false 4"),
    ("m", {}, {"big": 2**63 - 1, "neg": -(2**63)}, 5, f"m big={2**63 - 1}i,neg={-(2**63)}i 5"),
    ("m", {}, {"f": 1e20, "g": -0.000001, "h": 7.0}, -6, "m f=1e+20,g=-1e-06,h=7.0 -6"),
    ("m", {}, {"s": "two\nlines\r\n"}, 7, 'm s="two\nlines\r\n" 7'),
    ("m", {}, {"s": "", "end": "ends\\"}, 8, 'm s="",end="ends\\\\" 8'),
    ("m", {"t": "a\\\\,b"}, {"f key": 1}, 9, "m,t=a\\\\\\,b f\\ key=1i 9"),
    ("m\\=", {"t\\\\ ": "\\\\="}, {"f": 1}, 9, "m\\=,t\\\\\\ =\\\\\\= f=1i 9"),
    # Quotes are literal everywhere but in string field values; commas, equals signs and
    # spaces in field keys are escaped, and in string field values they are not.
    (
        "m",
        {"t": 'a "q"', 'k"': "v"},
        {"a,b=c": 1.5, "s": "a=b, c"},
        10,
        'm,k"=v,t=a\\ "q" a\\,b\\=c=1.5,s="a=b, c" 10',
    ),
    ('m"', {"t": "x"}, {'f"': '""'}, 11, 'm",t=x f"="\\"\\"" 11'),
]


@pytest.mark.parametrize(("measurement", "tags", "fields", "time_ns", "expected"), VECTORS)
def test_vectors(
    measurement: str,
    tags: dict[str, str],
    fields: dict[str, object],
    time_ns: int | None,
    expected: str,
) -> None:
    assert point(measurement, tags, fields, time_ns) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: escape_measurement(""), "empty"),
        (lambda: escape_measurement("#cpu"), "comment"),
        (lambda: escape_measurement("a\nb"), "line break"),
        (lambda: escape_key("a\rb"), "line break"),
        (lambda: escape_key("ends\\"), "backslash"),
        (lambda: escape_key(""), "empty"),
        (lambda: escape_key("a\\,b"), "backslash right before"),
        (lambda: escape_key("a\\\\\\ b"), "backslash right before"),
        (lambda: escape_key("a\\="), "backslash right before"),
        (lambda: escape_measurement("a\\ b"), "backslash right before"),
        (lambda: point("m", {"time": "x"}, {"f": 1}), "reserved"),
        (lambda: point("m", {}, {"time": 1}), "reserved"),
        (lambda: point("m", {"t": "x\ny"}, {"f": 1}), "tag 't' value"),
        (lambda: point("m", {}, {}), "no fields"),
        (lambda: format_field(float("nan")), "not finite"),
        (lambda: format_field(float("inf")), "not finite"),
        (lambda: format_field(2**63), "int64"),
        (lambda: format_field(None), "not bool, int, float or str"),  # type: ignore[arg-type]
        (lambda: escape_string("x" * (64 * 1024 + 1)), "limit"),
        (lambda: point("m", {}, {"f": 1}, 2**63), "int64"),
    ],
)
def test_what_cannot_be_written_is_refused(call: object, message: str) -> None:
    with pytest.raises(LineProtocolError, match=message):
        call()  # type: ignore[operator]


_measurements = itertools.count()


@pytest.fixture(scope="module")
def raw_influx(influxd: InfluxProcess) -> Iterator[InfluxStore]:
    store = InfluxStore(influxd.url, "line_protocol")
    yield store
    store.close()


def _round_trip(
    store: InfluxStore, tags: dict[str, str], fields: dict[str, object]
) -> tuple[dict[str, str], dict[str, object]]:
    name = f"lp_{next(_measurements)}"
    store.write_lines([point(name, tags, fields, 1_000)])  # type: ignore[arg-type]
    series = store.query(f'SELECT * FROM "{name}"')
    assert len(series) == 1 and len(series[0].values) == 1
    row = dict(zip(series[0].columns, series[0].values[0], strict=True))
    got_tags = {k: row[k] for k in tags if tags[k]}
    got_fields = {k: row[k] for k in fields}
    return got_tags, got_fields


@pytest.mark.influxdb
@pytest.mark.parametrize(("measurement", "tags", "fields", "time_ns", "expected"), VECTORS)
def test_vectors_read_back_from_influxd(
    raw_influx: InfluxStore,
    measurement: str,
    tags: dict[str, str],
    fields: dict[str, object],
    time_ns: int | None,
    expected: str,
) -> None:
    got_tags, got_fields = _round_trip(raw_influx, tags, fields)
    assert got_tags == {k: v for k, v in tags.items() if v}
    # JSON brings integers back as numbers and floats as numbers: compare by value.
    assert got_fields == fields


# Printable text: letters, marks, numbers, punctuation, symbols and spaces of any script.
_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp")),
    min_size=1,
    max_size=40,
)


def _representable(text: str) -> bool:
    try:
        escape_key(text)
    except LineProtocolError:
        return False
    return text != "time"


_tag_text = _text.filter(_representable)


@pytest.mark.influxdb
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tag_key=_tag_text, tag_value=_tag_text, field_key=_tag_text, field_value=_text)
def test_printable_strings_round_trip_through_influxd(
    raw_influx: InfluxStore, tag_key: str, tag_value: str, field_key: str, field_value: str
) -> None:
    if tag_key == field_key:
        field_key += "_f"
    got_tags, got_fields = _round_trip(raw_influx, {tag_key: tag_value}, {field_key: field_value})
    assert got_tags == {tag_key: tag_value}
    assert got_fields == {field_key: field_value}
