"""The message catalogs are complete: every id in the code translated in zh_CN and en, no
id the code no longer uses, the same placeholders in a translation as in its id, and the
compiled catalogs the gateway reads up to date with the .po files; the dashboard's JSON
catalogs likewise (the same keys, none blank, the same placeholders, every key its pages use)."""

from __future__ import annotations

import json
import re
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
SOURCES = ("gateway", "campusedge", "edge", "simulators")
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


# The dashboard's catalogs: JSON, one per language, read by the page (gateway/dashboard/static).
DASHBOARD = ROOT / "gateway" / "dashboard" / "static"
DASHBOARD_LANGUAGES = ("zh-CN", "en")
# A key as the page's code names it: t("key", …), N_("key") in a table, data-i18n="key".
KEY_USES = (
    re.compile(r"""\b(?:t|N_)\(\s*["']([\w.-]+)["']"""),
    # t(condition ? "key" : "other key", …)
    re.compile(r"""\bt\(\s*[^,()"'?]+\?\s*["']([\w.-]+)["']\s*:\s*["']([\w.-]+)["']"""),
    re.compile(r"""data-i18n(?:-label)?=["']([\w.-]+)["']"""),
)


def dashboard_catalog(language: str) -> dict[str, str]:
    with (DASHBOARD / "i18n" / f"{language}.json").open(encoding="utf-8") as f:
        data = json.load(f)
    assert isinstance(data, dict)
    return data


def dashboard_keys_used() -> set[str]:
    keys: set[str] = set()
    for path in (*DASHBOARD.glob("*.js"), *DASHBOARD.glob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in KEY_USES:
            for match in pattern.finditer(text):
                keys.update(g for g in match.groups() if g)
    return keys


def test_dashboard_catalogs_have_the_same_keys_and_no_blank() -> None:
    catalogs = {language: dashboard_catalog(language) for language in DASHBOARD_LANGUAGES}
    english = catalogs["en"]
    for language, words in catalogs.items():
        assert words.keys() == english.keys(), (
            f"{language}.json differs from en.json: {set(words) ^ set(english)}"
        )
        for key, text in words.items():
            assert isinstance(text, str) and text.strip(), f"{language}.json: {key} is blank"
            assert fields(text) == fields(english[key]), f"{language}.json: {key} -> {text!r}"


def test_every_key_the_dashboard_uses_is_in_its_catalogs_and_no_other() -> None:
    used = dashboard_keys_used()
    assert len(used) > 100, "the key scan found too little: did the lookup calls change?"
    keys = set(dashboard_catalog("en"))
    assert not used - keys, f"used by the dashboard, missing from its catalogs: {used - keys}"
    assert not keys - used, f"in the catalogs, used nowhere in the dashboard: {keys - used}"


def test_the_chinese_dashboard_is_in_chinese() -> None:
    """A value copied from en.json and left untranslated is caught here; a few words are the
    same in both (units, MQTT, the format of a line)."""
    same = {
        key
        for key, text in dashboard_catalog("zh-CN").items()
        if text == dashboard_catalog("en")[key]
    }
    assert same <= {"lessons.option", "unit.kg_m2", "health.mqtt"}, same
