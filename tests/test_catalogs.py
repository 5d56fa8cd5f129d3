"""The message catalogs are complete: every id in the code translated in zh_CN and en, no
id the code no longer uses, the same placeholders in a translation as in its id, and the
compiled catalogs the gateway reads up to date with the .po files."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages import frontend
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from gateway.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, Catalogs

ROOT = Path(__file__).resolve().parent.parent
# The folders `make messages` extracts from.
SOURCES = ("gateway", "campusedge")
MessageId = str | tuple[str, ...]


def extracted() -> set[MessageId]:
    """A fresh extraction with the project's babel.cfg, as `make messages` runs it."""
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse(f)
    ids: set[MessageId] = set()
    for folder in SOURCES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map, options_map
        ):
            ids.add(message if isinstance(message, str) else tuple(message))
    return ids


def catalog(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        return read_po(f, locale=language)


def fields(text: str) -> set[str]:
    """The names of a message's {placeholders}; a malformed one fails the test."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def code_ids() -> set[MessageId]:
    ids = extracted()
    assert ids, "no messages extracted: is babel.cfg right?"
    return ids


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_code_is_translated_and_no_other(
    language: str, code_ids: set[MessageId]
) -> None:
    cat = catalog(language)
    ids = {m.id if isinstance(m.id, str) else tuple(m.id) for m in cat if m.id}
    assert not code_ids - ids, f"not in {language}.po (run `make messages`): {code_ids - ids}"
    assert not ids - code_ids, f"no longer in the code (run `make messages`): {ids - code_ids}"
    assert not cat.obsolete, f"obsolete entries in {language}.po: {list(cat.obsolete)}"
    for m in cat:
        if not m.id:
            continue
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        assert strings and all(strings), f"{language}: {m.id!r} is not translated"
        assert not m.fuzzy, f"{language}: {m.id!r} is marked fuzzy (a guess to check)"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_of_their_id(language: str) -> None:
    for m in catalog(language):
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        wanted = set().union(*(fields(i) for i in ids))
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        for text in strings:
            # A language with one plural form uses the plural's placeholders in it.
            assert fields(text) == wanted, f"{language}: {m.id!r} -> {text!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogs_match_the_po_files(language: str) -> None:
    missing: list[str] = []
    translator = Catalogs(language, lambda _lang, msg: missing.append(msg)).translator()
    for m in catalog(language):
        if not m.id:
            continue
        if isinstance(m.id, str):
            shown = translator.gettext(m.id)
            expected = m.string
        else:
            shown = translator.ngettext(m.id[0], m.id[1], 2)
            expected = m.string[-1]
        assert shown == expected, f"{language}: stale .mo (run `make messages`): {m.id!r}"
    assert missing == []
