"""InfluxDB line protocol: escaping and formatting of one point per line.

Rules, as the InfluxDB 1.x parser (models/points.go) applies them and the line protocol
reference documents them:

- measurement: `,` and space are escaped with a backslash;
- tag keys, tag values and field keys: `,`, `=` and space are escaped with a backslash; a
  backslash itself is *not* an escape there, so it is written as is;
- string field values are double-quoted; inside, `"` and `\\` are escaped with a backslash;
- integers end in `i`, floats are written with a decimal point or exponent, booleans as
  `true`/`false`; the timestamp is integer nanoseconds.

What line protocol cannot carry, we refuse with `LineProtocolError` instead of writing a
point that would read back different:

- a newline or carriage return in a measurement, tag or field key, or tag value (the parser
  ends the line there; there is no escape for it). String field values may hold newlines: the
  parser keeps a quoted string together across them;
- a name or tag value ending in a backslash (it would escape the separator after it);
- an odd run of backslashes right before a character that needs escaping (`,`, space, and
  `=` in keys and tag values): escaped, it becomes an even run that the parser's line splitter
  reads as escaped backslashes, leaving the separator unescaped — it then loses track of
  quotes, and a newline inside a later string field splits the line;
- an empty measurement, key or tag value (InfluxDB rejects an empty tag value; `point()`
  leaves such tags out, which is how InfluxDB represents an absent tag);
- a measurement starting with `#` (the line would be a comment);
- the key `time` (InfluxDB reserves it), NaN and infinities, integers outside int64.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping

FieldValue = bool | int | float | str

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# InfluxDB 1.x refuses string field values longer than this many bytes.
MAX_STRING_BYTES = 64 * 1024


class LineProtocolError(ValueError):
    """A value cannot be written as line protocol; the message names it and why."""


_ODD_BACKSLASHES_BEFORE_KEY_SPECIAL = re.compile(r"(?<!\\)(?:\\\\)*\\[, =]")
_ODD_BACKSLASHES_BEFORE_NAME_SPECIAL = re.compile(r"(?<!\\)(?:\\\\)*\\[, ]")


def _check_name(
    text: str, what: str, odd_run: re.Pattern[str] = _ODD_BACKSLASHES_BEFORE_KEY_SPECIAL
) -> None:
    if not text:
        raise LineProtocolError(f"{what} is empty")
    if "\n" in text or "\r" in text:
        raise LineProtocolError(
            f"{what} {text!r} contains a line break, which line protocol "
            "cannot carry outside string field values"
        )
    if text.endswith("\\"):
        raise LineProtocolError(
            f"{what} {text!r} ends with a backslash, which would escape the separator after it"
        )
    if odd_run.search(text):
        raise LineProtocolError(
            f"{what} {text!r} has a backslash right before a comma, space "
            "or equals sign, which InfluxDB 1.x cannot read back reliably"
        )


def escape_measurement(name: str) -> str:
    _check_name(name, "measurement", _ODD_BACKSLASHES_BEFORE_NAME_SPECIAL)
    if name.startswith("#"):
        raise LineProtocolError(f"measurement {name!r} starts with '#', which makes a comment")
    return name.replace(",", "\\,").replace(" ", "\\ ")


# Tag keys, device ids, schools and field keys repeat on every point: caching their escaped
# form takes most of the formatting cost off a batch.
@functools.lru_cache(maxsize=8192)
def escape_key(key: str, what: str = "key") -> str:
    """Escape a tag key, tag value or field key."""
    _check_name(key, what)
    return key.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def escape_string(value: str) -> str:
    """A string field value, quotes included."""
    if len(value.encode()) > MAX_STRING_BYTES:
        raise LineProtocolError(
            f"string field value of {len(value.encode())} bytes is longer "
            f"than InfluxDB's limit of {MAX_STRING_BYTES}"
        )
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_field(value: FieldValue) -> str:
    # bool first: it is a subclass of int.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise LineProtocolError(f"integer {value} does not fit InfluxDB's int64")
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LineProtocolError(f"float {value} is not finite; InfluxDB stores no NaN or inf")
        # repr is the shortest text that reads back as the same double; it always has a '.' or
        # an exponent, so InfluxDB never takes it for an integer.
        return repr(value)
    if isinstance(value, str):
        return escape_string(value)
    raise LineProtocolError(
        f"field value {value!r} is a {type(value).__name__}, not bool, int, float or str"
    )


def point(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, FieldValue],
    time_ns: int | None = None,
) -> str:
    """One line of line protocol (without the trailing newline).

    Tags are sorted by key, as InfluxDB recommends; tags with an empty value are left out.
    """
    if not fields:
        raise LineProtocolError(f"point in {measurement!r} has no fields; InfluxDB needs one")
    parts = [escape_measurement(measurement)]
    for key in sorted(tags):
        value = tags[key]
        if value == "":
            continue
        _reserved(key, "tag key")
        parts.append(f"{escape_key(key, 'tag key')}={escape_key(value, f'tag {key!r} value')}")
    head = ",".join(parts)
    body = ",".join(
        f"{escape_key(_reserved(k, 'field key'), 'field key')}={format_field(v)}"
        for k, v in fields.items()
    )
    if time_ns is None:
        return f"{head} {body}"
    if not INT64_MIN <= time_ns <= INT64_MAX:
        raise LineProtocolError(f"timestamp {time_ns} ns is outside InfluxDB's int64 range")
    return f"{head} {body} {time_ns}"


def _reserved(key: str, what: str) -> str:
    if key == "time":
        raise LineProtocolError(f"{what} 'time' is reserved by InfluxDB")
    return key
