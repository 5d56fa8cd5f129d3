"""Catalogs per language: the deployment default, Accept-Language, and English where one lacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from prometheus_client import generate_latest
from pydantic import ValidationError

from campusedge.words import Shown
from gateway.i18n import (
    DEFAULT_LANGUAGE,
    N_,
    Catalogs,
    LanguageError,
    Worded,
    checked_language,
    language_of,
    negotiate,
)
from gateway.metrics import GatewayMetrics
from gateway.service import GatewaySettings


def write_catalog(directory: Path, language: str, messages: dict[str, str]) -> None:
    catalog = Catalog(locale=language, domain="campusedge")
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    folder = directory / language / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "campusedge.mo").open("wb") as f:
        write_mo(f, catalog)


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("zh-CN", "zh_CN"),
        ("zh_CN", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh-Hans-CN", "zh_CN"),
        ("ZH-cn", "zh_CN"),
        ("en", "en"),
        ("en-US", "en"),
        ("zh-TW", None),
        ("zh-Hant", None),
        ("fr", None),
        ("", None),
    ],
)
def test_language_tags_as_people_write_them(tag: str, language: str | None) -> None:
    assert language_of(tag) == language


def test_an_unknown_language_setting_is_refused_by_name() -> None:
    with pytest.raises(LanguageError, match=r"'fr'.*zh-CN.*en"):
        checked_language("fr")
    with pytest.raises(ValidationError, match="unknown language 'klingon'"):
        GatewaySettings(language="klingon")


def test_deployment_language_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GatewaySettings().language == DEFAULT_LANGUAGE == "zh_CN"
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en-GB")
    assert GatewaySettings().language == "en"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "en"),
        ("fr-FR, de", "zh_CN"),  # nothing we have: the deployment default
        ("en;q=0.2, zh;q=0.7", "zh_CN"),
        ("en;q=0, zh-TW", "zh_CN"),  # q=0 means "not this"
        ("en;q=abc", "zh_CN"),
        ("", "zh_CN"),
        (None, "zh_CN"),
        ("*", "zh_CN"),
    ],
)
def test_accept_language_picks_the_preferred_catalog(header: str | None, expected: str) -> None:
    assert negotiate(header, "zh_CN") == expected


def test_packaged_catalogs_speak_chinese_by_default_and_english_on_request() -> None:
    missing: list[tuple[str, str]] = []
    catalogs = Catalogs(on_missing=lambda lang, msg: missing.append((lang, msg)))
    assert catalogs.translator().gettext("Suspected fever") == "疑似发热"
    assert catalogs.translator("en").gettext("Suspected fever") == "Suspected fever"
    assert catalogs.translator("zh_CN").ngettext("{count} alert", "{count} alerts", 3) == (
        "{count} 条"
    )
    assert catalogs.translator("en").ngettext("{count} alert", "{count} alerts", 3) == (
        "{count} alerts"
    )
    assert missing == []


def test_a_missing_translation_falls_back_to_english_and_is_counted(tmp_path: Path) -> None:
    write_catalog(tmp_path, "en", {"Low battery": "Low battery", "Device": "Device"})
    write_catalog(tmp_path, "zh_CN", {"Device": "设备"})
    metrics = GatewayMetrics()
    catalogs = Catalogs("zh-CN", metrics.count_missing_translation, directory=tmp_path)
    zh = catalogs.translator()
    assert zh.gettext("Device") == "设备"
    # In English, never a blank or a raw id.
    assert zh.gettext("Low battery") == "Low battery"
    assert zh.gettext("Low battery") == "Low battery"
    # Missing in both: the English message id itself, counted for both languages.
    assert zh.gettext("Not in any catalog") == "Not in any catalog"
    assert catalogs.translator("en").gettext("Device") == "Device"
    exposition = generate_latest(metrics.registry).decode()
    assert 'campusedge_translations_missing_total{language="zh_CN"} 3.0' in exposition
    assert 'campusedge_translations_missing_total{language="en"} 1.0' in exposition


def test_a_catalog_not_compiled_shows_english_and_counts_every_message(tmp_path: Path) -> None:
    counted: list[tuple[str, str]] = []
    catalogs = Catalogs("en", lambda lang, msg: counted.append((lang, msg)), directory=tmp_path)
    assert catalogs.translator().gettext("Device") == "Device"
    assert catalogs.translator("zh_CN").gettext("Device") == "Device"
    assert counted == [("en", "Device"), ("zh_CN", "Device"), ("en", "Device")]


def test_a_shown_error_words_its_catalog_message_and_passes_other_text_as_it_is() -> None:
    chinese = Catalogs().translator("zh_CN")
    ours = Shown(N_("cannot open state database {where}: {reason}"), where="/s.db", reason="busy")
    assert str(ours) == "cannot open state database /s.db: busy"  # what logs read
    assert ours.words(chinese) == "无法打开状态数据库 /s.db：busy"
    fixed = Shown(N_("give --store-url or --store-url-file, not both"), catalog=True)
    assert fixed.words(chinese) == "--store-url 和 --store-url-file 只能给出其一"
    # Text that is not a catalog message (a library's, braces and all) is shown as it is.
    assert Shown("{not: a template}").words(chinese) == "{not: a template}"
    # Another error passed on: in its words when it has them, else its own text.
    worded = Worded(N_("no user {user!r} in {path}"), user="wang", path="/s.db")
    assert Shown(worded).words(chinese) == chinese.gettext("no user {user!r} in {path}").format(
        user="wang", path="/s.db"
    )
    assert Shown(ours).words(chinese) == "无法打开状态数据库 /s.db：busy"
    assert Shown(OSError("disk full")).words(chinese) == "disk full"
