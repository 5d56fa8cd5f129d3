"""README: the two-command quickstart, its sections in order, and links that resolve."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    match = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_quickstart_is_exactly_make_demo_and_make_test() -> None:
    [block] = re.findall(r"^```\n(.*?)^```", section("Quickstart"), re.S | re.M)
    assert block.split("\n")[:-1] == ["make demo", "make test"]


def test_sections_come_in_the_promised_order() -> None:
    titles = re.findall(r"^## (.+)$", README, re.M)
    order = ["Quickstart", "Configuration", "Architecture", "Benchmarks"]
    assert [t for t in titles if t in order] == order


def test_architecture_links_docs_and_every_local_link_resolves() -> None:
    assert "](docs/" in section("Architecture")
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not re.match(r"[a-z]+://", target):
            assert (ROOT / target).exists(), f"README links to missing {target}"


def test_benchmark_table_names_the_ingest_bench() -> None:
    table = [line for line in section("Benchmarks").splitlines() if line.startswith("|")]
    assert table[0].startswith("| benchmark | command |")
    assert any("campusedge bench ingest" in row for row in table[2:])


def test_makefile_targets_create_and_use_the_venv() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "VENV := .venv" in makefile and "-m venv $(VENV)" in makefile
    for target in ("demo", "test"):
        recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M)
        assert recipe and "$(VENV)/bin/" in recipe.group(1), target


def test_the_chinese_readme_has_the_same_quickstart_and_its_links_resolve() -> None:
    chinese = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "](README.zh-CN.md)" in README and "](README.md)" in chinese
    match = re.search(r"^## 快速开始\n(.*?)(?=^## )", chinese, re.S | re.M)
    assert match, "README.zh-CN.md has no '## 快速开始' section"
    [block] = re.findall(r"^```\n(.*?)^```", match.group(1), re.S | re.M)
    assert block.split("\n")[:-1] == ["make demo", "make test"]
    for target in re.findall(r"\]\(([^)#]+)\)", chinese):
        if not re.match(r"[a-z]+://", target):
            assert (ROOT / target).exists(), f"README.zh-CN.md links to missing {target}"
