"""Roster CSV bytes of any kind: decoded as UTF-8 or GB18030, or refused with a RosterError."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gateway.roster import MixedEncoding, Roster, RosterError, decode_csv
from gateway.state import StateDB


@given(st.text())
def test_utf8_text_comes_back_as_it_was(text: str) -> None:
    assert decode_csv(text.encode("utf-8")) == (text, "utf-8")
    assert decode_csv(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8")


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@given(st.text(alphabet=st.characters(codec="gbk")))
def test_gbk_text_is_read_back(text: str) -> None:
    data = text.encode("gbk")
    # A few GBK byte pairs are valid UTF-8 too ('也' is b"\xd2\xb2", UTF-8 for 'Ҳ'); such a
    # file reads as UTF-8, which is why the reply names the encoding used.
    assume(not _valid_utf8(data))
    assert decode_csv(data) == (text, "gb18030")


@pytest.fixture(scope="module")
def roster(tmp_path_factory: pytest.TempPathFactory) -> Roster:
    roster = Roster(StateDB(tmp_path_factory.mktemp("roster") / "state.db"))
    roster.add_class("5a", "sch", "Class 5A", "5")
    roster.add_student("s1", "One", "M", date(2015, 1, 1), "5a")
    return roster


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_any_bytes_import_or_fail_with_a_roster_error(roster: Roster, data: bytes) -> None:
    header = b"student_id,name,sex,birth_date,class_id\n"
    for body in (data, header + data):
        try:
            text, _ = decode_csv(body)
            roster.import_csv(text)
        except RosterError as exc:
            assert str(exc)


def test_refusal_names_the_offset() -> None:
    with pytest.raises(RosterError, match=r"offset 3.*CSV UTF-8"):
        decode_csv(b"abc\xff")


def test_a_file_of_gbk_and_utf8_lines_is_refused_naming_both() -> None:
    # Rows pasted from a UTF-8 file into a GBK one: read as either, some would be mojibake.
    # (A GBK file is never taken for one: all its lines are GB18030; see the test above.)
    gbk = "学号,姓名\ns1,王小明\n".encode("gbk")
    with pytest.raises(MixedEncoding, match="line 3 is UTF-8 but line 1 is not"):
        decode_csv(gbk + "s2,张三丰\n".encode())
